"""Set-up, polling, devices that come and go, failures and unloading, against the simulator."""

from __future__ import annotations

from collections.abc import Callable
import logging

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.nezha.const import DOMAIN
from nezha_simulator import NezhaSimulator

from .conftest import TOKEN, first_reads, poll, setup_entry

# A dashboard that can't be read, for the rest of a test: each way a real one (or the proxy in
# front of it) fails. Tests clear it with ``fleet.clear_faults()``.
DASHBOARD_OUTAGES = pytest.mark.parametrize(
    "break_dashboard",
    [
        pytest.param(lambda sim: sim.fail_next(100, status=502), id="bad-gateway"),
        pytest.param(lambda sim: sim.html_next(100), id="html-from-a-proxy"),
        pytest.param(lambda sim: sim.broken_json_next(100), id="broken-json"),
        pytest.param(lambda sim: sim.disconnect_next(100), id="connection-dropped"),
    ],
)


def server_device(
    device_registry: dr.DeviceRegistry, entry: MockConfigEntry, server_id: int
) -> dr.DeviceEntry | None:
    """The device of one server, if it exists."""
    return device_registry.async_get_device_by_identifier(
        (DOMAIN, f"{entry.entry_id}_{server_id}"), entry.entry_id
    )


def entity_ids(entity_registry: er.EntityRegistry, entry: MockConfigEntry) -> set[str]:
    """Every registered entity of the entry."""
    return {e.entity_id for e in er.async_entries_for_config_entry(entity_registry, entry.entry_id)}


