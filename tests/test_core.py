"""The polling core on bad days and at scale: writes, requests in flight, empty answers, logging.

Everything is observed through Home Assistant (state events, states, registries, repair issues,
the log) and at the simulated dashboard (requests and requests in flight); nothing is timed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
import json
import logging

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import (
    EVENT_STATE_CHANGED,
    EVENT_STATE_REPORTED,
    STATE_UNAVAILABLE,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nezha.const import DOMAIN
from nezha_simulator import NezhaSimulator

from .conftest import poll, setup_entry

DETAILS = "/api/v1/server/details"
JSON_TYPE = "application/json; charset=utf-8"
EMPTY_ANSWER = json.dumps({"code": 0, "message": "success", "result": []})
NO_SERVERS_ISSUE = "no_servers_01JNEZHATESTENTRY000000000"


@pytest.fixture
def writes(hass: HomeAssistant) -> Generator[list[str]]:
    """The entity id of every state write from now on (changed or merely reported)."""
    written: list[str] = []

    @callback
    def record(event: Event) -> None:
        written.append(event.data["entity_id"])

    @callback
    def every(_: object) -> bool:
        return True

    unsubscribe = [
        hass.bus.async_listen(kind, record, event_filter=every)
        for kind in (EVENT_STATE_CHANGED, EVENT_STATE_REPORTED)
    ]
    yield written
    for remove in unsubscribe:
        remove()


def answer_empty(sim: NezhaSimulator, n: int) -> None:
    """The next ``n`` details polls answer successfully, with no server at all."""
    sim.fail_next(n, status=200, body=EMPTY_ANSWER, content_type=JSON_TYPE, path=DETAILS)


def server_devices(hass: HomeAssistant, entry: MockConfigEntry) -> set[str]:
    """The server devices of the entry (the dashboard's own device left out)."""
    return {
        identifier
        for device in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
        for domain, identifier in device.identifiers
        if domain == DOMAIN and identifier != entry.entry_id
    }


# 1. Write only what changed


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_a_poll_where_nothing_changed_writes_nothing(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    writes: list[str],
) -> None:
    """Servers and monitors polled again with the dashboard unchanged: zero state writes."""
    await setup_entry(hass, config_entry)
    writes.clear()
    requests = len(fleet.requests)

    await poll(hass, freezer, 60)  # a server poll and a monitor round

    assert len(fleet.requests) - requests == 3  # details, then monitors of the two online servers
    assert writes == []


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_one_changed_value_writes_one_entity(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    writes: list[str],
) -> None:
    """One server's CPU changes: that sensor is written, nothing else."""
    await setup_entry(hass, config_entry)
    writes.clear()

    fleet.set_status(1, cpu=77.0)
    await poll(hass, freezer)

    assert writes == ["sensor.gpu_box_cpu_usage"]
    assert hass.states.get("sensor.gpu_box_cpu_usage").state == "77.0"


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_what_depends_on_a_change_is_written_too(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    writes: list[str],
) -> None:
    """A server going offline: its metrics, online sensor and monitors, and the fleet's counts."""
    await setup_entry(hass, config_entry)
    writes.clear()

    fleet.take_offline(2)
    fleet.advance(31)
    await poll(hass, freezer)

    assert len(writes) == len(set(writes))  # each entity at most once
    assert "binary_sensor.vps_hk_online" in writes
    assert "sensor.vps_hk_cpu_usage" in writes
    assert "sensor.vps_hk_ping_1_1_1_1_latency" in writes
    assert "sensor.nezha_test_dashboard_servers_online" in writes
    assert "binary_sensor.nezha_test_dashboard_server_offline" in writes
    # The server that keeps reporting: only its last-seen time moved; the never-seen one: nothing.
    assert [entity_id for entity_id in writes if "gpu_box" in entity_id] == [
        "sensor.gpu_box_last_seen"
    ]
    assert [entity_id for entity_id in writes if "new_node" in entity_id] == []


async def test_home_assistants_own_writes_go_through(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    writes: list[str],
) -> None:
    """Renaming an entity in the registry writes its state (its friendly name) at once."""
    await setup_entry(hass, config_entry)
    writes.clear()

    entity_registry.async_update_entity("sensor.gpu_box_cpu_usage", name="GPU box CPU")
    await hass.async_block_till_done()

    assert writes == ["sensor.gpu_box_cpu_usage"]
    assert hass.states.get("sensor.gpu_box_cpu_usage").attributes["friendly_name"] == "GPU box CPU"


# 2, 3, 7. Monitors: only online servers, at most 10 requests at once, unavailable while offline


async def test_at_most_ten_requests_in_flight(
    hass: HomeAssistant, fleet: NezhaSimulator, config_entry: MockConfigEntry
) -> None:
    """30 online servers, a slow dashboard: 10 requests at once, the details poll included."""
    for _ in range(27):
        fleet.add_server()
    await setup_entry(hass, config_entry)
    fleet.latency = 0.1  # real time (no frozen clock here), long enough on a busy machine
    fleet.reset_in_flight()
    requests = len(fleet.requests)
    runtime = config_entry.runtime_data
    assert runtime.monitors is not None

    # The details poll and a monitor round at the same moment.
    await asyncio.gather(runtime.monitors.async_refresh(), runtime.servers.async_refresh())
    await hass.async_block_till_done()

    polled = fleet.requests[requests:]
    assert [request.path_qs for request in polled].count(DETAILS) == 1
    assert len(polled) == 1 + 29  # every online server's monitors (not the never-seen one)
    assert fleet.requests_in_flight_max == 10


async def test_offline_servers_monitors_not_polled_and_unavailable(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """While a server is offline its monitors are unavailable and not asked for; back, they are."""
    await setup_entry(hass, config_entry)
    assert "/api/v1/monitor/3" not in {request.path_qs for request in fleet.requests}  # never seen
    assert hass.states.get("sensor.vps_hk_ping_1_1_1_1_latency").state == "36.25"

    fleet.take_offline(2)
    fleet.advance(31)
    await poll(hass, freezer)  # the server poll sees it offline
    assert hass.states.get("sensor.vps_hk_ping_1_1_1_1_latency").state == STATE_UNAVAILABLE
    assert hass.states.get("binary_sensor.vps_hk_tcp_example_com_443_reachable").state == (
        STATE_UNAVAILABLE
    )
    requests = len(fleet.requests)
    await poll(hass, freezer)  # a server poll and a monitor round
    assert [request.path_qs for request in fleet.requests[requests:]] == [
        DETAILS,
        "/api/v1/monitor/1",
    ]
    assert hass.states.get("sensor.gpu_box_ping_1_1_1_1_latency").state == "13.5"

    fleet.bring_online(2)
    await poll(hass, freezer)  # back online: its last monitor result shows at once
    assert hass.states.get("sensor.vps_hk_ping_1_1_1_1_latency").state == "36.25"
    requests = len(fleet.requests)
    await poll(hass, freezer)
    assert "/api/v1/monitor/2" in {request.path_qs for request in fleet.requests[requests:]}


# 5. Never wipe a fleet on one answer


async def test_an_empty_answer_removes_nothing_and_raises_a_repair_issue(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Empty untagged answers neither remove devices nor count a server's absence."""
    await setup_entry(hass, config_entry)
    devices = server_devices(hass, config_entry)
    assert len(devices) == 3
    fleet.remove_server(3)
    await poll(hass, freezer)  # server 3 missing: 1 of 3 polls
    answer_empty(fleet, 5)

    for _ in range(5):
        await poll(hass, freezer)
        assert server_devices(hass, config_entry) == devices
    issue = issue_registry.async_get_issue(DOMAIN, NO_SERVERS_ISSUE)
    assert issue is not None
    assert issue.translation_key == "no_servers"
    assert issue.severity is ir.IssueSeverity.WARNING
    assert hass.states.get("sensor.gpu_box_cpu_usage").state == STATE_UNAVAILABLE
    assert hass.states.get("sensor.nezha_test_dashboard_servers").state == "0"

    await poll(hass, freezer)  # servers again: the issue goes; server 3 missing 2 of 3
    assert issue_registry.async_get_issue(DOMAIN, NO_SERVERS_ISSUE) is None
    assert hass.states.get("sensor.gpu_box_cpu_usage").state == "42.5"
    assert len(server_devices(hass, config_entry)) == 3
    await poll(hass, freezer)  # 3 of 3: only now is it removed
    assert server_devices(hass, config_entry) == devices - {f"{config_entry.entry_id}_3"}


async def test_an_empty_dashboard_with_nothing_tracked_is_no_issue(
    hass: HomeAssistant,
    simulator: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A dashboard that never had servers is simply empty."""
    await setup_entry(hass, config_entry)
    await poll(hass, freezer)
    assert issue_registry.async_get_issue(DOMAIN, NO_SERVERS_ISSUE) is None
    assert hass.states.get("sensor.nezha_test_dashboard_servers").state == "0"


async def test_removing_the_entry_withdraws_the_no_servers_issue(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
) -> None:
    """The issue belongs to the entry: it goes with it."""
    await setup_entry(hass, config_entry)
    answer_empty(fleet, 1)
    await poll(hass, freezer)
    assert issue_registry.async_get_issue(DOMAIN, NO_SERVERS_ISSUE) is not None

    await hass.config_entries.async_remove(config_entry.entry_id)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, NO_SERVERS_ISSUE) is None


# 8. Say when a part fails


def monitor_lines(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    """INFO lines of the integration that contain ``text``."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.INFO
        and record.name.startswith("custom_components.nezha")
        and text in record.getMessage()
    ]


async def test_one_line_when_a_servers_monitors_fail_and_one_when_they_recover(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Three failing rounds of server 2's monitors: one line, then one on recovery."""
    await setup_entry(hass, config_entry)
    caplog.set_level(logging.INFO, logger="custom_components.nezha")
    fleet.fail_next(3, status=500, path="/api/v1/monitor/2")
    for _ in range(3):
        await poll(hass, freezer, 60)
        assert hass.states.get("sensor.vps_hk_ping_1_1_1_1_latency").state == STATE_UNAVAILABLE
    assert monitor_lines(caplog, "can't be read") == [
        "The monitors of server 2 can't be read; they are unavailable until they can:"
        " HTTP 500 from the dashboard or a proxy in front of it"
    ]
    assert monitor_lines(caplog, "again") == []

    for _ in range(2):
        await poll(hass, freezer, 60)
    assert monitor_lines(caplog, "again") == ["The monitors of server 2 can be read again"]
    assert len(monitor_lines(caplog, "can't be read")) == 1
    assert hass.states.get("sensor.vps_hk_ping_1_1_1_1_latency").state == "36.25"


async def test_every_server_failing_is_the_coordinators_to_say(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No line per server when all fail: HA's coordinator logs the outage once."""
    await setup_entry(hass, config_entry)
    caplog.set_level(logging.INFO, logger="custom_components.nezha")
    fleet.fail_next(4, status=503, path="/api/v1/monitor/")
    for _ in range(2):
        await poll(hass, freezer, 60)
    assert monitor_lines(caplog, "monitors of server") == []
    outage = [r for r in caplog.records if "Error fetching nezha monitors data" in r.getMessage()]
    assert len(outage) == 1


async def test_a_refused_token_stops_the_monitor_round(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
) -> None:
    """A monitor request refused for the token: reauth, and no more monitor requests after it."""
    for _ in range(20):
        fleet.add_server()
    await setup_entry(hass, config_entry)
    fleet.server(1).hide_for_guest = True  # a guest (a refused token) gets HTTP 403 for it
    fleet.revoke_token()
    fleet.latency = 0.01
    requests = len(fleet.requests)

    assert config_entry.runtime_data.monitors is not None
    await config_entry.runtime_data.monitors.async_refresh()
    await hass.async_block_till_done()

    asked = [request.path_qs for request in fleet.requests[requests:]]
    assert asked[0] == "/api/v1/monitor/1"
    assert len(asked) < 22  # 22 online servers: the round stopped after the refusal
    assert [flow["context"]["source"] for flow in hass.config_entries.flow.async_progress()] == [
        "reauth"
    ]
