"""Websocket helpers of the ``/api/v1/ws/server`` tests (test_simulator_stream*.py).

aiohttp's client is set up the way a client of this stream must be: no heartbeat (the
dashboard never answers a ping) and no autoping, so the dashboard's own pings reach the test.
Frames come every ``FAST`` seconds instead of 2 s. The dashboard never answers a close frame
either, so ``ws.close()`` would wait for as long as frames keep coming: ``hang_up`` closes with
a hard timeout instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
import json
from typing import Any

import aiohttp
from aiohttp import WSMsgType
import pytest

from nezha_simulator import Generation, NezhaSimulator

from .sim_client import Reply, call, make_sim, request_headers

WS_PATH = "/api/v1/ws/server"
FAST = 0.05
"""Seconds between frames in these tests (a real dashboard: 2 s)."""
UPGRADE = {
    "Connection": "Upgrade",
    "Upgrade": "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
}
"""A browser's handshake, for requests that must be refused before the upgrade."""


async def fast_sim(generation: Generation) -> NezhaSimulator:
    """A started simulator of that generation sending a frame every ``FAST`` seconds."""
    sim = await make_sim(generation)
    sim.frame_interval = FAST
    return sim


async def hang_up(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Send a close frame and drop the connection when no reply comes (it never does)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(2 * FAST):
            await ws.close()


@contextlib.asynccontextmanager
async def stream(
    http: aiohttp.ClientSession,
    sim: NezhaSimulator,
    query: str = "",
    *,
    bearer: str | None = None,
    headers: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """An open stream; ``bearer`` goes into ``Authorization: Bearer``."""
    sent = request_headers(bearer=bearer, headers=headers, cookies=cookies)
    ws = await http.ws_connect(
        sim.url + WS_PATH + query, headers=sent, heartbeat=None, autoping=False
    )
    try:
        yield ws
    finally:
        await hang_up(ws)


async def refused(
    http: aiohttp.ClientSession, sim: NezhaSimulator, query: str = "", **kw: Any
) -> Reply:
    """The plain HTTP answer to a websocket handshake the dashboard refuses."""
    return await call(http, sim, WS_PATH + query, headers=UPGRADE | kw.pop("headers", {}), **kw)


async def raw_frame(ws: aiohttp.ClientWebSocketResponse) -> str:
    """The next text frame as sent, skipping the dashboard's pings."""
    while True:
        message = await ws.receive(timeout=2.0)
        if message.type is WSMsgType.PING:
            continue
        assert message.type is WSMsgType.TEXT, message
        return str(message.data)


async def frame(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    """The next text frame, decoded."""
    decoded: dict[str, Any] = json.loads(await raw_frame(ws))
    return decoded


async def messages(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[aiohttp.WSMessage]:
    """The next ``count`` messages of any type."""
    return [await ws.receive(timeout=2.0) for _ in range(count)]


async def until(condition: Callable[[], bool]) -> None:
    """Wait (at most 2 s) for something the dashboard does between frames."""
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.01)
    pytest.fail("the dashboard never got there")


def host_view(host: dict[str, Any]) -> str:
    """``full``, or ``filtered`` when ``Host.Filter()`` dropped both fields it drops."""
    kept = [key for key in ("platform_version", "version") if key in host]
    return {2: "full", 0: "filtered"}.get(len(kept), f"half filtered: {kept}")


def views(data: dict[str, Any]) -> list[tuple[int, str]]:
    """``(id, host_view)`` per server of a frame, in frame order."""
    return [(server["id"], host_view(server["host"])) for server in data.get("servers", [])]
