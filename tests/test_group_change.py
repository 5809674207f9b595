"""Choosing a server group in the options takes effect at the reload that follows.

The three-polls rule keeps a server's device through an outage or an odd answer; a server the
user left out by choosing a group is not such a case: it goes at once, with its entities.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nezha.const import (
    CONF_GROUP_ID,
    CONF_LIVE_UPDATES,
    CONF_MONITOR_INTERVAL,
    CONF_ONLINE_THRESHOLD,
    CONF_SCAN_INTERVAL,
    CONF_TAG,
    DOMAIN,
)
from nezha_simulator import NezhaSimulator

from .conftest import poll, setup_entry
from .test_generations import ENTRY_ID, entry_for

GPU_CPU = "sensor.gpu_box_cpu_usage"
VPS_CPU = "sensor.vps_hk_cpu_usage"
GPU_PING = "sensor.gpu_box_ping_1_1_1_1_latency"


async def choose(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    group: str | None,
    *,
    monitor_interval: int = 60,
    before_saving: Callable[[], None] | None = None,
) -> None:
    """Save the options dialog with ``group`` (a tag or a group id; None: all servers).

    ``before_saving`` runs while the dialog is open (after it read the dashboard's groups).
    """
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    if before_saving is not None:
        before_saving()
    user_input: dict[str, Any] = {
        CONF_SCAN_INTERVAL: 30,
        CONF_MONITOR_INTERVAL: monitor_interval,
        CONF_ONLINE_THRESHOLD: 30,
    }
    field = CONF_TAG if entry.data["api"] == "v0" else CONF_GROUP_ID
    if entry.data["api"] != "v0":
        user_input[CONF_LIVE_UPDATES] = False
    if group is not None:
        user_input[field] = group
    result = await hass.config_entries.options.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def setup_for_tag(hass: HomeAssistant, entry: MockConfigEntry, tag: str) -> None:
    """Set up the 0.x ``entry`` for the servers tagged ``tag``."""
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, options={CONF_TAG: tag})
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


def server_ids(device_registry: dr.DeviceRegistry) -> set[str]:
    """The entry's server devices, by the server-id part of their identifier."""
    return {
        value.removeprefix(f"{ENTRY_ID}_")
        for device in dr.async_entries_for_config_entry(device_registry, ENTRY_ID)
        for domain, value in device.identifiers
        if domain == DOMAIN and value != ENTRY_ID
    }


def group_id(sim: NezhaSimulator, name: str) -> str:
    """A 1.x/2.x group's id, as the options' dropdown gives it."""
    return str({group: gid for gid, group, _ in sim.server_groups()}[name])


async def test_choosing_a_group_removes_the_others_at_the_reload(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """All servers -> "prod": gpu-box (lab) and its entities go with the reload, not later."""
    entry = entry_for(fleet, "v2")
    await setup_entry(hass, entry)
    assert server_ids(device_registry) == {"1", "2", "3"}
    assert entity_registry.async_get(GPU_PING) is not None

    await choose(hass, entry, group_id(fleet, "prod"))
    assert server_ids(device_registry) == {"2", "3"}
    assert entity_registry.async_get(GPU_CPU) is None
    assert entity_registry.async_get(GPU_PING) is None
    assert hass.states.get(GPU_CPU) is None
    assert hass.states.get(VPS_CPU).state == "3.0150753768803"

    # Back to all servers: nothing is left out, gpu-box returns as a new device.
    await choose(hass, entry, None)
    assert server_ids(device_registry) == {"1", "2", "3"}
    assert hass.states.get(GPU_CPU).state == "42.5"


async def test_a_0x_tag_and_another_group_take_effect_too(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """0.x: tag "prod" -> tag "lab" swaps the devices at once."""
    await setup_for_tag(hass, config_entry, "prod")

    def names() -> set[str | None]:
        devices = dr.async_entries_for_config_entry(device_registry, config_entry.entry_id)
        return {device.name for device in devices} - {config_entry.title}

    assert names() == {"vps-hk", "new-node"}
    await choose(hass, config_entry, "lab")
    assert names() == {"gpu-box"}


async def test_without_a_change_a_missing_server_waits_three_polls(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    freezer: FrozenDateTimeFactory,
    device_registry: dr.DeviceRegistry,
) -> None:
    """The group is the same at the next reload: a server that left it goes after three polls."""
    entry = entry_for(fleet, "v2")
    await setup_entry(hass, entry)
    await choose(hass, entry, group_id(fleet, "prod"))
    fleet.set_tag(3, "lab")  # on the dashboard: not the user's choice in Home Assistant
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert server_ids(device_registry) == {"2", "3"}
    assert hass.states.get("sensor.new_node_cpu_usage").state == STATE_UNAVAILABLE
    for _ in range(2):
        await poll(hass, freezer)
    assert server_ids(device_registry) == {"2"}


async def test_an_empty_answer_after_the_change_removes_nothing(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    freezer: FrozenDateTimeFactory,
    device_registry: dr.DeviceRegistry,
) -> None:
    """The new group answers empty (a proxy, a renamed group): nothing goes until it answers."""
    entry = entry_for(fleet, "v2")
    await setup_entry(hass, entry)
    prod = group_id(fleet, "prod")
    fleet.set_tag(2, "lab")
    fleet.set_tag(3, "lab")
    await choose(hass, entry, prod)
    assert server_ids(device_registry) == {"1", "2", "3"}
    assert hass.states.get(GPU_CPU).state == STATE_UNAVAILABLE

    fleet.set_tag(2, "prod")
    await poll(hass, freezer)
    assert server_ids(device_registry) == {"2"}
