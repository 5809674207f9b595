"""The ``/api/v1/ws/server`` stream (v1.14.14 and v2.3.7 ``cmd/dashboard/controller/ws.go``).

A full frame every ``frame_interval`` seconds of wall time and a ping after every 4th frame.
The handler never reads from the socket (``autoping=False`` and no ``receive``), so, like
gorilla without a reader, client pings go unanswered and a client close frame gets no reply.
The dashboard ends a stream only with a TCP close (no close frame): on a failed write, a
revoked PAT, ``drop_streams``, the end of a restart's graceful stop, or shutdown. A handshake
gorilla refuses is a plain-text reply: 400 for a request that is not a websocket upgrade (also
what every handshake gets through a proxy without the upgrade headers: ``upgrade_stripped``),
403 for a foreign ``Origin``.
"""

import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import urlsplit

from aiohttp import hdrs, web

FRAMES_PER_PING = 4


def same_origin(request: web.Request) -> bool:
    """gorilla's default ``CheckOrigin``: no ``Origin``, or its host equals ``Host`` (ASCII case-fold)."""
    origins = request.headers.getall(hdrs.ORIGIN, [])
    if not origins:
        return True
    try:
        host = urlsplit(origins[0]).netloc.rpartition("@")[2]
    except ValueError:
        return False
    return host.encode().lower() == request.host.encode().lower()


def handshake_refused(status: int) -> web.Response:
    """gorilla's ``returnError``: ``http.Error`` with the status text, plus the version it speaks."""
    return web.Response(
        status=status,
        text=HTTPStatus(status).phrase + "\n",
        headers={hdrs.SEC_WEBSOCKET_VERSION: "13", "X-Content-Type-Options": "nosniff"},
    )


@dataclass(eq=False)
class _Stream:
    """One open connection."""

    response: web.WebSocketResponse
    request: web.Request
    pat_digest: str | None
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    def close(self) -> None:
        """TCP close without a close frame, and wake the handler."""
        if self.request.transport is not None:
            self.request.transport.abort()
        self.closed.set()


class StreamHub:
    """Every open stream of one dashboard, and the knobs tests turn."""

    def __init__(self) -> None:
        """No streams; 2 s between frames as the dashboard does."""
        self.frame_interval = 2.0
        self.stalled = False
        self.upgrade_stripped = False
        """A proxy in front drops the upgrade headers: every handshake arrives as a plain GET."""
        self._streams: set[_Stream] = set()

    @property
    def open(self) -> int:
        """How many streams are open (the frames' ``online``)."""
        return len(self._streams)

    def drop(self, pat_digest: str | None = None) -> None:
        """Close every stream (or those a PAT opened)."""
        for stream in list(self._streams):
            if pat_digest is None or stream.pat_digest == pat_digest:
                stream.close()

    async def serve(
        self,
        request: web.Request,
        frame: Callable[[bool], str],
        pat_digest: str | None,
        gone: Callable[[], bool],
    ) -> web.StreamResponse:
        """Upgrade and send ``frame(first)`` until the stream ends; a plain GET gets gorilla's 400.

        ``gone()`` says the dashboard process serving this stream has stopped (a restart): the
        stream then ends without a close frame before its next frame.
        """
        response = web.WebSocketResponse(autoping=False)
        if self.upgrade_stripped or not response.can_prepare(request).ok:
            return handshake_refused(400)
        if not same_origin(request):
            return handshake_refused(403)
        await response.prepare(request)
        stream = _Stream(response, request, pat_digest)
        self._streams.add(stream)
        sent = 0
        try:
            while not stream.closed.is_set() and not gone():
                if not self.stalled:
                    try:
                        await response.send_str(frame(sent == 0))
                        sent += 1
                        if sent % FRAMES_PER_PING == 0:
                            await response.ping(b"")
                    except ConnectionError, RuntimeError:
                        break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stream.closed.wait(), self.frame_interval)
        finally:
            self._streams.discard(stream)
            stream.close()
        return response
