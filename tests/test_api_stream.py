"""The stream client (``api/stream.py``) against a tiny websocket app shaped like the dashboard's.

The app sends what a test asks for, never reads from the socket (so pings and close frames go
unanswered, as with Nezha's handler), and can refuse the upgrade with a plain HTTP reply.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
import contextlib
import json
import sys
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import given
import pytest
from yarl import URL

from custom_components.nezha.api import (
    NezhaStreamError,
    NezhaStreamHandshakeError,
    NezhaV1Client,
    ServersSnapshot,
    StreamFrame,
    parsing as parsing_module,
    stream as stream_module,
)

from .fake_dashboard import PAT, SERVER
from .test_api_v1_properties import PROPERTY_SETTINGS, check_servers, mutated

pytestmark = pytest.mark.usefixtures("socket_enabled")

NOW_MS = 1_786_938_001_000
FRAME_SERVER = {
    key: value for key, value in SERVER.items() if key not in {"geoip", "owner", "uuid", "note"}
} | {"country_code": "hk", "public_note": "note"}


class StreamApp:
    """Answers ``/api/v1/ws/server`` with ``send(response)`` or refuses it with ``refuse``."""

    def __init__(self) -> None:
        """Frames of one server until told otherwise."""
        self.refuse: int | None = None
        self.send: Callable[[web.WebSocketResponse], Any] = self.frames_forever
        self.headers: list[str | None] = []
        self.interval = 0.01

    async def frames_forever(self, response: web.WebSocketResponse) -> None:
        frame = json.dumps({"now": NOW_MS, "online": 1, "servers": [FRAME_SERVER]})
        while True:
            await response.send_str(frame)
            await asyncio.sleep(self.interval)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.headers.append(request.headers.get("Authorization"))
        if self.refuse is not None:
            return web.json_response({"error": "refused"}, status=self.refuse)
        response = web.WebSocketResponse(autoping=False)
        await response.prepare(request)
        with contextlib.suppress(ConnectionError, RuntimeError):  # the client went away
            await self.send(response)
        return response


@pytest.fixture
async def app() -> AsyncGenerator[tuple[StreamApp, str]]:
    handler = StreamApp()
    web_app = web.Application()
    web_app.router.add_get("/api/v1/ws/server", handler.handle)
    server = TestServer(web_app, host="127.0.0.1")
    await server.start_server()
    try:
        yield handler, str(server.make_url("/")).rstrip("/")
    finally:
        await server.close()


@pytest.fixture
async def http() -> AsyncGenerator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def client(http: aiohttp.ClientSession, url: str) -> NezhaV1Client:
    return NezhaV1Client(http, url, PAT, api_version="v2")


async def test_frames_parsed_with_the_access_token(
    app: tuple[StreamApp, str], http: aiohttp.ClientSession
) -> None:
    """Frames become the version-neutral models; the PAT goes in the Authorization header."""
    handler, url = app
    stream = await client(http, url).async_open_stream()
    frames = stream.frames()
    frame = await anext(frames)
    await frames.aclose()
    await stream.close()
    assert handler.headers == [f"Bearer {PAT}"]
    assert isinstance(frame, StreamFrame)
    assert frame.dashboard_time is not None
    assert int(frame.dashboard_time.timestamp() * 1000) == NOW_MS
    (server,) = frame.servers.values()
    assert server.id == 3
    assert server.host.country_code == "hk"  # top-level in frames, under geoip in /server
    assert (server.ipv4, server.ipv6) == (None, None)
    assert stream.frames_received == 1


async def test_a_repeated_frame_is_the_same_object(
    app: tuple[StreamApp, str], http: aiohttp.ClientSession
) -> None:
    """Consecutive frames often repeat (agents report every ~3 s): nothing is decoded again."""
    _, url = app
    stream = await client(http, url).async_open_stream()
    frames = stream.frames()
    first, second = await anext(frames), await anext(frames)
    await frames.aclose()
    await stream.close()
    assert second is first
    assert stream.frames_received == 2


async def test_close_within_a_second_while_frames_keep_coming(
    app: tuple[StreamApp, str], http: aiohttp.ClientSession
) -> None:
    """The dashboard never answers a close frame and keeps sending: close gives up after 1 s."""
    handler, url = app
    handler.interval = 0.001
    stream = await client(http, url).async_open_stream()
    frames = stream.frames()
    await anext(frames)
    await frames.aclose()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await stream.close()
    assert loop.time() - started < stream_module.CLOSE_TIMEOUT + 0.5


async def test_large_frames_pass(app: tuple[StreamApp, str], http: aiohttp.ClientSession) -> None:
    """A frame of several thousand servers (aiohttp's 4 MiB default would drop the link)."""
    handler, url = app
    servers = [FRAME_SERVER | {"id": server_id} for server_id in range(1, 6001)]
    payload = json.dumps({"now": NOW_MS, "servers": servers})
    assert len(payload) > 4 * 1024 * 1024

    async def send_big(response: web.WebSocketResponse) -> None:
        await response.send_str(payload)
        await asyncio.sleep(10)

    handler.send = send_big
    stream = await client(http, url).async_open_stream()
    frame = await anext(stream.frames())
    await stream.close()
    assert len(frame.servers) == 6000


@pytest.mark.parametrize("status", [401, 403, 400, 502])
async def test_refused_upgrade_carries_its_status(
    app: tuple[StreamApp, str], http: aiohttp.ClientSession, status: int
) -> None:
    """A plain HTTP reply to the upgrade: only its status is known."""
    handler, url = app
    handler.refuse = status
    with pytest.raises(NezhaStreamHandshakeError) as raised:
        await client(http, url).async_open_stream()
    assert raised.value.status == status
    assert PAT not in str(raised.value)


async def send_then_wait(response: web.WebSocketResponse, *messages: str) -> None:
    for message in messages:
        await response.send_str(message)
    await asyncio.sleep(10)


@pytest.mark.parametrize(
    ("messages", "error"),
    [
        ((), "no frame for 0.2 s"),
        (("<html>",), "the dashboard sent a frame that is not JSON"),
        (("[1, 2]",), "the dashboard sent a frame that is not a JSON object"),
    ],
    ids=["stall", "not-json", "not-object"],
)
async def test_a_stream_that_stalls_or_lies_ends(
    app: tuple[StreamApp, str],
    http: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
    messages: tuple[str, ...],
    error: str,
) -> None:
    """No frame for the stall time, or a frame that is not JSON: the stream has ended."""
    monkeypatch.setattr(stream_module, "STALL_TIMEOUT", 0.2)
    handler, url = app
    handler.send = lambda response: send_then_wait(response, *messages)
    stream = await client(http, url).async_open_stream()
    with pytest.raises(NezhaStreamError, match=error):
        await anext(stream.frames())
    await stream.close()


async def test_a_closed_stream_ends(
    app: tuple[StreamApp, str], http: aiohttp.ClientSession
) -> None:
    """The dashboard drops the connection (a revoked PAT, a restart)."""
    handler, url = app

    async def close_at_once(response: web.WebSocketResponse) -> None:
        await response.send_str(json.dumps({"now": NOW_MS}))
        await response.close()

    handler.send = close_at_once
    stream = await client(http, url).async_open_stream()
    frames = stream.frames()
    frame = await anext(frames)
    assert frame.servers == {}  # no ``servers`` key: none visible
    with pytest.raises(NezhaStreamError, match="closed the stream"):
        await anext(frames)
    await stream.close()


async def test_unreachable_dashboard(http: aiohttp.ClientSession) -> None:
    """Nothing listens: a stream error, with no credential in it."""
    with pytest.raises(NezhaStreamError) as raised:
        await client(http, "http://127.0.0.1:9").async_open_stream()
    assert PAT not in str(raised.value)


def test_frames_decode_without_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    """The package needs only aiohttp: without orjson the standard library reads frames (and
    every answer: they share ``parsing.decode_json``)."""
    monkeypatch.setitem(sys.modules, "orjson", None)  # makes ``import orjson`` fail
    assert parsing_module._fast_json_loads() is json.loads
    monkeypatch.setattr(parsing_module, "_fast_loads", json.loads)
    frame = stream_module.decode_frame(json.dumps({"now": NOW_MS, "servers": [FRAME_SERVER]}))
    assert list(frame.server_ids) == [3]


def test_what_the_fast_decoder_refuses_is_read_as_elsewhere() -> None:
    """NaN (which Go never writes) is unknown; a number past 64 bits is read, then dropped."""
    frame = stream_module.decode_frame(
        '{"now":NaN,"servers":[{"id":18446744073709551616},{"id":5,"state":{"cpu":NaN}}]}'
    )
    assert frame.dashboard_time is None
    assert list(frame.server_ids) == [5]


def test_stream_url_follows_the_scheme() -> None:
    """ws for http, wss for https, beside the dashboard's path."""
    assert str(stream_module.stream_url(URL("https://nz.example/sub"))) == (
        "wss://nz.example/sub/api/v1/ws/server"
    )
    assert str(stream_module.stream_url(URL("http://10.0.0.2:8008"))) == (
        "ws://10.0.0.2:8008/api/v1/ws/server"
    )


@PROPERTY_SETTINGS
@given(payload=mutated({"now": NOW_MS, "online": 2, "servers": [FRAME_SERVER, FRAME_SERVER]}))
def test_any_frame_parses_to_models(payload: Any) -> None:
    """Whatever a frame holds, parsing gives well-formed servers and a sane clock, never raises."""
    frame = stream_module.decode_frame(
        json.dumps(payload if isinstance(payload, dict) else {"servers": payload})
    )
    check_servers(ServersSnapshot(dict(sorted(frame.servers.items())), frame.dashboard_time))
    for server_id in frame.server_ids:
        assert frame.last_active(server_id) == frame.server(server_id).last_active
    assert frame.dashboard_time is None or frame.dashboard_time.tzinfo is not None
