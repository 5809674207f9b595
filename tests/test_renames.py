"""Monitors and alert rules renamed on the dashboard rename their entities at the next poll.

The ``world`` of test_services.py as a 2.x dashboard: ping monitor "Ping 1.1.1.1" (a latency and
a reachable sensor per server, and its service entities on the dashboard device) and the alert
rule "Monthly 1 TiB" (traffic-cycle sensors). Entity IDs and unique IDs stay as they were.
"""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest

from nezha_simulator import NezhaSimulator

from .conftest import poll, setup_entry
from .test_services import ALL_SCOPES, USAGE, entry_for, world

__all__ = ["world"]  # fixture used here

LATENCY = "sensor.vps_hk_ping_1_1_1_1_latency"
REACHABLE = "binary_sensor.vps_hk_ping_1_1_1_1_reachable"
SERVICE_UP = "binary_sensor.nezha_test_dashboard_ping_1_1_1_1_status"


def names(hass: HomeAssistant, registry: er.EntityRegistry, *entity_ids: str) -> list[str]:
    """Each entity's friendly name, after checking its registry entry names it the same way."""
    result = []
    for entity_id in entity_ids:
        state = hass.states.get(entity_id)
        assert state is not None, entity_id
        entry = registry.async_get(entity_id)
        assert entry is not None
        assert state.attributes["friendly_name"].endswith(entry.original_name or "")
        result.append(state.attributes["friendly_name"])
    return result


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_renamed_monitor_and_rule_rename_their_entities(
    hass: HomeAssistant,
    world: NezhaSimulator,
    freezer: FrozenDateTimeFactory,
    entity_registry: er.EntityRegistry,
) -> None:
    """A monitor and an alert rule renamed: new names at the next poll, same entity IDs."""
    await setup_entry(hass, entry_for(world, "v2", scopes=ALL_SCOPES))
    entity_ids = (LATENCY, REACHABLE, SERVICE_UP, USAGE)
    unique_ids = [entity_registry.async_get(e).unique_id for e in entity_ids]  # type: ignore[union-attr]
    before = names(hass, entity_registry, *entity_ids)
    assert all("1.1.1.1" in name or "Monthly 1 TiB" in name for name in before)

    ping = next(m for m in world.monitors.values() if m.name == "Ping 1.1.1.1")
    ping.name = "Ping Cloudflare"
    rule = next(r for r in world.alert_rules.values() if r.name == "Monthly 1 TiB")
    rule.name = "Monthly 2 TiB"
    await poll(hass, freezer, 60)

    after = names(hass, entity_registry, *entity_ids)
    assert after == [
        name.replace("Ping 1.1.1.1", "Ping Cloudflare").replace("Monthly 1 TiB", "Monthly 2 TiB")
        for name in before
    ]
    assert after != before
    assert [entity_registry.async_get(e).unique_id for e in entity_ids] == unique_ids  # type: ignore[union-attr]
