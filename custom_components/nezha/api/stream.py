"""The live stream of a Nezha 1.x/2.x dashboard: ``/api/v1/ws/server`` (DELTA §3, §5.4).

The dashboard sends a full frame of every visible server every ~2 s and never reads from the
socket. That shapes this module:

* no client pings (``heartbeat=None``): they are never answered, and aiohttp would drop a healthy
  link for the missing pong; a stream is dead when no frame came for ``STALL_TIMEOUT`` seconds;
* a close frame gets no reply, and aiohttp's ``close()`` waits for one with a timeout that starts
  again with every message it reads, so it can wait for ever while frames keep coming: ``close``
  here gives up after ``CLOSE_TIMEOUT`` and drops the connection;
* frames can be large (about 900 bytes a server; aiohttp's 4 MiB default fails near 4,500
  servers): up to ``MAX_BODY_BYTES``, like every REST answer;
* a refused handshake carries only an HTTP status, not the reason: ``NezhaStreamHandshakeError``
  says the status, and the owner asks the REST API (one request) what it means;
* a frame of 1,000 servers (about 1 MB) comes every 2 s, most of it as in the frame before: a
  frame that repeats the last one is the same ``StreamFrame`` object, and a frame parses a server
  only when asked (``server``); its last report (``last_active``) is all most frames need.
"""

import asyncio
from collections.abc import AsyncIterator, KeysView, Mapping
from datetime import datetime
import os
from typing import Any, Final

import aiohttp
from yarl import URL

from .errors import NezhaConnectionError
from .models import Server
from .parsing import decode_json, rfc3339, unix_seconds, unsigned
from .transport import MAX_BODY_BYTES
from .v1_parse import parse_server

STREAM_PATH: Final = "api/v1/ws/server"
STALL_TIMEOUT: Final = 10.0
"""Seconds without a frame after which a stream counts as dead (the dashboard sends one every 2)."""
CLOSE_TIMEOUT: Final = 1.0
"""Seconds a close may take before the connection is dropped."""
CONNECT_TIMEOUT: Final = 10.0


class NezhaStreamError(NezhaConnectionError):
    """The stream could not be opened, or it ended (closed, dropped, stalled, sent garbage)."""


class NezhaStreamHandshakeError(NezhaStreamError):
    """The dashboard answered the upgrade with a plain HTTP reply (its status says little)."""

    def __init__(self, status: int) -> None:
        """Keep the status; the REST API says what a refusal means."""
        super().__init__(f"the dashboard refused the live stream (HTTP {status})")
        self.status = status


def stream_url(base: URL) -> URL:
    """The stream's address beside the dashboard URL ``base`` (``ws`` for http, ``wss`` for https)."""
    scheme = "wss" if base.scheme == "https" else "ws"
    return base.with_scheme(scheme) / STREAM_PATH


class StreamFrame:
    """One frame: every visible server, unparsed until asked for, and the dashboard's clock.

    Frames carry no IP addresses, the country code at a server's top level and its
    ``public_note`` only in a connection's first frame (DELTA §3.1 and §3.2).
    """

    __slots__ = ("_items", "dashboard_time")

    def __init__(self, items: dict[int, Mapping[str, Any]], dashboard_time: datetime | None):
        """``items``: each server's JSON object by id; ``dashboard_time``: the frame's ``now``."""
        self._items = items
        self.dashboard_time = dashboard_time

    @property
    def server_ids(self) -> KeysView[int]:
        """The servers in the frame."""
        return self._items.keys()

    def last_active(self, server_id: int) -> datetime | None:
        """When a server of the frame last reported (``None``: never)."""
        return rfc3339(self._items[server_id].get("last_active"))

    def server(self, server_id: int) -> Server:
        """A server of the frame, parsed (the frame's ids are known to parse)."""
        server = parse_server(self._items[server_id])
        assert server is not None  # an item without a usable id is not kept
        return server

    @property
    def servers(self) -> dict[int, Server]:
        """Every server of the frame, parsed."""
        return {server_id: self.server(server_id) for server_id in self._items}


