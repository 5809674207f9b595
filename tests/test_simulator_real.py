"""The simulator answers as the recorded real dashboards did, route by route (``real_answers.py``).

Each recording of v0.20.13, v1.14.14 and v2.3.7 that a read of the integration meets is asked
again of a simulator world built like the recorded one; status, content type, cookies, every
JSON key path with its types and the ``success``/``code``/``error``/``message`` values must be
the same. Answers that need a state first (an agent stopped, a restart, a proxy) get it through
the simulator's controls. The recorded sequences (an agent stopping, a dashboard restart) are
compared phase by phase in ``test_simulator_real_sequences.py``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import aiohttp
import pytest

from nezha_simulator import Generation, NezhaSimulator

from .real_answers import credentials_for, differences, load, names, recorded_world, replay

pytestmark = pytest.mark.usefixtures("socket_enabled")

GENERATIONS: tuple[Generation, ...] = ("v0", "v1", "v2")
CASES = [
    pytest.param(generation, name, id=f"{generation}-{name}")
    for generation in GENERATIONS
    for name in names(generation)
]


@pytest.fixture
async def http() -> AsyncGenerator[aiohttp.ClientSession]:
    """A client that keeps no cookies, as the recorder's."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session


def prepare(sim: NezhaSimulator, name: str) -> None:
    """Put the simulator in the state the recording was made in."""
    if name == "server_after_agent_stopped":
        sim.advance(-10)
        sim.stop_agent(3)
        sim.advance(10)
    elif name == "server_during_restart":
        restart = sim.restart_as_recorded()
        sim.now = restart.listen_at + 1
    elif name == "ws_through_proxy_without_upgrade":
        sim.upgrade_stripped = True


def test_every_generation_has_recordings() -> None:
    """The fixtures are there: a missing folder must not pass as 'no difference'."""
    assert {
        generation: len(names(generation)) >= 19 for generation in GENERATIONS
    } == dict.fromkeys(GENERATIONS, True)


@pytest.mark.parametrize(("generation", "name"), CASES)
async def test_answer_matches_the_recording(
    http: aiohttp.ClientSession, generation: Generation, name: str
) -> None:
    """No difference from the real dashboard's answer."""
    recorded = load(generation, name)
    sim = recorded_world(generation)
    sim.frame_interval = 0.05
    await sim.start()
    try:
        credentials = await credentials_for(http, sim)
        prepare(sim, name)
        answer = await replay(http, sim, name, recorded, credentials)
    finally:
        await sim.stop()
    assert differences(recorded, answer) == []


def test_differences_sees_each_kind() -> None:
    """The comparison itself fails on a difference in status, type, key, cookie or contract."""
    real = {
        "status": 200,
        "content_type": "application/json; charset=utf-8",
        "set_cookies": ["nz-jwt"],
        "body": {"success": True, "data": [{"id": 1, "last_active": "x", "state": {"cpu": 1.5}}]},
    }
    assert differences(real, real) == []
    other = {
        "status": 403,
        "content_type": "text/plain; charset=utf-8",
        "set_cookies": [],
        "body": {"success": False, "data": [{"id": "1", "state": {"cpu": 2}, "extra": None}]},
    }
    assert differences(real, other) == [
        "status: real 200 / sim 403",
        "content_type: real 'application/json; charset=utf-8' / sim 'text/plain; charset=utf-8'",
        "set_cookies: real ['nz-jwt'] / sim []",
        "only real: $.data[].last_active",
        "only sim: $.data[].extra",
        "types of $.data[].id: real ['number'] / sim ['string']",
        "value of $.success: real {'true'} / sim {'false'}",
    ]
