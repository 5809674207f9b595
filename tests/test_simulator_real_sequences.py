"""The recorded sequences, produced by the simulator's controls, go through the same phases.

Each recording (second by second on real dashboards) is reduced to its phases: how each server
shows (``seen``, ``zero time``, ``host only``, ``blank``), a failed request or connection, a
stream dropped with 1006, a stream connected (``real_answers.phases``). The simulator world is
built like the recorded one, the recorded events are applied at their recorded times through
the controls (the restart's timings are those of the events), and it is sampled at the
recorder's cadence: once a second for lists, every frame for streams.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
import contextlib
import math
from typing import Any

import aiohttp
import pytest

from nezha_simulator import Generation, NezhaSimulator

from .real_answers import credentials_for, load, phases, recorded_world
from .stream_client import hang_up

pytestmark = pytest.mark.usefixtures("socket_enabled")

STREAM_EVENTS = ("connected", "closed (1006)", "failed")
STARTUP = 0.5
"""Seconds the new process takes to listen after the recorder started it."""

type Action = Callable[[NezhaSimulator], None]


@pytest.fixture
async def http() -> AsyncGenerator[aiohttp.ClientSession]:
    """A client that keeps no cookies, as the recorder's."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session


def event_time(steps: list[dict[str, Any]], name: str) -> float:
    """When the recorded event starting with ``name`` happened."""
    return next(float(step["t"]) for step in steps if str(step.get("event", "")).startswith(name))


def restart(
    steps: list[dict[str, Any]], agents_back: Mapping[int, float], host_lead: float
) -> Action:
    """The recorded restart: graceful until "stopped", listening shortly after "started again"."""
    begin = event_time(steps, "POST")
    stopped, started = event_time(steps, "stopped"), event_time(steps, "started again")

    def act(sim: NezhaSimulator) -> None:
        sim.restart_dashboard(
            graceful=stopped - begin,
            refused=started + STARTUP - stopped,
            agents_back=agents_back,
            host_lead=host_lead,
        )

    return act


class Timeline:
    """The recorded events as actions on the simulator, applied as its clock passes them."""

    def __init__(self, sim: NezhaSimulator, actions: list[tuple[float, Action]]) -> None:
        """Actions by recorded time, from the start of the recording (the clock's now)."""
        self.sim, self.base = sim, sim.now
        self._pending = sorted(actions, key=lambda item: item[0])

    def at(self, t: float) -> None:
        """Move the clock to ``t`` seconds into the recording, applying the events due."""
        while self._pending and self._pending[0][0] <= t:
            when, action = self._pending.pop(0)
            self.sim.now = self.base + when
            action(self.sim)
        self.sim.now = self.base + t


async def list_steps(
    http: aiohttp.ClientSession,
    sim: NezhaSimulator,
    timeline: Timeline,
    span: tuple[float, float],
    path: str,
    headers: dict[str, str],
) -> list[dict[str, Any]]:
    """A read of ``path`` once a second through ``span``, as the recorder made them."""
    steps: list[dict[str, Any]] = []
    for k in range(math.floor(span[1] - span[0]) + 1):
        timeline.at(span[0] + k)
        try:
            async with http.get(sim.url + path, headers=headers) as response:
                steps.append({"status": response.status, "body": await response.json()})
        except aiohttp.ClientError as err:
            steps.append({"event": f"request failed: {type(err).__name__}"})
    return steps


async def stream_steps(
    http: aiohttp.ClientSession,
    sim: NezhaSimulator,
    timeline: Timeline,
    end: float,
    headers: dict[str, str],
) -> list[dict[str, Any]]:
    """A stream watched once a second until ``end``: connected, frames, its end, reconnects."""
    steps: list[dict[str, Any]] = []
    ws: aiohttp.ClientWebSocketResponse | None = None
    url = sim.url + "/api/v1/ws/server"
    try:
        for t in range(math.floor(end) + 1):
            timeline.at(t)
            if ws is None:
                try:
                    ws = await http.ws_connect(url, headers=headers, heartbeat=None)
                except aiohttp.ClientError as err:
                    steps.append({"event": f"connect failed: {type(err).__name__}"})
                    continue
                steps.append({"event": "connected"})
            frame = await frame_at(ws, math.floor(sim.now) * 1000)
            if frame is None:
                steps.append({"event": f"closed ({ws.close_code})"})
                ws = None
            else:
                steps.append({"frame": frame})
    finally:
        if ws is not None:
            await hang_up(ws)
    return steps


