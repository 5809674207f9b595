"""The simulator's agent and restart controls against what real dashboards did (real-answers README).

A stopped agent: 2.x answers the zero time with host and state kept, 1.x and 0.x keep the time
of the last report; a hung agent keeps its time everywhere. A dashboard restart: answers and
frames go on through the graceful stop, streams drop without a close frame, nothing answers for
a moment, every server is never-seen, then the agents come back one by one, host first; an
agent stopped before stays never-seen. All of it on the simulator's clock.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
import contextlib
from typing import Any

import aiohttp
from aiohttp import WSCloseCode, WSMsgType
from freezegun.api import FrozenDateTimeFactory
import pytest

from nezha_simulator import Generation, NezhaSimulator
from nezha_simulator.render_v1 import format_time

from .sim_client import NOW, call, login, make_sim
from .stream_client import FAST, frame, refused, stream

pytestmark = pytest.mark.usefixtures("socket_enabled")

ZERO = "0001-01-01T00:00:00Z"
V0_ZERO = -62135596800


@pytest.fixture
async def http() -> AsyncGenerator[aiohttp.ClientSession]:
    """A client that keeps no cookies."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session


@pytest.fixture(params=["v0", "v1", "v2"])
async def sim(request: pytest.FixtureRequest) -> AsyncGenerator[NezhaSimulator]:
    """A dashboard of each generation with web-1, db-1 and edge-1, frames every ``FAST`` s."""
    simulator = await make_sim(request.param)
    simulator.frame_interval = FAST
    for name in ("web-1", "db-1", "edge-1"):
        simulator.add_server(name, cpu=12.5)
    yield simulator
    await simulator.stop()


@contextlib.asynccontextmanager
async def one_server(generation: Generation, name: str) -> AsyncIterator[NezhaSimulator]:
    """A started simulator of that generation with one reporting server, frames every ``FAST`` s."""
    simulator = await make_sim(generation)
    simulator.frame_interval = FAST
    simulator.add_server(name)
    try:
        yield simulator
    finally:
        await simulator.stop()


def seen(value: int | str) -> int | str | None:
    """A ``last_active`` as read: ``None`` for the zero time, v0 seconds or 1.x/2.x text."""
    return None if value in (ZERO, V0_ZERO) else value


def at(sim: NezhaSimulator, offset: float) -> int | str:
    """How ``last_active`` reads for a report ``offset`` seconds after ``NOW``."""
    if sim.generation == "v0":
        return int(NOW + offset)
    return format_time(NOW + offset, sim.utc_offset)


async def servers(http: aiohttp.ClientSession, sim: NezhaSimulator) -> dict[str, dict[str, Any]]:
    """Every server by name, each as ``last_active`` (``None`` = zero), ``host``, ``state``."""
    if sim.generation == "v0":
        reply = await call(
            http, sim, "/api/v1/server/details", headers={"Authorization": str(sim.token)}
        )
        items = reply.json()["result"]
        return {
            item["name"]: {
                "last_active": seen(item["last_active"]),
                "host": {k: v for k, v in item["host"].items() if v not in ("", 0, None)},
                "state": {k: v for k, v in item["status"].items() if v not in ("", 0, None)},
            }
            for item in items
        }
    reply = await call(http, sim, "/api/v1/server", bearer=await login(http, sim))
    return {
        item["name"]: {
            "last_active": seen(item["last_active"]),
            "host": item["host"],
            "state": item["state"],
        }
        for item in reply.json()["data"]
    }


async def test_stopped_and_hung_agents(http: aiohttp.ClientSession, sim: NezhaSimulator) -> None:
    """Stopped: 2.x zero time, others the last report; hung: the last report; back: current."""
    sim.advance(10)
    sim.stop_agent(2)
    sim.take_offline(3)
    sim.advance(30)
    shown = await servers(http, sim)
    assert shown["web-1"]["last_active"] == at(sim, 40)
    stopped = None if sim.generation == "v2" else at(sim, 10)
    assert shown["db-1"]["last_active"] == stopped
    assert shown["edge-1"]["last_active"] == at(sim, 10)
    for name in ("db-1", "edge-1"):  # host and state are kept on every generation
        assert shown[name]["host"] == shown["web-1"]["host"]
        assert shown[name]["state"] == shown["web-1"]["state"]
    sim.bring_online(2)
    sim.bring_online(3)
    sim.advance(1)
    shown = await servers(http, sim)
    assert [shown[name]["last_active"] for name in ("db-1", "edge-1")] == [at(sim, 41)] * 2


