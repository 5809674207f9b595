"""What "online" means, on every path: a stopped agent, a dashboard restart, an old answer.

Issue 23 items 1 and 2, issue 17 items 2 and 3. The simulator's controls play what real
dashboards were recorded doing (``real-answers/README.md``), on its own clock; Home Assistant's
clock is the freezer's. Frames are the simulator's own, handed to the server coordinator as the
live task hands them (``async_set_live``, ``async_apply_frame``), so no stream task runs and
every step is deterministic.
"""

from __future__ import annotations

from collections.abc import Generator
import json
import math
from pathlib import Path
from typing import Any

import aiohttp
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import (
    EVENT_STATE_CHANGED,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nezha import live
from custom_components.nezha.api import Host, NezhaV0Client, Status, stream
from custom_components.nezha.api.stream import decode_frame
from custom_components.nezha.api.v1_parse import parse_server
from custom_components.nezha.coordinator import NezhaServerCoordinator
from nezha_simulator import NezhaSimulator
from nezha_simulator.gojson import GoJSON, dumps
from nezha_simulator.render_v1 import stream_server_json

from .conftest import TOKEN, poll, setup_entry
from .test_generations import entry_for
from .test_live import wait_for

ONLINE = "binary_sensor.vps_hk_online"
GPU_ONLINE = "binary_sensor.gpu_box_online"
CPU = "sensor.vps_hk_cpu_usage"
GPU_CPU = "sensor.gpu_box_cpu_usage"
ANY_OFFLINE = "binary_sensor.nezha_test_dashboard_server_offline"
COUNT_ONLINE = "sensor.nezha_test_dashboard_servers_online"
LIST = "/api/v1/server"
JSON_TYPE = "application/json; charset=utf-8"
RECORDED = Path(__file__).parent / "fixtures" / "real_answers"
"""Answers of real dashboards (copied unchanged from the shared ``real-answers``)."""


def recorded(name: str) -> dict[str, Any]:
    """A recorded answer's body."""
    body: dict[str, Any] = json.loads((RECORDED / name).read_text())["body"]
    return body


@pytest.fixture
def changes(hass: HomeAssistant) -> Generator[list[tuple[str, str]]]:
    """Every state change from now on: (entity id, new state)."""
    seen: list[tuple[str, str]] = []

    @callback
    def record(event: Event) -> None:
        seen.append((event.data["entity_id"], event.data["new_state"].state))

    remove = hass.bus.async_listen(EVENT_STATE_CHANGED, record)
    yield seen
    remove()


def servers_of(entry: MockConfigEntry) -> NezhaServerCoordinator:
    """The entry's server coordinator."""
    return entry.runtime_data.servers


async def frame(hass: HomeAssistant, entry: MockConfigEntry, sim: NezhaSimulator) -> None:
    """The admin's stream frame at the simulator's moment, applied as the live task applies it."""
    v2 = sim.generation == "v2"
    items: list[GoJSON] = [
        stream_server_json(sim, server, filtered=False, with_note=False, v2=v2)
        for server in sim.servers.values()
    ]
    payload: GoJSON = {"now": math.floor(sim.now) * 1000, "servers": items}
    servers_of(entry).async_apply_frame(decode_frame(dumps(payload)))
    await hass.async_block_till_done()


def state(hass: HomeAssistant, entity_id: str) -> str:
    """An entity's state now."""
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


def list_reads(sim: NezhaSimulator) -> int:
    """How many server lists the dashboard answered or refused."""
    return sum(1 for request in sim.requests if request.path_qs == LIST)


# The model: what real answers say of an agent


def test_a_stopped_2x_agent_is_told_from_a_never_seen_server() -> None:
    """v2.3.7 zeroes the time of a stopped agent and keeps its host and state: the parser keeps
    that mark (and the last state) instead of reading the zero time as never-seen."""
    web, _, edge = map(parse_server, recorded("v2.3.7/server_after_agent_stopped.json")["data"])
    assert (edge.last_active, edge.disconnected, edge.never_seen) == (None, True, False)
    assert edge.status.uptime == 1567
    assert (web.disconnected, web.never_seen, web.last_active is not None) == (False, False, True)


@pytest.mark.parametrize("generation", ["v2.3.7", "v1.14.14"])
def test_every_server_is_never_seen_in_a_restart_answer(generation: str) -> None:
    """The first answer after a restart: zero time, empty host and state for every server."""
    for item in recorded(f"{generation}/server_during_restart.json")["data"]:
        server = parse_server(item)
        assert server is not None
        assert (server.never_seen, server.host, server.status) == (True, Host(), Status())


async def test_zero_filled_0x_objects_are_no_measurements(
    simulator: NezhaSimulator, http: aiohttp.ClientSession
) -> None:
    """0.x says never-seen with every host and status value zero or empty: unknown, as on
    1.x/2.x, never zeros; a stopped 0.x agent keeps the time of its last report."""
    client = NezhaV0Client(http, simulator.url, TOKEN)
    for name in ("server_during_restart", "server_after_agent_stopped"):
        body = json.dumps(recorded(f"v0.20.13/{name}.json"))
        simulator.fail_next(1, status=200, body=body, content_type=JSON_TYPE)
        servers = (await client.async_get_servers()).servers.values()
        if name == "server_during_restart":
            assert {(s.never_seen, s.host, s.status) for s in servers} == {(True, Host(), Status())}
        else:
            assert not any(s.never_seen or s.disconnected for s in servers)


# Issue 23 item 1: a stopped 2.x agent


async def test_a_stopped_2x_agent_is_offline_and_counted_on_every_path(
    hass: HomeAssistant, fleet: NezhaSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """2.x zeroes last_active when an agent's process stops (host and state kept): offline and
    counted in the fleet's problem sensor by frames, list polls and ``update_entity``; back on
    when it reports again."""
    assert await async_setup_component(hass, "homeassistant", {})
    entry = entry_for(fleet, "v2")
    await setup_entry(hass, entry)
    assert (state(hass, ONLINE), state(hass, ANY_OFFLINE)) == (STATE_ON, STATE_OFF)

    # Frames.
    fleet.stop_agent(2)
    fleet.advance(2)
    await frame(hass, entry, fleet)
    assert (state(hass, ONLINE), state(hass, ANY_OFFLINE)) == (STATE_OFF, STATE_ON)
    assert state(hass, COUNT_ONLINE) == "1"
    assert state(hass, CPU) == STATE_UNAVAILABLE
    fleet.bring_online(2)
    fleet.advance(2)
    await frame(hass, entry, fleet)
    assert (state(hass, ONLINE), state(hass, ANY_OFFLINE)) == (STATE_ON, STATE_OFF)

    # A manual update (a list read).
    fleet.stop_agent(2)
    fleet.advance(2)
    await hass.services.async_call(
        "homeassistant", "update_entity", {"entity_id": ANY_OFFLINE}, blocking=True
    )
    assert (state(hass, ONLINE), state(hass, ANY_OFFLINE)) == (STATE_OFF, STATE_ON)

    # The list poll.
    fleet.bring_online(2)
    fleet.advance(30)
    await poll(hass, freezer)
    assert (state(hass, ONLINE), state(hass, ANY_OFFLINE)) == (STATE_ON, STATE_OFF)
    fleet.stop_agent(2)
    fleet.advance(30)
    await poll(hass, freezer)
    assert (state(hass, ONLINE), state(hass, ANY_OFFLINE)) == (STATE_OFF, STATE_ON)


# Issue 17 item 2: a failed list read after a restart is retried while frames flow


async def test_frames_bring_entities_back_while_the_failed_list_is_retried(
    hass: HomeAssistant, fleet: NezhaSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """The stream drops when the dashboard restarts, the list read then fails, and the stream is
    back first: its frames make the entities available at once (no five minutes), and the list
    is read again every scan_interval until it answers; only then every five minutes."""
    entry = entry_for(fleet, "v2")
    await setup_entry(hass, entry)
    coordinator = servers_of(entry)
    coordinator.async_set_live(True)
    await frame(hass, entry, fleet)
    assert coordinator.update_interval is not None
    assert coordinator.update_interval.total_seconds() == 300

    fleet.restart_as_recorded()
    fleet.advance(5.5)  # the graceful stop is over: the stream drops, nothing listens
    coordinator.async_set_live(False)
    await coordinator.async_refresh()
    assert state(hass, ONLINE) == STATE_ON  # held: a frame showed it moments ago
    freezer.tick(31)  # the dashboard stays away past the online threshold
    await coordinator.async_refresh()
    assert state(hass, ONLINE) == STATE_UNAVAILABLE
    fleet.advance(2)  # listening again: the stream is accepted at once, the list not yet read
    coordinator.async_set_live(True)
    await frame(hass, entry, fleet)

    # Every server is never-seen in this frame: the window holds what was shown before it.
    assert (state(hass, ONLINE), state(hass, ANY_OFFLINE)) == (STATE_ON, STATE_OFF)
    assert coordinator.update_interval.total_seconds() == 30
    reads = list_reads(fleet)
    fleet.advance(30)
    await poll(hass, freezer, 30)
    assert list_reads(fleet) == reads + 1
    assert coordinator.last_update_success
    assert coordinator.update_interval.total_seconds() == 300


# Issue 23 item 2: the restart window


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_a_restart_window_writes_nothing_false_and_agents_are_back_at_once(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    freezer: FrozenDateTimeFactory,
    changes: list[tuple[str, str]],
) -> None:
    """Live, through a restart as recorded (graceful stop, refused, every server never-seen,
    agents back one by one): no online sensor turns off, the problem sensor stays as it was, no
    metric shows another value than its last; each agent is on with current metrics by the
    first frame that carries its report. An agent stopped before the restart stays offline and
    counted."""
    edge = fleet.add_server("edge-1", boot_time=int(fleet.now) - 86400).id
    entry = entry_for(fleet, "v2")
    await setup_entry(hass, entry)
    coordinator = servers_of(entry)
    coordinator.async_set_live(True)
    fleet.stop_agent(edge)
    fleet.advance(2)
    await frame(hass, entry, fleet)
    assert (state(hass, "binary_sensor.edge_1_online"), state(hass, ANY_OFFLINE)) == (
        STATE_OFF,
        STATE_ON,
    )
    changes.clear()

    restart = fleet.restart_as_recorded()
    while fleet.now < restart.stop_at:  # frames go on during the graceful stop
        fleet.advance(2)
        freezer.tick(2)
        if fleet.now < restart.stop_at:
            await frame(hass, entry, fleet)
    coordinator.async_set_live(False)  # the stream dropped: one list read, refused
    await coordinator.async_refresh()
    fleet.advance(restart.listen_at - fleet.now)
    coordinator.async_set_live(True)
    fleet.set_status(2, cpu=66.0, report=False)  # what vps-hk reports when it is back
    back = restart.back_at[2] + restart.host_lead
    while fleet.now < back:
        await frame(hass, entry, fleet)
        fleet.advance(2)
        freezer.tick(2)
    # Nothing at all is written: the 2 s when the dashboard itself did not answer are held
    # (a frame showed every server moments before), and so is the never-seen window.
    assert changes == []

    await frame(hass, entry, fleet)  # the first frame with vps-hk's report
    assert (state(hass, ONLINE), state(hass, CPU)) == (STATE_ON, "66.0")
    assert state(hass, GPU_ONLINE) == STATE_ON
    assert (state(hass, "binary_sensor.edge_1_online"), state(hass, ANY_OFFLINE)) == (
        STATE_OFF,
        STATE_ON,
    )


@pytest.mark.parametrize("generation", ["v0", "v1", "v2"])
async def test_a_lone_server_whose_agent_is_gone_across_a_restart_turns_offline_in_time(
    hass: HomeAssistant,
    simulator: NezhaSimulator,
    freezer: FrozenDateTimeFactory,
    generation: str,
) -> None:
    """Polled: a one-server dashboard whose agent does not come back after a restart keeps its
    state until online_threshold has passed since the first never-seen answer; then it is
    offline and counted."""
    simulator.freeze_clock(1_764_158_400.0)
    simulator.add_server("vps-hk")
    entry = entry_for(simulator, generation, scan_interval=10)
    await setup_entry(hass, entry)
    assert (state(hass, ONLINE), state(hass, ANY_OFFLINE)) == (STATE_ON, STATE_OFF)

    simulator.restart_dashboard(agents_back={1: math.inf})
    for _ in range(3):  # never-seen at +0 s, +10 s, +20 s by the dashboard's clock
        await poll(hass, freezer, 10)
        assert (state(hass, ONLINE), state(hass, ANY_OFFLINE)) == (STATE_ON, STATE_OFF)
        simulator.advance(10)
    await poll(hass, freezer, 10)  # +30 s: the agent is gone
    assert (state(hass, ONLINE), state(hass, ANY_OFFLINE)) == (STATE_OFF, STATE_ON)
    assert state(hass, COUNT_ONLINE) == "0"

    simulator.bring_online(1)
    await poll(hass, freezer, 10)
    assert (state(hass, ONLINE), state(hass, ANY_OFFLINE)) == (STATE_ON, STATE_OFF)


async def test_what_reported_survives_a_home_assistant_restart(
    hass: HomeAssistant, fleet: NezhaSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """Home Assistant starting while the dashboard restarts: a server whose device shows a host
    report is not "off" but unknown (nothing held from before), not counted, until
    online_threshold has passed; a server never seen at all is off as always."""
    entry = entry_for(fleet, "v2")
    await setup_entry(hass, entry)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()

    fleet.restart_dashboard(agents_back={1: 20.0, 2: math.inf})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert state(hass, ONLINE) == STATE_UNKNOWN
    assert state(hass, GPU_ONLINE) == STATE_UNKNOWN
    assert state(hass, "binary_sensor.new_node_online") == STATE_OFF
    assert state(hass, ANY_OFFLINE) == STATE_OFF
    fleet.advance(10)
    await poll(hass, freezer)  # still inside the window: still unknown
    assert (state(hass, ONLINE), state(hass, ANY_OFFLINE)) == (STATE_UNKNOWN, STATE_OFF)

    fleet.advance(20)
    await poll(hass, freezer)
    assert (state(hass, GPU_ONLINE), state(hass, ONLINE)) == (STATE_ON, STATE_OFF)
    assert state(hass, ANY_OFFLINE) == STATE_ON


# Issue 17 item 3: nothing older than what is shown overwrites it


async def test_a_list_answered_before_a_frame_changes_nothing_it_shows(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    freezer: FrozenDateTimeFactory,
    http: aiohttp.ClientSession,
    changes: list[tuple[str, str]],
) -> None:
    """While live, a list read that the dashboard answered before the last frame but that is
    applied after it (a slow 1.5 MB answer, ``update_entity``) does not turn a server that the
    frame showed offline on again, nor put back an older metric value."""
    assert await async_setup_component(hass, "homeassistant", {})
    entry = entry_for(fleet, "v2")
    await setup_entry(hass, entry)
    servers_of(entry).async_set_live(True)
    start = fleet.now
    fleet.take_offline(2)  # hung: its last report stays at this moment
    fleet.set_status(1, cpu=50.0)
    fleet.set_host(2, ipv4="203.0.113.9")  # frames carry no IPs: the list brings them
    fleet.advance(20)
    async with http.get(
        fleet.url + LIST, headers={"Authorization": f"Bearer {entry.data['api_token']}"}
    ) as response:
        old_answer = await response.text()  # vps-hk online (20 s), gpu-box at 50 %

    fleet.set_status(1, cpu=60.0)
    fleet.advance(20)
    freezer.tick(31)  # past the metrics' write window
    await frame(hass, entry, fleet)
    assert (state(hass, ONLINE), state(hass, ANY_OFFLINE)) == (STATE_OFF, STATE_ON)
    assert state(hass, GPU_CPU) == "60.0"
    changes.clear()

    fleet.now = start + 20  # the old answer, with the Date it had
    fleet.fail_next(1, status=200, body=old_answer, content_type=JSON_TYPE, path=LIST)
    await hass.services.async_call(
        "homeassistant", "update_entity", {"entity_id": ONLINE}, blocking=True
    )
    assert fleet.pending_faults == 0
    assert changes == []
    assert servers_of(entry).data.servers[2].ipv4 == "203.0.113.9"
    assert (state(hass, ONLINE), state(hass, GPU_CPU)) == (STATE_OFF, "60.0")

    fleet.now = start + 42
    await frame(hass, entry, fleet)
    assert changes == []


async def test_a_restart_through_the_real_stream(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    changes: list[tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """End to end through the live task: the simulator's stream drops as a restarting 2.x
    dashboard's does, connections are refused, the stream is accepted again with every server
    never-seen, then the agents come back. No online sensor turns off and nothing is counted;
    nothing turns unavailable (the list read failing while nothing listens is held: a frame
    showed every server moments before), vps-hk is current as soon as it reports.

    The stream runs on the wall clock (frames every 50 ms): this one waits for states instead
    of stepping a freezer."""
    monkeypatch.setattr(stream, "STALL_TIMEOUT", 0.5)
    monkeypatch.setattr(live, "RECONNECT_MIN", 0.05)
    fleet.frame_interval = 0.05
    entry = entry_for(fleet, "v2", live_updates=True)
    await setup_entry(hass, entry)
    updates = entry.runtime_data.live
    assert updates is not None
    await wait_for(lambda: updates.state.connected_since is not None)
    before = state(hass, CPU)
    changes.clear()

    restart = fleet.restart_as_recorded()
    reconnects = updates.state.reconnects
    fleet.advance(restart.stop_at - fleet.now)  # the stream drops; nothing listens
    await wait_for(lambda: updates.state.reconnects > reconnects)  # after the list read failed
    assert state(hass, ONLINE) == STATE_ON  # held: a frame showed it moments ago
    fleet.set_status(2, cpu=66.0, report=False)
    fleet.advance(restart.listen_at - fleet.now)  # accepted again: every server never-seen
    await wait_for(lambda: state(hass, ONLINE) == STATE_ON)
    assert (state(hass, GPU_ONLINE), state(hass, ANY_OFFLINE)) == (STATE_ON, STATE_OFF)
    assert state(hass, CPU) == before  # the last known value

    fleet.advance(restart.back_at[2] + restart.host_lead - fleet.now)
    await wait_for(lambda: state(hass, CPU) == "66.0")
    assert (ONLINE, STATE_OFF) not in changes
    assert (GPU_ONLINE, STATE_OFF) not in changes
    assert (ANY_OFFLINE, STATE_ON) not in changes
    assert not [change for change in changes if change[1] == STATE_UNAVAILABLE]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_frames_change_nothing_once_the_credential_is_refused(
    hass: HomeAssistant, fleet: NezhaSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """A refused credential (reauth under way) is no outage that frames may end: the entities
    stay unavailable until the user acts."""
    entry = entry_for(fleet, "v2")
    await setup_entry(hass, entry)
    fleet.revoke_pat(entry.data["api_token"])
    await poll(hass, freezer)
    assert state(hass, ONLINE) == STATE_UNAVAILABLE
    await frame(hass, entry, fleet)
    assert state(hass, ONLINE) == STATE_UNAVAILABLE