async def frame_at(ws: aiohttp.ClientWebSocketResponse, now_ms: int) -> dict[str, Any] | None:
    """The first frame built at ``now_ms``; ``None`` when the stream ends first."""
    while True:
        message = await ws.receive(timeout=2.0)
        if message.type is aiohttp.WSMsgType.TEXT:
            frame: dict[str, Any] = message.json()
            if frame["now"] == now_ms:
                return frame
        elif message.type is not aiohttp.WSMsgType.PING:
            return None


@contextlib.asynccontextmanager
async def started(generation: Generation) -> AsyncIterator[NezhaSimulator]:
    """The recorded world, serving, with frames every 50 ms of wall time."""
    sim = recorded_world(generation)
    sim.frame_interval = 0.05
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


async def test_list_through_a_restart_with_a_stopped_agent(
    http: aiohttp.ClientSession,
) -> None:
    """v2.3.7: edge-1 stopped (zero time), the window, web-1 then db-1 back, edge-1 never."""
    recorded = load("v2", "list_restart_with_stopped_agent")
    async with started("v2") as sim:
        credentials = await credentials_for(http, sim)
        timeline = Timeline(
            sim,
            [
                (event_time(recorded, "one agent"), lambda s: s.stop_agent(3)),
                (event_time(recorded, "POST"), restart(recorded, {1: 8.0, 2: 8.4}, 0.3)),
                (event_time(recorded, "the agent started"), lambda s: s.bring_online(3)),
            ],
        )
        span = (recorded[1]["t"], recorded[-2]["t"])
        headers = {"Authorization": f"Bearer {credentials.pat}"}
        steps = await list_steps(http, sim, timeline, span, "/api/v1/server", headers)
    assert phases(steps, keep=STREAM_EVENTS) == phases(recorded, keep=STREAM_EVENTS)


async def test_v0_list_through_a_restart(http: aiohttp.ClientSession) -> None:
    """v0.20.13: stops at once, the window (zeroed objects), every agent back together."""
    recorded = load("v0", "list_restart_sequence")
    async with started("v0") as sim:
        back = dict.fromkeys(sim.servers, 8.0)
        timeline = Timeline(sim, [(event_time(recorded, "POST"), restart(recorded, back, 0.9))])
        span = (recorded[0]["t"], recorded[-1]["t"])
        headers = {"Authorization": str(sim.token)}
        steps = await list_steps(http, sim, timeline, span, "/api/v1/server/details", headers)
    assert phases(steps, keep=STREAM_EVENTS) == phases(recorded, keep=STREAM_EVENTS)


@pytest.mark.parametrize("generation", ["v1", "v2"])
async def test_stream_through_a_restart(
    http: aiohttp.ClientSession, generation: Generation
) -> None:
    """Frames through the graceful stop, 1006, refused, connected, the window, the agents."""
    recorded = load(generation, "ws_dashboard_restart_sequence")
    async with started(generation) as sim:
        credentials = await credentials_for(http, sim)
        back = dict.fromkeys(sim.servers, 7.5)
        timeline = Timeline(sim, [(event_time(recorded, "POST"), restart(recorded, back, 0.3))])
        bearer = credentials.pat or credentials.jwt
        steps = await stream_steps(
            http, sim, timeline, recorded[-1]["t"], {"Authorization": f"Bearer {bearer}"}
        )
    assert phases(steps, keep=STREAM_EVENTS) == phases(recorded, keep=STREAM_EVENTS)


async def test_stream_when_an_agent_stops(http: aiohttp.ClientSession) -> None:
    """v2.3.7: the frame after the agent stopped shows it with the zero time, host and state kept."""
    recorded = load("v2", "ws_agent_stop_sequence")
    async with started("v2") as sim:
        credentials = await credentials_for(http, sim)
        timeline = Timeline(sim, [(event_time(recorded, "stopped"), lambda s: s.stop_agent(3))])
        headers = {"Authorization": f"Bearer {credentials.pat}"}
        steps = await stream_steps(http, sim, timeline, recorded[-1]["t"], headers)
    assert phases(steps, keep=STREAM_EVENTS) == phases(recorded, keep=STREAM_EVENTS)
    assert len(phases(recorded)) == 2  # seen, then edge-1 with the zero time
