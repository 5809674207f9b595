"""The benchmark's floor (scripts/bench_floor.py): its clones write exactly the poll's states.

``scripts/bench`` prints the integration's changed poll as a multiple of Home Assistant's own cost
for the same writes; that figure means something only if the bare clones write the same states
(value and attributes) as many times, and if the counts it prints count what they say.
"""

from __future__ import annotations

import gc
import importlib.util
from pathlib import Path
import sys
from types import ModuleType

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from nezha_simulator import NezhaSimulator

from .conftest import poll, setup_entry

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "scripts"
PACKAGE = str(REPO / "custom_components" / "nezha")


@pytest.fixture(scope="module")
def bench_floor() -> ModuleType:
    """scripts/bench_floor.py, loaded as the benchmark loads it (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_floor", SCRIPTS / "bench_floor.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_floor"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_gc_meter_takes_a_full_collection_apart(bench_floor: ModuleType) -> None:
    """A collection inside a span is counted and its time is moved out of the span's CPU."""
    meter = bench_floor.GcMeter()
    meter.install()
    try:
        mark = meter.mark()
        gc.collect()
        span = meter.since(mark)
    finally:
        gc.callbacks.remove(meter._callback)
    assert span.full == 1
    assert span.gc > 0
    assert span.cpu >= 0


async def test_floor_clones_write_the_polls_states(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    bench_floor: ModuleType,
) -> None:
    """One changed poll is counted; then each round polls a change and the clones write the
    counted poll's states, once each (the poll's own writes are not the floor's)."""
    await setup_entry(hass, config_entry)
    writes = 0

    @callback
    def count(_: Event) -> None:
        nonlocal writes
        writes += 1

    hass.bus.async_listen(EVENT_STATE_CHANGED, count)

    changes = 0

    async def change() -> None:
        nonlocal changes
        changes += 1
        fleet.set_status(1, report=False, cpu=50 + changes, mem_used=20_000_000_000 + changes)
        fleet.set_status(2, report=False, cpu=changes, load1=1.25 + changes)

    polled_writes: list[int] = []

    async def changed_poll() -> None:
        start = writes
        await poll(hass, freezer)
        polled_writes.append(writes - start)

    meter = bench_floor.GcMeter()
    result = await bench_floor.poll_floor(
        hass,
        config_entry,
        PACKAGE,
        change=change,
        poll=changed_poll,
        writes=lambda: writes,
        rounds=3,
        meter=meter,
    )

    written = result["counted_writes"]
    assert written >= 4  # CPU and memory of server 1, CPU and load of server 2
    assert changes == 4  # the counted poll's change, then one per round
    assert polled_writes == [written] * 4  # every round's poll wrote as the counted one
    assert result["paired_cpu_ms"] > 0
    assert result["floor_same_states"] == written
    assert result["floor_writes"] == written
    assert result["floor_state_per_sensor"] == 1.0  # HA's own write evaluates it once
    assert result["state_per_sensor"] >= 1.0
    assert result["callbacks_per_write"] >= 1.0
    clones = [
        entity
        for entity in er.async_entries_for_config_entry(er.async_get(hass), config_entry.entry_id)
        if entity.unique_id.startswith("floor-")
    ]
    assert len(clones) == written  # one entity of its own per written original, on its device
    originals = {entity.unique_id: entity for entity in er.async_get(hass).entities.values()}
    for clone in clones:
        assert clone.device_id == originals[clone.unique_id.removeprefix("floor-")].device_id
