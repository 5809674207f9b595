"""Binary sensors: a server online, a monitor reachable, a server of the fleet offline."""

from __future__ import annotations

from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from nezha_simulator import NezhaSimulator

from .conftest import poll, setup_entry


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_binary_sensor_snapshot(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Every binary sensor of the three-server fleet and the dashboard."""
    with patch("custom_components.nezha.PLATFORMS", [Platform.BINARY_SENSOR]):
        await setup_entry(hass, config_entry)
    await snapshot_platform(hass, entity_registry, snapshot, config_entry.entry_id)


async def test_online_follows_the_dashboard_clock(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Online while the last report is within 30 s of the dashboard's Date, whatever HA's clock says.

    The dashboard's clock is a year behind HA's here: judged by HA's clock, every server would
    be offline.
    """
    await setup_entry(hass, config_entry)
    assert hass.states.get("binary_sensor.vps_hk_online").state == STATE_ON

    fleet.take_offline(2)
    fleet.advance(30)
    await poll(hass, freezer)
    assert hass.states.get("binary_sensor.vps_hk_online").state == STATE_ON

    fleet.advance(1)
    await poll(hass, freezer)
    assert hass.states.get("binary_sensor.vps_hk_online").state == STATE_OFF
    assert hass.states.get("binary_sensor.gpu_box_online").state == STATE_ON


async def test_online_threshold_option(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A longer threshold keeps a quiet server online longer."""
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(config_entry, options={"online_threshold": 120})
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    fleet.take_offline(2)
    fleet.advance(100)
    await poll(hass, freezer)
    assert hass.states.get("binary_sensor.vps_hk_online").state == STATE_ON
    fleet.advance(21)
    await poll(hass, freezer)
    assert hass.states.get("binary_sensor.vps_hk_online").state == STATE_OFF


async def test_never_seen_server_is_offline_but_not_a_problem(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A never-seen server is off; the fleet problem sensor only counts servers that reported."""
    await setup_entry(hass, config_entry)
    assert hass.states.get("binary_sensor.new_node_online").state == STATE_OFF
    assert hass.states.get("binary_sensor.nezha_test_dashboard_server_offline").state == STATE_OFF

    fleet.take_offline(1)
    fleet.advance(45)
    await poll(hass, freezer)
    assert hass.states.get("binary_sensor.nezha_test_dashboard_server_offline").state == STATE_ON

    # After a dashboard restart the offline server becomes never-seen: it reported before, so
    # its agent is still gone (issue 23: it stays offline and counted, the never-seen one not).
    fleet.restart_dashboard()
    await poll(hass, freezer)
    assert hass.states.get("binary_sensor.gpu_box_online").state == STATE_OFF
    assert hass.states.get("binary_sensor.new_node_online").state == STATE_OFF
    assert hass.states.get("binary_sensor.nezha_test_dashboard_server_offline").state == STATE_ON


async def test_monitor_reachable(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Off after a failed round, on after a good one, unknown when the newest point is stale."""
    await setup_entry(hass, config_entry)
    assert hass.states.get("binary_sensor.vps_hk_ping_1_1_1_1_reachable").state == STATE_ON
    tcp = hass.states.get("binary_sensor.gpu_box_tcp_example_com_443_reachable")
    assert tcp.state == STATE_OFF
    assert tcp.attributes["friendly_name"] == "gpu-box TCP example.com:443 reachable"

    fleet.advance(60)
    fleet.add_point(2, 1, 95.5)
    await poll(hass, freezer, 60)
    assert hass.states.get("binary_sensor.gpu_box_tcp_example_com_443_reachable").state == STATE_ON

    fleet.advance(15 * 60 + 1)
    await poll(hass, freezer, 60)
    assert (
        hass.states.get("binary_sensor.gpu_box_tcp_example_com_443_reachable").state
        == STATE_UNKNOWN
    )


async def test_a_negative_delay_is_a_failed_round_on_0x_too(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A negative average is no latency: the round failed, as 1.x/2.x read it (models.py).

    0.x skipped such a point and showed the round before it.
    """
    await setup_entry(hass, config_entry)
    fleet.advance(60)
    fleet.add_point(2, 1, 95.5)
    await poll(hass, freezer, 60)
    assert hass.states.get("binary_sensor.gpu_box_tcp_example_com_443_reachable").state == STATE_ON

    fleet.advance(60)
    fleet.add_point(2, 1, -3.0)
    await poll(hass, freezer, 60)
    assert hass.states.get("binary_sensor.gpu_box_tcp_example_com_443_reachable").state == STATE_OFF
    latency = hass.states.get("sensor.gpu_box_tcp_example_com_443_latency")
    assert latency is not None
    assert latency.state == STATE_UNKNOWN