class NezhaServerStream:
    """One open connection to ``/ws/server``: iterate it for frames, then ``close`` it."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        """Wrap an open websocket (see ``open_server_stream``)."""
        self._socket = socket
        self.frames_received = 0

    async def frames(self) -> AsyncIterator[StreamFrame]:
        """Each frame as it comes; ``NezhaStreamError`` when the stream stalls or ends."""
        socket = self._socket
        last: tuple[str | bytes, StreamFrame] | None = None
        while True:
            try:
                message = await socket.receive(timeout=STALL_TIMEOUT)
            except TimeoutError:
                raise NezhaStreamError(f"no frame for {STALL_TIMEOUT:g} s") from None
            except aiohttp.ClientError as err:
                raise NezhaStreamError(client_error_text(err)) from err
            if message.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                # CLOSE, CLOSING, CLOSED, ERROR: the dashboard closes with a TCP close.
                raise NezhaStreamError(_ended(message))
            if last is not None and message.data == last[0]:
                frame = last[1]  # as before: the same object, so nothing is compared again
            else:
                frame = decode_frame(message.data)
                last = (message.data, frame)
            self.frames_received += 1
            yield frame

    async def close(self) -> None:
        """Close within ``CLOSE_TIMEOUT`` however the frames keep coming (the close is unanswered)."""
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self._socket.close()
        except TimeoutError:
            pass  # aiohttp closed the connection itself when its wait was cancelled


async def open_server_stream(
    session: aiohttp.ClientSession, url: URL, authorization: str
) -> NezhaServerStream:
    """Open the stream at ``url`` with the ``Authorization`` header the REST calls send.

    No message names the address or quotes the request (see ``client_error_text``).
    """
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            socket = await session.ws_connect(
                url,
                headers={"Authorization": authorization},
                heartbeat=None,
                max_msg_size=MAX_BODY_BYTES,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=CLOSE_TIMEOUT),
            )
    except aiohttp.WSServerHandshakeError as err:
        raise NezhaStreamHandshakeError(err.status) from None
    except TimeoutError as err:
        raise NezhaStreamError(f"no answer to the upgrade within {CONNECT_TIMEOUT:g} s") from err
    except aiohttp.ClientError as err:
        raise NezhaStreamError(client_error_text(err)) from None
    return NezhaServerStream(socket)


def client_error_text(err: BaseException) -> str:
    """An aiohttp error in words that name no address, port or secret.

    aiohttp's own text quotes the host and port it tried ("Cannot connect to host …"), and its
    OS error the address; what support needs is the kind and the system's reason.
    """
    os_error = getattr(err, "os_error", None)
    if isinstance(os_error, OSError) and os_error.errno:
        return f"{type(err).__name__}: {os.strerror(os_error.errno)}"
    return type(err).__name__


def decode_frame(data: str | bytes) -> StreamFrame:
    """One frame's text as the models; ``NezhaStreamError`` if it is no JSON object.

    What the fast decoder refuses (``NaN``, integers past 64 bits, deep nesting) is read again as
    every other answer is: ``NaN`` is unknown, the rest an error.
    """
    try:
        payload = decode_json(data)
    except ValueError, RecursionError:
        raise NezhaStreamError("the dashboard sent a frame that is not JSON") from None
    if not isinstance(payload, dict):
        raise NezhaStreamError("the dashboard sent a frame that is not a JSON object")
    items: dict[int, Mapping[str, Any]] = {}
    servers = payload.get("servers")  # left out when no server is visible
    for item in servers if isinstance(servers, list) else ():
        # ``type() is dict`` first: an abstract class's ``isinstance`` is slow, and a frame has
        # every server.
        if (type(item) is dict or isinstance(item, Mapping)) and (
            server_id := unsigned(item, "id")
        ) is not None:
            items[server_id] = item
    now = unsigned(payload, "now")  # epoch milliseconds, with second resolution
    return StreamFrame(items, unix_seconds(now // 1000) if now is not None else None)


def _ended(message: aiohttp.WSMessage) -> str:
    if message.type is aiohttp.WSMsgType.ERROR:
        return f"the stream failed: {type(message.data).__name__}"
    return "the dashboard closed the stream"