async def test_devices(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """One device for the dashboard, one per server linked to it through via_device_id."""
    await setup_entry(hass, config_entry)
    dashboard = device_registry.async_get_device_by_identifier(
        (DOMAIN, config_entry.entry_id), config_entry.entry_id
    )
    assert dashboard is not None
    assert dashboard.name == "Nezha test dashboard"
    assert dashboard.entry_type is dr.DeviceEntryType.SERVICE
    assert dashboard.configuration_url == fleet.url

    gpu_box = server_device(device_registry, config_entry, 1)
    assert gpu_box is not None
    assert (gpu_box.name, gpu_box.manufacturer, gpu_box.model) == (
        "gpu-box",
        "Nezha",
        "Ubuntu 24.04",
    )
    assert (gpu_box.sw_version, gpu_box.hw_version) == ("0.20.5", "amd64")
    assert gpu_box.via_device_id == dashboard.id
    assert gpu_box.configuration_url == fleet.url
    never_seen = server_device(device_registry, config_entry, 3)
    assert never_seen is not None
    assert (never_seen.model, never_seen.sw_version) == ("Agent has not reported yet", None)
    assert len(dr.async_entries_for_config_entry(device_registry, config_entry.entry_id)) == 4


async def test_unload_and_remove_leave_nothing(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """Unloading stops polling; removing deletes devices, entities and repair issues."""
    await setup_entry(hass, config_entry)
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.NOT_LOADED
    assert hass.states.get("sensor.gpu_box_cpu_usage").state == STATE_UNAVAILABLE

    requests = len(fleet.requests)
    await poll(hass, freezer, 120)
    assert len(fleet.requests) == requests

    await hass.config_entries.async_remove(config_entry.entry_id)
    await hass.async_block_till_done()
    assert not entity_ids(entity_registry, config_entry)
    assert not dr.async_entries_for_config_entry(device_registry, config_entry.entry_id)
    assert hass.states.get("sensor.gpu_box_cpu_usage") is None


async def test_reload_creates_no_duplicates(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """A reload (as after an options change) finds the same devices and entities."""
    await setup_entry(hass, config_entry)
    before = entity_ids(entity_registry, config_entry)
    devices = len(dr.async_entries_for_config_entry(device_registry, config_entry.entry_id))
    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED
    assert entity_ids(entity_registry, config_entry) == before
    assert len(dr.async_entries_for_config_entry(device_registry, config_entry.entry_id)) == devices
    assert hass.states.get("sensor.gpu_box_cpu_usage").state == "42.5"


@DASHBOARD_OUTAGES
async def test_setup_retries_when_the_dashboard_fails(
    hass: HomeAssistant, fleet: NezhaSimulator, config_entry: MockConfigEntry, break_dashboard
) -> None:
    """Transient failures at start-up mean 'retry later', with nothing created."""
    break_dashboard(fleet)
    await setup_entry(hass, config_entry)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    assert hass.states.get("sensor.gpu_box_cpu_usage") is None


async def test_setup_auth_failure_starts_reauth(
    hass: HomeAssistant, fleet: NezhaSimulator, config_entry: MockConfigEntry
) -> None:
    """A token the dashboard refuses stops set-up and asks the user for a new one."""
    fleet.revoke_token()
    await setup_entry(hass, config_entry)
    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert flows[0]["context"]["entry_id"] == config_entry.entry_id


async def test_token_revoked_while_running(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Revoking the token makes the entities unavailable and starts reauth."""
    await setup_entry(hass, config_entry)
    fleet.token = "ANewTokenTheUserMadeAfterALeak00"
    await poll(hass, freezer)
    assert hass.states.get("sensor.gpu_box_cpu_usage").state == STATE_UNAVAILABLE
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def test_dashboard_upgraded_to_1x(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A v0 dashboard that now answers like Nezha 1.x raises a repair issue; it clears on return."""
    await setup_entry(hass, config_entry)
    fleet.generation = "v1"
    await poll(hass, freezer)
    issue = issue_registry.async_get_issue(DOMAIN, f"dashboard_upgraded_{config_entry.entry_id}")
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders == {"title": "Nezha test dashboard"}
    assert hass.states.get("sensor.gpu_box_cpu_usage").state == STATE_UNAVAILABLE

    fleet.generation = "v0"
    await poll(hass, freezer)
    assert (
        issue_registry.async_get_issue(DOMAIN, f"dashboard_upgraded_{config_entry.entry_id}")
        is None
    )
    assert hass.states.get("sensor.gpu_box_cpu_usage").state == "42.5"


@pytest.mark.allow_traceback(
    "Home Assistant logs a fatal set-up error (ConfigEntryError) with its traceback",
    match="^Error setting up entry .*: The address now answers like Nezha 1.x or 2.x",
)
async def test_setup_against_a_1x_dashboard_fails_with_a_repair_issue(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Set-up stops for good (no pointless retries) and the repair issue explains why."""
    fleet.generation = "v1"
    await setup_entry(hass, config_entry)
    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    assert issue_registry.async_get_issue(DOMAIN, f"dashboard_upgraded_{config_entry.entry_id}")

    await hass.config_entries.async_remove(config_entry.entry_id)
    await hass.async_block_till_done()
    assert not issue_registry.async_get_issue(DOMAIN, f"dashboard_upgraded_{config_entry.entry_id}")


async def test_new_server_appears_without_reload(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    device_registry: dr.DeviceRegistry,
) -> None:
    """A server added on the dashboard becomes a device with entities at the next poll."""
    await setup_entry(hass, config_entry)
    fleet.add_server("db-1", tag="prod")
    await poll(hass, freezer)
    assert server_device(device_registry, config_entry, 4) is not None
    assert hass.states.get("sensor.db_1_cpu_usage").state == "3.0150753768803"
    assert hass.states.get("binary_sensor.db_1_online").state == "on"
    assert hass.states.get("sensor.nezha_test_dashboard_servers").state == "4"


async def test_new_monitor_appears_without_reload(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A monitor's first points on a server add its entities at the next monitor poll."""
    await setup_entry(hass, config_entry)
    dns = fleet.add_monitor("Ping 8.8.8.8")
    fleet.add_point(dns, 2, 4.25)
    await poll(hass, freezer, 60)
    assert hass.states.get("sensor.vps_hk_ping_8_8_8_8_latency").state == "4.25"
    assert hass.states.get("binary_sensor.vps_hk_ping_8_8_8_8_reachable").state == "on"


@DASHBOARD_OUTAGES
async def test_dashboard_unreadable_while_running(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    entity_registry: er.EntityRegistry,
    caplog: pytest.LogCaptureFixture,
    break_dashboard: Callable[[NezhaSimulator], None],
) -> None:
    """Every entity goes unavailable, with one log line and no traceback; all come back after."""
    await setup_entry(hass, config_entry)
    break_dashboard(fleet)
    await poll(hass, freezer, 60)  # both coordinators poll
    states = [hass.states.get(entity_id) for entity_id in entity_ids(entity_registry, config_entry)]
    assert {state.state for state in states if state is not None} == {STATE_UNAVAILABLE}
    assert config_entry.state is ConfigEntryState.LOADED
    # HA's coordinator adds the traceback only to its own debug record ("Full error:").
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in problems if r.name.startswith("custom_components.nezha")]
    assert not [r for r in problems if r.exc_info]
    assert TOKEN not in caplog.text

    fleet.clear_faults()
    await poll(hass, freezer, 60)
    assert hass.states.get("sensor.gpu_box_cpu_usage").state == "42.5"
    assert hass.states.get("binary_sensor.gpu_box_ping_1_1_1_1_reachable").state == "on"
    assert hass.states.get("sensor.nezha_test_dashboard_servers").state == "3"


async def test_monitor_entities_follow_a_server_poll_failure(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Only the details endpoint fails: monitor entities go unavailable with it, at once."""
    await setup_entry(hass, config_entry)
    fleet.fail_next(1, status=502, path="/api/v1/server/details")
    await poll(hass, freezer)  # a server poll only; the monitors were read 30 s ago
    assert hass.states.get("sensor.gpu_box_cpu_usage").state == STATE_UNAVAILABLE
    assert hass.states.get("binary_sensor.gpu_box_ping_1_1_1_1_reachable").state == (
        STATE_UNAVAILABLE
    )
    await poll(hass, freezer)
    assert hass.states.get("binary_sensor.gpu_box_ping_1_1_1_1_reachable").state == "on"


async def test_gone_server_removed_after_three_good_polls(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Unavailable while missing; removed with its entities after three successful polls.

    Failed polls in between count for nothing.
    """
    await setup_entry(hass, config_entry)
    fleet.remove_server(2)

    await poll(hass, freezer)  # missing once
    assert hass.states.get("sensor.vps_hk_cpu_usage").state == STATE_UNAVAILABLE
    fleet.fail_next(1, status=502, path="/api/v1/server")
    await poll(hass, freezer)  # failed: not counted
    fleet.disconnect_next(2, path="/api/v1/server")  # aiohttp retries a dropped connection once
    await poll(hass, freezer)  # connection dropped: not counted
    await poll(hass, freezer)  # missing twice
    assert server_device(device_registry, config_entry, 2) is not None
    assert entity_registry.async_get("sensor.vps_hk_cpu_usage") is not None

    await poll(hass, freezer)  # missing three times: gone
    assert server_device(device_registry, config_entry, 2) is None
    assert entity_registry.async_get("sensor.vps_hk_cpu_usage") is None
    assert entity_registry.async_get("sensor.vps_hk_ping_1_1_1_1_latency") is None
    assert hass.states.get("sensor.vps_hk_cpu_usage") is None
    assert hass.states.get("sensor.gpu_box_cpu_usage").state == "42.5"


async def test_server_back_before_removal_keeps_its_entities(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    entity_registry: er.EntityRegistry,
) -> None:
    """A server that returns within three polls comes back on the same entities."""
    await setup_entry(hass, config_entry)
    before = entity_ids(entity_registry, config_entry)
    fleet.remove_server(2)
    await poll(hass, freezer)
    await poll(hass, freezer)
    fleet.add_server("vps-hk", tag="prod", server_id=2)
    await poll(hass, freezer)
    await poll(hass, freezer)
    assert entity_ids(entity_registry, config_entry) == before
    assert hass.states.get("sensor.vps_hk_cpu_usage").state == "3.0150753768803"


async def test_devices_of_servers_deleted_while_ha_was_down_are_removed(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    device_registry: dr.DeviceRegistry,
) -> None:
    """Devices left from an earlier run are tracked too, and removed after three polls."""
    await setup_entry(hass, config_entry)
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    fleet.remove_server(3)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert server_device(device_registry, config_entry, 3) is not None
    await poll(hass, freezer)
    await poll(hass, freezer)
    assert server_device(device_registry, config_entry, 3) is None
    assert server_device(device_registry, config_entry, 1) is not None


async def test_rename_updates_the_device_only(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """A rename changes the device's name; entity ids and user choices stay."""
    await setup_entry(hass, config_entry)
    entity_registry.async_update_entity(
        "sensor.gpu_box_disk_used", disabled_by=er.RegistryEntryDisabler.USER
    )
    before = entity_ids(entity_registry, config_entry)

    fleet.rename_server(1, "gpu-box-renamed")
    fleet.set_host(1, agent_version="0.20.6", platform_version="24.10")
    await poll(hass, freezer)

    device = server_device(device_registry, config_entry, 1)
    assert device is not None
    assert (device.name, device.sw_version, device.model) == (
        "gpu-box-renamed",
        "0.20.6",
        "Ubuntu 24.10",
    )
    assert entity_ids(entity_registry, config_entry) == before
    assert hass.states.get("sensor.gpu_box_cpu_usage").attributes["friendly_name"] == (
        "gpu-box-renamed CPU usage"
    )
    assert entity_registry.async_get("sensor.gpu_box_disk_used").disabled_by is (
        er.RegistryEntryDisabler.USER
    )


async def test_one_servers_monitor_endpoint_failing(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Only that server's monitor entities go unavailable, and come back after."""
    await setup_entry(hass, config_entry)
    fleet.fail_next(1, status=500, path="/api/v1/monitor/2")
    await poll(hass, freezer, 60)
    assert hass.states.get("sensor.vps_hk_ping_1_1_1_1_latency").state == STATE_UNAVAILABLE
    assert hass.states.get("binary_sensor.vps_hk_tcp_example_com_443_reachable").state == (
        STATE_UNAVAILABLE
    )
    assert hass.states.get("sensor.gpu_box_ping_1_1_1_1_latency").state == "13.5"
    assert hass.states.get("sensor.vps_hk_cpu_usage").state == "3.0150753768803"

    await poll(hass, freezer, 60)
    assert hass.states.get("sensor.vps_hk_ping_1_1_1_1_latency").state == "36.25"


async def test_every_monitor_request_failing(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """When no monitor can be read, all monitor entities are unavailable; servers are not."""
    await setup_entry(hass, config_entry)
    fleet.fail_next(3, status=503, path="/api/v1/monitor/")
    await poll(hass, freezer, 60)
    assert hass.states.get("sensor.gpu_box_ping_1_1_1_1_latency").state == STATE_UNAVAILABLE
    assert hass.states.get("sensor.vps_hk_ping_1_1_1_1_latency").state == STATE_UNAVAILABLE
    assert hass.states.get("sensor.gpu_box_cpu_usage").state == "42.5"


async def test_gone_monitor_removed_after_three_good_polls(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """A deleted monitor's entities go; the server's device stays."""
    await setup_entry(hass, config_entry)
    fleet.remove_monitor(2)
    for _ in range(2):
        await poll(hass, freezer, 60)
    assert entity_registry.async_get("sensor.vps_hk_tcp_example_com_443_latency") is not None
    assert hass.states.get("sensor.vps_hk_tcp_example_com_443_latency").state == STATE_UNAVAILABLE
    await poll(hass, freezer, 60)
    assert entity_registry.async_get("sensor.vps_hk_tcp_example_com_443_latency") is None
    assert entity_registry.async_get("binary_sensor.vps_hk_tcp_example_com_443_reachable") is None
    assert entity_registry.async_get("sensor.vps_hk_ping_1_1_1_1_latency") is not None
    assert server_device(device_registry, config_entry, 2) is not None


async def test_monitors_turned_off(
    hass: HomeAssistant, fleet: NezhaSimulator, config_entry: MockConfigEntry
) -> None:
    """monitor_interval 0: no monitor entities and no monitor requests."""
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(config_entry, options={"monitor_interval": 0})
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get("sensor.gpu_box_cpu_usage").state == "42.5"
    assert hass.states.get("sensor.gpu_box_ping_1_1_1_1_latency") is None
    assert not [r for r in fleet.requests if r.path_qs.startswith("/api/v1/monitor")]


async def test_turning_monitors_off_removes_their_entities(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Switched off in the options, monitor entities go rather than stay unavailable for ever."""
    await setup_entry(hass, config_entry)
    assert entity_registry.async_get("sensor.gpu_box_ping_1_1_1_1_latency") is not None

    hass.config_entries.async_update_entry(config_entry, options={"monitor_interval": 0})
    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done()
    remaining = entity_ids(entity_registry, config_entry)
    assert not {e for e in remaining if "latency" in e or "reachable" in e}
    assert "sensor.gpu_box_cpu_usage" in remaining

    hass.config_entries.async_update_entry(config_entry, options={"monitor_interval": 60})
    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done()
    await first_reads(hass)
    assert hass.states.get("binary_sensor.gpu_box_ping_1_1_1_1_reachable").state == "on"


async def test_tag_filter_and_a_vanished_tag(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    device_registry: dr.DeviceRegistry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Only the group's servers; a group that vanishes raises a repair issue and removes nothing."""
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(config_entry, options={"tag": "prod"})
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get("sensor.gpu_box_cpu_usage") is None
    assert hass.states.get("sensor.vps_hk_cpu_usage").state == "3.0150753768803"
    assert any("tag=prod" in r.path_qs for r in fleet.requests)

    fleet.set_tag(2, "production")
    fleet.set_tag(3, "production")
    for _ in range(5):
        await poll(hass, freezer)
    issue_id = f"tag_not_found_{config_entry.entry_id}"
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders == {"tag": "prod", "title": "Nezha test dashboard"}
    assert server_device(device_registry, config_entry, 2) is not None
    assert hass.states.get("sensor.vps_hk_cpu_usage").state == STATE_UNAVAILABLE

    fleet.set_tag(2, "prod")
    await poll(hass, freezer)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    assert hass.states.get("sensor.vps_hk_cpu_usage").state == "3.0150753768803"


async def test_remove_device_by_hand(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    device_registry: dr.DeviceRegistry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """A user may delete a gone server's device, never a current one or the dashboard's."""
    assert await async_setup_component(hass, "config", {})
    await setup_entry(hass, config_entry)
    client = await hass_ws_client(hass)

    async def remove(device: dr.DeviceEntry) -> bool:
        await client.send_json_auto_id(
            {
                "type": "config/device_registry/remove",
                "device_id": device.id,
            }
        )
        return bool((await client.receive_json())["success"])

    dashboard = device_registry.async_get_device_by_identifier(
        (DOMAIN, config_entry.entry_id), config_entry.entry_id
    )
    assert dashboard is not None
    assert not await remove(dashboard)
    current = server_device(device_registry, config_entry, 1)
    assert current is not None
    assert not await remove(current)

    fleet.remove_server(2)
    await poll(hass, freezer)
    gone = server_device(device_registry, config_entry, 2)
    assert gone is not None
    assert await remove(gone)
    assert server_device(device_registry, config_entry, 2) is None

    # It comes back (e.g. its group returned): a new device and entities, without a reload.
    fleet.add_server("vps-hk", tag="prod", server_id=2)
    await poll(hass, freezer, 60)
    assert server_device(device_registry, config_entry, 2) is not None
    assert hass.states.get("sensor.vps_hk_cpu_usage").state == "3.0150753768803"
    assert hass.states.get("binary_sensor.vps_hk_ping_1_1_1_1_reachable") is not None

    # With the entry not loaded there is nothing to check a server against: allowed; the
    # dashboard device is still refused.
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    assert not await remove(dashboard)
    assert await remove(server_device(device_registry, config_entry, 1))
    assert server_device(device_registry, config_entry, 1) is None
