"""What every generation's client does to each request: bound how many run and how much is read.

A dashboard (or a proxy in front of it) can be slow and can send anything; one entry must neither
flood it with requests (each v0 monitor request is a database query on the dashboard) nor let one
answer fill Home Assistant's memory.
"""

import aiohttp

from .errors import NezhaResponseError

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