async def test_restart_as_recorded(http: aiohttp.ClientSession, sim: NezhaSimulator) -> None:
    """Graceful stop, nothing answering, never-seen, agents back one by one; stopped stays away."""
    sim.stop_agent(3)
    healthy = await servers(http, sim)
    restart = sim.restart_as_recorded()
    graceful = 0.0 if sim.generation == "v0" else 5.0
    assert (restart.stop_at, restart.listen_at) == (NOW + graceful, NOW + graceful + 2)
    if graceful:
        sim.advance(4.5)
        assert (await servers(http, sim))["web-1"]["last_active"] == at(sim, 4.5)
    sim.now = restart.stop_at + 1
    with pytest.raises(aiohttp.ClientError):
        await servers(http, sim)

    listen = restart.listen_at - NOW
    blank = {"last_active": None, "host": {}, "state": {}}
    for offset, expected in [
        (0.1, {"web-1": blank, "db-1": blank}),
        (8.5, {"web-1": blank | {"host": healthy["web-1"]["host"]}, "db-1": blank}),
        (
            9.5,
            {
                "web-1": healthy["web-1"] | {"last_active": at(sim, listen + 9.5)},
                "db-1": blank | {"host": healthy["db-1"]["host"]},
            },
        ),
        (10.5, {"db-1": healthy["db-1"] | {"last_active": at(sim, listen + 10.5)}}),
        (60.0, {"edge-1": blank}),
    ]:
        sim.now = restart.listen_at + offset
        shown = await servers(http, sim)
        assert shown["edge-1"] == blank
        assert {name: shown[name] for name in expected} == expected, offset

    sim.bring_online(3)
    sim.advance(1.5)
    assert (await servers(http, sim))["edge-1"]["last_active"] == at(sim, listen + 61.5)


async def test_plain_restart_is_instant(http: aiohttp.ClientSession, sim: NezhaSimulator) -> None:
    """``restart_dashboard()`` without timings: reporting agents are back at once."""
    sim.take_offline(2)
    sim.restart_dashboard()
    shown = await servers(http, sim)
    assert shown["web-1"]["last_active"] == at(sim, 0)
    assert shown["db-1"] == {"last_active": None, "host": {}, "state": {}}


@pytest.mark.parametrize("generation", ["v1", "v2"])
async def test_stream_through_a_restart(
    http: aiohttp.ClientSession, generation: Generation
) -> None:
    """Frames through the graceful stop, a drop without close frame (1006), then never-seen."""
    async with one_server(generation, "web-1") as sim:
        async with stream(http, sim) as ws:
            await frame(ws)
            restart = sim.restart_as_recorded()
            sim.advance(4.9)
            assert (await frame(ws))["servers"][0]["last_active"] != ZERO
            sim.now = restart.stop_at
            while (message := await ws.receive(timeout=1.0)).type is not WSMsgType.CLOSED:
                assert message.type in (WSMsgType.TEXT, WSMsgType.PING)
            assert ws.close_code == WSCloseCode.ABNORMAL_CLOSURE
        with pytest.raises(aiohttp.ClientError):
            async with stream(http, sim):
                pass
        sim.now = restart.listen_at
        async with stream(http, sim) as ws:
            server = (await frame(ws))["servers"][0]
            assert (server["last_active"], server["host"], server["state"]) == (ZERO, {}, {})
            sim.now = restart.listen_at + 9
            server = (await frame(ws))["servers"][0]
            assert server["last_active"] != ZERO
            assert server["state"]


@pytest.mark.parametrize(("generation", "stopped"), [("v1", False), ("v2", True)])
async def test_stream_shows_a_stopped_agent_at_the_next_frame(
    http: aiohttp.ClientSession, generation: Generation, stopped: bool
) -> None:
    """2.x: the next frame has the zero time, host and state kept; 1.x keeps the time."""
    async with one_server(generation, "edge-1") as sim:
        async with stream(http, sim) as ws:
            before = (await frame(ws))["servers"][0]
            sim.stop_agent(1)
            sim.advance(2)
            after = (await frame(ws))["servers"][0]
        assert (after["last_active"] == ZERO) is stopped
        assert after["last_active"] in (ZERO, before["last_active"])
        assert (after["host"], after["state"]) == (before["host"], before["state"])


async def test_restart_follows_the_freezer(
    http: aiohttp.ClientSession, freezer: FrozenDateTimeFactory
) -> None:
    """A simulator on the real clock steps through a restart as the freezer moves time."""
    freezer.move_to("2026-12-06T17:00:00+00:00")
    sim = NezhaSimulator(generation="v2")
    sim.add_server("web-1")
    await sim.start()
    try:
        sim.restart_as_recorded()
        freezer.tick(4)
        assert (await servers(http, sim))["web-1"]["last_active"] is not None
        freezer.tick(2)
        with pytest.raises(aiohttp.ClientError):
            await servers(http, sim)
        freezer.tick(2)
        assert (await servers(http, sim))["web-1"]["last_active"] is None
        freezer.tick(9)
        assert (await servers(http, sim))["web-1"]["last_active"] is not None
    finally:
        await sim.stop()


@pytest.mark.parametrize("generation", ["v1", "v2"])
async def test_proxy_without_upgrade_headers(
    http: aiohttp.ClientSession, generation: Generation
) -> None:
    """Handshakes get 400 ``text/plain`` "Bad Request" (ws_through_proxy_without_upgrade.json)."""
    async with one_server(generation, "web-1") as sim:
        sim.upgrade_stripped = True
        reply = await refused(http, sim)
        assert (reply.status, reply.content_type, reply.body) == (
            400,
            "text/plain; charset=utf-8",
            b"Bad Request\n",
        )
        headers = {key.lower(): value for key, value in reply.headers.items()}
        assert headers["sec-websocket-version"] == "13"
        assert headers["x-content-type-options"] == "nosniff"
        assert len(await servers(http, sim)) == 1  # REST goes through the same proxy
        sim.upgrade_stripped = False
        async with stream(http, sim, headers={}) as ws:
            assert (await frame(ws))["servers"]
