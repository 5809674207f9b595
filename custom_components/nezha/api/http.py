"""One HTTP exchange with a dashboard, shared by the clients: errors mapped, body size bounded.

Any generation's client sends its request through ``fetch`` and gets the status, the body and the
dashboard's clock back, or a ``NezhaConnectionError``; a body over ``MAX_BODY_BYTES`` is refused
before it is read whole (a proxy's endless page, or something that is no dashboard at all).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
from yarl import URL

from .errors import NezhaConnectionError, NezhaResponseError
from .parsing import http_date

DEFAULT_TIMEOUT = 10.0
"""Seconds for a whole request, connect to last byte."""

MAX_BODY_BYTES = 16 * 1024 * 1024
"""The largest body read: a 1000-server list is a few MiB, a day of points for one server less."""

_CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Reply:
    """What came back: the status, the whole body, whether it says it is HTML, and the clock."""

    status: int
    body: bytes
    is_html: bool
    dashboard_time: datetime | None
    """The ``Date`` header: freshness is judged by the dashboard's clock, not Home Assistant's."""


async def fetch(
    session: aiohttp.ClientSession,
    method: str,
    url: URL,
    *,
    limits: aiohttp.ClientTimeout,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    json: Any = None,
) -> Reply:
    """Send one request and read its answer; HTTP 5xx is a connection error (a proxy, a restart)."""
    try:
        async with session.request(
            method, url, headers=headers, params=params, json=json, timeout=limits
        ) as response:
            body = await _read_bounded(response)
            status = response.status
            reply = Reply(
                status=status,
                body=body,
                is_html=response.content_type == "text/html",
                dashboard_time=http_date(response.headers.get("Date")),
            )
    except TimeoutError as err:
        raise NezhaConnectionError(f"timed out after {limits.total:g} s") from err
    except aiohttp.ClientError as err:
        raise NezhaConnectionError(f"{type(err).__name__}: {err}") from err
    if status >= 500:
        raise NezhaConnectionError(f"HTTP {status} from the dashboard or a proxy in front of it")
    return reply


async def _read_bounded(response: aiohttp.ClientResponse) -> bytes:
    """The body, refused as soon as it (or its announced length) exceeds ``MAX_BODY_BYTES``."""
    too_big = NezhaResponseError(
        f"HTTP {response.status}: the answer is over {MAX_BODY_BYTES // 2**20} MiB"
    )
    if (response.content_length or 0) > MAX_BODY_BYTES:
        raise too_big
    body = bytearray()
    async for chunk in response.content.iter_chunked(_CHUNK_BYTES):
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise too_big
    return bytes(body)
