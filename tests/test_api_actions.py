"""The write side of the 1.x/2.x client, without Home Assistant.

Against the simulator: writes share the client's limit of requests in flight, send the CSRF pair
only for 2.x logins, and a token's scopes are probed by writes that change nothing. Against the
fake dashboard with bodies hypothesis draws: the readers the actions build on return well-formed
objects or the package's own errors, and every write raises one of those or succeeds.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from hypothesis import given, strategies as st
import pytest

from custom_components.nezha.api import Login, NezhaV1Client
from custom_components.nezha.api.actions import (
    WRITE_SCOPES,
    CronTask,
    Switchable,
    parse_cron_tasks,
)
from custom_components.nezha.api.transport import MAX_CONCURRENT_REQUESTS
from nezha_simulator import NezhaSimulator

from .actions_client import ACTION_SCOPES, READ_SCOPES, fill
from .fake_dashboard import SIGNED_IN, FakeDashboard
from .sim_client import make_sim
from .test_api_v1_properties import CLIENTS, HELD, PROPERTY_SETTINGS, envelopes, outcome

pytestmark = pytest.mark.usefixtures("socket_enabled")

TASK = {
    "id": 1,
    "name": "hello",
    "task_type": 1,
    "scheduler": "",
    "command": "echo hello",
    "servers": [1],
    "notification_group_id": 0,
    "last_executed_at": "2026-12-07T00:12:16.3+08:00",
    "last_result": True,
    "cover": 0,
}
RULE = {
    "id": 1,
    "name": "quota",
    "enable": True,
    "trigger_mode": 0,
    "rules": [{"type": "transfer_all_cycle", "max": 10737418240, "cycle_interval": 1}],
    "fail_trigger_tasks": [2],
    "recover_trigger_tasks": [],
}
MONITOR = {"id": 1, "name": "tcp-dashboard", "type": 3, "notify": True, "skip_servers": {}}


@pytest.fixture(params=["v1", "v2"])
async def sim(request: pytest.FixtureRequest) -> Any:
    """A filled, started simulator of each generation."""
    simulator = await make_sim(request.param)
    fill(simulator)
    yield simulator
    await simulator.stop()


def login(http: aiohttp.ClientSession, sim: NezhaSimulator) -> NezhaV1Client:
    """The admin's login client of the simulator's generation."""
    return NezhaV1Client(
        http, sim.url, Login("admin", sim.admin.password), api_version=sim.generation
    )


def sent(sim: NezhaSimulator) -> list[str]:
    return [f"{request.method} {request.path_qs}" for request in sim.requests]


async def test_writes_share_the_request_limit(
    http: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    """Reads and writes together never have more than the client's limit in flight."""
    client = login(http, sim)
    await client.async_get_cron_tasks()  # signed in (and the CSRF cookie set) first
    sim.latency = 0.05
    sim.reset_in_flight()
    runs = [client.async_run_cron_task(1) for _ in range(MAX_CONCURRENT_REQUESTS)]
    reads = [client.async_get_cron_tasks() for _ in range(5)]
    await asyncio.gather(*runs, *reads)
    assert sim.requests_in_flight_max == MAX_CONCURRENT_REQUESTS
    assert len(sim.cron_runs) == MAX_CONCURRENT_REQUESTS


async def test_a_login_needs_no_extra_request(
    http: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    """The 2.x login itself sets the CSRF cookie: a first write goes out without another GET."""
    client = login(http, sim)
    await client.async_run_cron_task(1)
    verb = "POST" if sim.generation == "v2" else "GET"
    assert sent(sim) == ["POST /api/v1/login", f"{verb} /api/v1/cron/1/manual"]
    assert len(sim.cron_runs) == 1


async def test_probes_change_nothing(http: aiohttp.ClientSession) -> None:
    """A read-only token lacks every write scope; a full one none; nothing ran or changed."""
    sim = await make_sim("v2")
    try:
        fill(sim)
        read_only = NezhaV1Client(http, sim.url, sim.create_pat(READ_SCOPES), api_version="v2")
        assert await read_only.async_probe_scopes(WRITE_SCOPES) == set(WRITE_SCOPES)
        full = NezhaV1Client(http, sim.url, sim.create_pat(ACTION_SCOPES), api_version="v2")
        assert await full.async_probe_scopes(WRITE_SCOPES) == set()
        assert (sim.cron_runs, sim.force_updates, sim.alert_rules[1].enabled) == ([], [], True)
        assert "GET /api/v1/profile" not in sent(sim)  # a token never needs CSRF
    finally:
        await sim.stop()


def test_zero_time_is_never() -> None:
    """Go's zero time in ``last_executed_at`` is a task that never ran."""
    tasks = parse_cron_tasks([TASK | {"last_executed_at": "0001-01-01T00:00:00Z"}])
    assert tasks[1].last_executed_at is None


@PROPERTY_SETTINGS
@given(
    cron=envelopes([TASK, TASK | {"id": 2, "cover": 2}]),
    rules=envelopes([RULE]),
    monitors=envelopes([MONITOR]),
    kind=st.sampled_from(sorted(CLIENTS)),
)
async def test_readers_from_any_body(
    fake: FakeDashboard,
    http: aiohttp.ClientSession,
    cron: Any,
    rules: Any,
    monitors: Any,
    kind: str,
) -> None:
    """``/cron``, ``/alert-rule``, ``/service/list``: objects with usable ids and names."""
    fake.answers = {"cron": cron, "alert-rule": rules, "service": monitors, "login": SIGNED_IN}
    fake.requests.clear()
    client = CLIENTS[kind](http, fake)
    tasks = await outcome(client.async_get_cron_tasks(), HELD[kind])
    for task_id, task in (tasks or {}).items():
        assert isinstance(task, CronTask)
        assert task.id == task_id
        assert task.name
        assert task.last_executed_at is None or task.last_executed_at.tzinfo is not None
    for read in (client.async_get_alert_rule_switches, client.async_get_monitor_switches):
        items = await outcome(read(), HELD[kind])
        for item_id, item in (items or {}).items():
            assert isinstance(item, Switchable)
            assert (item.id, bool(item.name), type(item.on)) == (item_id, True, bool)


@PROPERTY_SETTINGS
@given(
    rules=envelopes([RULE]),
    write=envelopes(1),
    update=envelopes({"success": [3], "offline": [3], "failure": [3]}),
    kind=st.sampled_from(sorted(CLIENTS)),
)
async def test_writes_from_any_answer(
    fake: FakeDashboard,
    http: aiohttp.ClientSession,
    rules: Any,
    write: Any,
    update: Any,
    kind: str,
) -> None:
    """Whatever the dashboard answers a write, the outcome is success or the package's error,
    and the PATCH sent is the whole rule as read (when it was read)."""
    fake.answers = {
        "alert-rule": rules,
        "cron": write,
        "force-update": update,
        "profile": SIGNED_IN,
        "login": SIGNED_IN,
    }
    fake.requests.clear()
    client = CLIENTS[kind](http, fake)
    await outcome(client.async_set_alert_rule_enabled(1, False), HELD[kind])
    await outcome(client.async_run_cron_task(1), HELD[kind])
    await outcome(client.async_force_agent_update(3), HELD[kind])
    patches = [path for method, path, _ in fake.requests if method == "PATCH"]
    assert patches in ([], ["/api/v1/alert-rule/1"], ["/api/v1/alert-rule/1"] * 2)
