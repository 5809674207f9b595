"""An entity Home Assistant failed to add comes back: the trackers don't count it as added.

The ``world`` of test_services.py as a 2.x dashboard. Adding one entity of each kind that is
added as its data appears (a ping monitor's latency, a traffic cycle's used bytes, a service
monitor's uptime) fails once, as a value Home Assistant can't store would make it; the next poll
that changes what it shows adds it. (Server entities: tests/test_hostile_values.py.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest

from custom_components.nezha.sensor import (
    NezhaCycleSensor,
    NezhaMonitorLatencySensor,
    NezhaServiceSensor,
)
from nezha_simulator import NezhaSimulator

from .conftest import DASHBOARD_NOW, poll, setup_entry
from .test_services import ALL_SCOPES, GIB, USED, entry_for, world

__all__ = ["world"]  # fixture used here


def _new_point(sim: NezhaSimulator) -> None:
    ping = next(m.id for m in sim.monitors.values() if m.name == "Ping 1.1.1.1")
    sim.add_point(ping, 2, 20.0, at=DASHBOARD_NOW)


def _more_traffic(sim: NezhaSimulator) -> None:
    rule = next(r.id for r in sim.alert_rules.values() if r.name == "Monthly 1 TiB")
    sim.set_cycle_transfer(rule, 1, 1000 * GIB)


CASES = [
    pytest.param(
        NezhaMonitorLatencySensor,
        "sensor.vps_hk_ping_1_1_1_1_latency",
        _new_point,
        "20.0",
        id="monitor",
    ),
    pytest.param(NezhaCycleSensor, USED, _more_traffic, "1000.0", id="cycle"),
    pytest.param(
        NezhaServiceSensor,
        "sensor.nezha_test_dashboard_ping_1_1_1_1_uptime_30d",
        lambda _: None,
        "99.66",
        id="service",
    ),
]


@pytest.mark.no_fail_on_log_exception  # the failure this test provokes is logged, as it should be
@pytest.mark.allow_traceback(
    "the add failure this test provokes is logged, as it should be", match="^Error adding entity"
)
@pytest.mark.parametrize(("entity_class", "entity_id", "change", "shown"), CASES)
async def test_entity_that_failed_to_add_comes_back(
    hass: HomeAssistant,
    world: NezhaSimulator,
    freezer: FrozenDateTimeFactory,
    entity_class: type[Any],
    entity_id: str,
    change: Callable[[NezhaSimulator], None],
    shown: str,
) -> None:
    """Adding fails once; after the next poll that concerns it, the entity is there."""
    original = entity_class.async_added_to_hass
    failed: list[str] = []

    async def failing(entity: Any) -> None:
        await original(entity)
        if entity.entity_id == entity_id and not failed:
            failed.append(entity_id)
            raise ValueError("cannot add")

    with patch.object(entity_class, "async_added_to_hass", failing):
        await setup_entry(hass, entry_for(world, "v2", scopes=ALL_SCOPES))
    assert failed == [entity_id]
    assert hass.states.get(entity_id) is None
    change(world)
    await poll(hass, freezer, 60)
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.state[: len(shown)] == shown
