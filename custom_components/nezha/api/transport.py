"""The one request path of every generation's client: bounded, size-limited, errors mapped.

A dashboard (or a proxy in front of it) can be slow and can send anything; one entry must neither
flood it with requests (each v0 monitor request is a database query on the dashboard) nor let one
answer fill Home Assistant's memory. The 0.x and 1.x/2.x clients and detection send their
requests through ``fetch`` and get the status, the body and the dashboard's clock back, or a
``NezhaConnectionError`` (a timeout, no connection, an untrusted certificate, HTTP 5xx); the body
is read by ``read_body``, which refuses one over ``MAX_BODY_BYTES`` before it is read whole. What
an answer means (its envelope, its refusals) and redacting secrets from it are each client's and
``parsing.decode_json_object``'s.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
import re
from typing import Any

import aiohttp
from yarl import URL

from .errors import NezhaCertificateError, NezhaConnectionError, NezhaResponseError
from .parsing import http_date

DEFAULT_TIMEOUT = 10.0
"""Seconds for a whole request, connect to last byte."""

MAX_CONCURRENT_REQUESTS = 10
"""Requests one client (one config entry) has in flight at once, every endpoint counted."""

MAX_BODY_BYTES = 16 * 1024 * 1024
"""The largest answer read: a 1,000-server details poll is about 1.5 MB, a 24 h series 30 kB."""

_CHUNK_BYTES = 256 * 1024


async def read_body(response: aiohttp.ClientResponse, limit: int = MAX_BODY_BYTES) -> bytes:
    """The (decompressed) body, refused as soon as it is known to exceed ``limit`` bytes.

    ``Content-Length`` is checked before anything is read; a body without one (chunked, or
    compressed to a smaller size) is read in chunks and dropped when the running total passes
    the limit, so a hostile answer never sits in memory whole.
    """
    length = response.content_length
    if length is not None and length > limit:
        raise NezhaResponseError(_too_big(response.status, limit))
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(_CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            raise NezhaResponseError(_too_big(response.status, limit))
        chunks.append(chunk)
    return b"".join(chunks)


def _too_big(status: int, limit: int) -> str:
    return f"HTTP {status}: the answer is larger than {limit // (1024 * 1024)} MiB"


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
            status = response.status
            if status >= 500:  # a proxy's error page: nothing in it worth reading
                raise NezhaConnectionError(
                    f"HTTP {status} from the dashboard or a proxy in front of it"
                )
            body = await read_body(response)
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
        raise connection_error(err) from err
    return reply


_QUOTED = re.compile(r"'[^']*'")
"""A quoted name in a TLS reason (``…is not valid for 'host'.``): the host stays out of messages."""


def connection_error(err: aiohttp.ClientError) -> NezhaConnectionError:
    """The error for a request that got no answer; an untrusted certificate has its own.

    The certificate's reason comes from the TLS check (``self-signed certificate``, ``certificate
    has expired``, ``unable to get local issuer certificate``, ``Hostname mismatch, …``).
    """
    if isinstance(err, aiohttp.ClientConnectorCertificateError):
        cause = err.certificate_error
        reason = getattr(cause, "verify_message", None) or getattr(cause, "reason", None)
        return NezhaCertificateError(_QUOTED.sub("this address", str(reason or cause)).rstrip(". "))
    return NezhaConnectionError(f"{type(err).__name__}: {err}")
