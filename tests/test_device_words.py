"""What a device page and an entity's name say when the dashboard has nothing to show yet."""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from nezha_simulator import NezhaSimulator

from .conftest import poll, setup_entry
from .test_generations import entry_for
from .test_init import server_device
from .test_services import ALL_SCOPES, billing_note, world

__all__ = ["world"]  # fixture

BILLING = "sensor.new_node_billing_expiry"


def server_model(
    device_registry: dr.DeviceRegistry, entry: MockConfigEntry, server_id: int
) -> str | None:
    """The model the device page of one server shows."""
    device = server_device(device_registry, entry, server_id)
    assert device is not None
    return device.model


async def test_never_reported_server_says_so_until_its_first_report(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    device_registry: dr.DeviceRegistry,
) -> None:
    """A server whose agent never reported shows that as its model (not "<unknown>"); its
    first report puts the real one in its place, and a reload does not take the words for a
    report (the server is still a new agent, not one counted offline)."""
    await setup_entry(hass, config_entry)
    assert server_model(device_registry, config_entry, 3) == "Agent has not reported yet"
    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done()
    for _ in range(4):  # longer than a dashboard restart may take: a reported server is counted
        fleet.advance(30)
        await poll(hass, freezer)
    assert hass.states.get("binary_sensor.nezha_test_dashboard_server_offline").state == "off"

    fleet.set_host(3, platform="debian", platform_version="12.7")
    fleet.bring_online(3)
    await poll(hass, freezer)
    assert server_model(device_registry, config_entry, 3) == "Debian 12.7"


def billing_name(hass: HomeAssistant, entity_registry: er.EntityRegistry) -> tuple[str, str, str]:
    """The billing sensor's state, its friendly name and the name its device page lists."""
    state = hass.states.get(BILLING)
    entry = entity_registry.async_get(BILLING)
    assert state is not None
    assert entry is not None
    assert entry.original_name is not None
    return state.state, state.attributes["friendly_name"], entry.original_name


async def test_billing_name_says_when_it_never_expires(
    hass: HomeAssistant,
    world: NezhaSimulator,
    freezer: FrozenDateTimeFactory,
    entity_registry: er.EntityRegistry,
) -> None:
    """Terms that never expire name the sensor "Billing: never expires" next to its unknown
    state (from its first state on); dated terms name it "Billing expiry" again, and back. The
    entity ID stays."""
    await setup_entry(hass, entry_for(world, "v2", scopes=ALL_SCOPES))
    never = (STATE_UNKNOWN, "new-node Billing: never expires", "Billing: never expires")
    assert billing_name(hass, entity_registry) == never
    assert hass.states.get("sensor.vps_hk_billing_expiry").attributes["friendly_name"] == (
        "vps-hk Billing expiry"
    )

    note = world.server(3).public_note
    world.server(3).public_note = billing_note(
        endDate="2026-02-13T00:00:00+08:00", autoRenewal="0", cycle="Year", amount="0"
    )
    await poll(hass, freezer)
    assert billing_name(hass, entity_registry) == (
        "2026-02-12T16:00:00+00:00",
        "new-node Billing expiry",
        "Billing expiry",
    )

    world.server(3).public_note = note
    await poll(hass, freezer)
    assert billing_name(hass, entity_registry) == never
