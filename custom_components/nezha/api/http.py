"""One HTTP exchange with a dashboard, shared by the clients: errors mapped, body size bounded.

The 1.x/2.x client and detection send their requests through ``fetch`` and get the status, the
body and the dashboard's clock back, or a ``NezhaConnectionError``; the body is read by
``transport.read_body``, which refuses one over ``MAX_BODY_BYTES`` before it is read whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
from yarl import URL

from .errors import NezhaConnectionError
from .parsing import http_date
from .transport import read_body

DEFAULT_TIMEOUT = 10.0
"""Seconds for a whole request, connect to last byte."""


@dataclass(frozen=True, slots=True)
class Reply:
    """What came back: the status, the whole body, whether it says it is HTML, and the clock."""

    status: int
    body: bytes
    is_html: bool
    dashboard_time: datetime | None
    """The ``Date`` header: freshness is judged by the dashboard's clock, not Home Assistant's."""
    cookies: Mapping[str, str] = field(default_factory=dict)
    """Cookies the answer sets (a 2.x dashboard's CSRF cookie for writes), name to value."""


async def fetch(
    session: aiohttp.ClientSession,
    method: str,
    url: URL,
    *,
    limits: aiohttp.ClientTimeout,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    json: Any = None,
    cookies: Mapping[str, str] | None = None,
) -> Reply:
    """Send one request and read its answer; HTTP 5xx is a connection error (a proxy, a restart)."""
    try:
        async with session.request(
            method, url, headers=headers, params=params, json=json, cookies=cookies, timeout=limits
        ) as response:
            body = await read_body(response)
            status = response.status
            reply = Reply(
                status=status,
                body=body,
                is_html=response.content_type == "text/html",
                dashboard_time=http_date(response.headers.get("Date")),
                cookies={name: morsel.value for name, morsel in response.cookies.items()},
            )
    except TimeoutError as err:
        raise NezhaConnectionError(f"timed out after {limits.total:g} s") from err
    except aiohttp.ClientError as err:
        raise NezhaConnectionError(f"{type(err).__name__}: {err}") from err
    if status >= 500:
        raise NezhaConnectionError(f"HTTP {status} from the dashboard or a proxy in front of it")
    return reply
