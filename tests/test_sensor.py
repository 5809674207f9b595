"""Sensors of servers, ping monitors and the dashboard."""

from __future__ import annotations

from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from nezha_simulator import NezhaSimulator

from .conftest import DASHBOARD_NOW, poll, setup_entry


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_sensor_snapshot(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Every sensor of a GPU server, a plain VPS, a never-seen server and the dashboard."""
    with patch("custom_components.nezha.PLATFORMS", [Platform.SENSOR]):
        await setup_entry(hass, config_entry)
    await snapshot_platform(hass, entity_registry, snapshot, config_entry.entry_id)


async def test_default_enabled_entities(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Noisy and diagnostic sensors start disabled; the everyday ones start enabled."""
    await setup_entry(hass, config_entry)
    disabled = {
        entry.unique_id.removeprefix(f"{config_entry.entry_id}_2_")
        for entry in er.async_entries_for_config_entry(entity_registry, config_entry.entry_id)
        if entry.disabled_by is not None
        and entry.unique_id.startswith(f"{config_entry.entry_id}_2_")
    }
    assert disabled == {
        "swap_used",
        "swap_usage",
        "load_5",
        "load_15",
        "tcp_connections",
        "udp_connections",
        "processes",
        "last_seen",
        "ipv4_address",
        "ipv6_address",
    }
    assert hass.states.get("sensor.vps_hk_cpu_usage").state == "3.0150753768803"


async def test_units_are_converted_for_display(
    hass: HomeAssistant, fleet: NezhaSimulator, config_entry: MockConfigEntry
) -> None:
    """Bytes show as GiB and bytes per second as Mbit/s; percentages are computed from totals."""
    await setup_entry(hass, config_entry)
    memory = hass.states.get("sensor.gpu_box_memory_used")
    assert (memory.state, memory.attributes["unit_of_measurement"]) == ("16.0", "GiB")
    speed = hass.states.get("sensor.vps_hk_download_speed")
    assert speed.attributes["unit_of_measurement"] == "Mbit/s"
    assert float(speed.state) == pytest.approx(10_806 * 8 / 1e6)
    assert hass.states.get("sensor.gpu_box_memory_usage").state == "25.0"
    assert hass.states.get("sensor.gpu_box_total_downloaded").attributes["state_class"] == (
        "total_increasing"
    )


async def test_zero_total_makes_usage_unknown(
    hass: HomeAssistant, fleet: NezhaSimulator, config_entry: MockConfigEntry
) -> None:
    """A server without swap has unknown swap usage, not a division by zero."""
    await setup_entry(hass, config_entry)
    entity_registry = er.async_get(hass)
    entity_registry.async_update_entity("sensor.gpu_box_swap_usage", disabled_by=None)
    await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get("sensor.gpu_box_swap_usage").state == STATE_UNKNOWN


async def test_offline_server_metrics_unavailable(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Nezha keeps an offline server's last values: they are not current, so unavailable."""
    await setup_entry(hass, config_entry)
    assert hass.states.get("sensor.vps_hk_cpu_usage").state != STATE_UNAVAILABLE

    fleet.take_offline(2)
    fleet.advance(31)
    await poll(hass, freezer)

    assert hass.states.get("sensor.vps_hk_cpu_usage").state == STATE_UNAVAILABLE
    assert hass.states.get("sensor.vps_hk_boot_time").state == STATE_UNAVAILABLE
    assert hass.states.get("binary_sensor.vps_hk_online").state == "off"
    # The server that keeps reporting is untouched.
    assert hass.states.get("sensor.gpu_box_cpu_usage").state == "42.5"

    fleet.bring_online(2)
    await poll(hass, freezer)
    assert hass.states.get("sensor.vps_hk_cpu_usage").state == "3.0150753768803"


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_last_seen_stays_available(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """last_seen tells when an offline server last reported; unknown for a never-seen one."""
    await setup_entry(hass, config_entry)
    fleet.take_offline(2)
    fleet.advance(600)
    await poll(hass, freezer)
    assert hass.states.get("sensor.vps_hk_last_seen").state == "2025-11-26T12:00:00+00:00"
    assert hass.states.get("sensor.vps_hk_cpu_usage").state == STATE_UNAVAILABLE
    assert hass.states.get("sensor.new_node_last_seen").state == STATE_UNKNOWN
    assert hass.states.get("sensor.new_node_cpu_usage").state == STATE_UNAVAILABLE


async def test_temperature_added_when_first_reported(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A server that starts reporting temperatures gets the sensor without a reload, and keeps it."""
    await setup_entry(hass, config_entry)
    assert hass.states.get("sensor.vps_hk_temperature") is None

    fleet.set_status(2, temperatures=[("acpitz", 51.0), ("nvme", 40.0)])
    await poll(hass, freezer)
    assert hass.states.get("sensor.vps_hk_temperature").state == "51.0"

    fleet.set_status(2, temperatures=[])
    await poll(hass, freezer)
    assert hass.states.get("sensor.vps_hk_temperature").state == STATE_UNKNOWN


async def test_monitor_latency(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The newest point; a failed round (0) is unknown, and so is a point too old to be current."""
    await setup_entry(hass, config_entry)
    state = hass.states.get("sensor.vps_hk_ping_1_1_1_1_latency")
    assert state.state == "36.25"
    assert state.attributes["unit_of_measurement"] == "ms"
    assert state.attributes["friendly_name"] == "vps-hk Ping 1.1.1.1 latency"
    assert hass.states.get("sensor.gpu_box_tcp_example_com_443_latency").state == STATE_UNKNOWN

    fleet.advance(16 * 60)  # no new point for 16 minutes, by the dashboard's clock
    await poll(hass, freezer, 60)
    assert hass.states.get("sensor.vps_hk_ping_1_1_1_1_latency").state == STATE_UNKNOWN

    fleet.add_point(1, 2, 20.0)
    await poll(hass, freezer, 60)
    assert hass.states.get("sensor.vps_hk_ping_1_1_1_1_latency").state == "20.0"


async def test_dashboard_counts(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Servers in scope and servers online."""
    await setup_entry(hass, config_entry)
    assert hass.states.get("sensor.nezha_test_dashboard_servers").state == "3"
    assert hass.states.get("sensor.nezha_test_dashboard_servers_online").state == "2"

    fleet.take_offline(1)
    fleet.advance(60)
    await poll(hass, freezer)
    assert hass.states.get("sensor.nezha_test_dashboard_servers_online").state == "1"


async def test_names_in_simplified_chinese(
    hass: HomeAssistant, fleet: NezhaSimulator, config_entry: MockConfigEntry
) -> None:
    """Names come from the translations, so a zh-Hans install reads Chinese names.

    Entity ids are made from the English names whatever the language, so automations port.
    """
    hass.config.language = "zh-Hans"
    await setup_entry(hass, config_entry)
    assert hass.states.get("sensor.gpu_box_cpu_usage").attributes["friendly_name"] == (
        "gpu-box CPU 使用率"
    )
    assert hass.states.get("binary_sensor.gpu_box_online").attributes["friendly_name"] == (
        "gpu-box 在线"
    )
    latency = hass.states.get("sensor.vps_hk_ping_1_1_1_1_latency")
    assert latency.attributes["friendly_name"] == "vps-hk Ping 1.1.1.1 延迟"


def test_dashboard_clock_is_far_from_has() -> None:
    """The fixtures keep the dashboard's clock about a year away from HA's real clock."""
    import time

    assert abs(time.time() - DASHBOARD_NOW) > 86400
