"""States computed from "now" change when their time comes, though no poll changes anything.

The ``world`` of test_services.py: gpu-box's billing renews monthly (auto-renewal rolled it to
2025-11-30 00:00 +08:00), its traffic cycle ends 2025-12-01 00:00 UTC. The dashboard's clock stays
put, so its answers do not change: only Home Assistant's clock moves.
"""

from __future__ import annotations

from datetime import datetime

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from nezha_simulator import NezhaSimulator

from .conftest import poll, setup_entry
from .test_services import ALL_SCOPES, END, entry_for, state, world

__all__ = ["world"]  # fixture used here

EXPIRY = "sensor.gpu_box_billing_expiry"


async def at(hass: HomeAssistant, freezer: FrozenDateTimeFactory, moment: str) -> None:
    """Move Home Assistant's clock to ``moment`` and let what is due run (polls included)."""
    freezer.move_to(datetime.fromisoformat(moment))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_auto_renewed_expiry_rolls_on_when_it_passes(
    hass: HomeAssistant, world: NezhaSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """At the expiry the sensor shows the next one, though the server and its note are unchanged."""
    await setup_entry(hass, entry_for(world, "v2", scopes=ALL_SCOPES))
    assert state(hass, EXPIRY) == "2025-11-29T16:00:00+00:00"
    await at(hass, freezer, "2025-11-29T15:59:59+00:00")
    assert state(hass, EXPIRY) == "2025-11-29T16:00:00+00:00"
    await at(hass, freezer, "2025-11-29T16:00:00+00:00")
    assert state(hass, EXPIRY) == "2025-12-30T16:00:00+00:00"  # 31 December, +08:00
    await at(hass, freezer, "2025-12-30T16:00:01+00:00")
    assert state(hass, EXPIRY) == "2026-01-30T16:00:00+00:00"


async def test_cycle_end_once_passed_is_unknown_until_the_next_is_known(
    hass: HomeAssistant, world: NezhaSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """A cycle's end in the past is no "when the cycle ends": unknown until the dashboard says."""
    await setup_entry(hass, entry_for(world, "v2", scopes=ALL_SCOPES))
    assert state(hass, END) == "2025-12-01T00:00:00+00:00"
    await at(hass, freezer, "2025-12-01T00:00:00+00:00")
    assert state(hass, END) == STATE_UNKNOWN
    world.advance(5 * 86400)  # the dashboard's clock reaches the new cycle too
    await poll(hass, freezer, 60)
    assert state(hass, END) == "2026-01-01T00:00:00+00:00"


async def test_nothing_waits_after_unload(
    hass: HomeAssistant, world: NezhaSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """Unloading the entry cancels the time changes its entities waited for."""
    entry = entry_for(world, "v2", scopes=ALL_SCOPES)
    await setup_entry(hass, entry)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await at(hass, freezer, "2025-12-01T00:00:01+00:00")
    assert state(hass, EXPIRY) == "unavailable"
    assert state(hass, END) == "unavailable"


async def test_expiry_still_rolls_on_after_its_entity_id_changed(
    hass: HomeAssistant, world: NezhaSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """Changing the entity ID re-adds the same entity: it waits for its expiry again."""
    await setup_entry(hass, entry_for(world, "v2", scopes=ALL_SCOPES))
    renamed = "sensor.vps_billing"
    er.async_get(hass).async_update_entity(EXPIRY, new_entity_id=renamed)
    await hass.async_block_till_done()
    assert state(hass, renamed) == "2025-11-29T16:00:00+00:00"

    await at(hass, freezer, "2025-11-29T16:00:00+00:00")

    assert state(hass, renamed) == "2025-12-30T16:00:00+00:00"
