"""The entry's lifecycle around its secondary reads and its stream.

Set-up waits for the server list only: ping monitors and ``/service`` are read in the
background and their entities appear when they answer; unload cancels those reads. A failed
platform unload leaves the entry loaded, with its stream.
"""

from __future__ import annotations

import asyncio
from unittest.mock import AsyncMock, patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from custom_components.nezha.registry import is_service_or_cycle_unique_id
from nezha_simulator import NezhaSimulator

from .conftest import first_reads
from .test_generations import ENTRY_ID, entry_for
from .test_live import quick_stream, start_live, streaming, wait_for

__all__ = ["quick_stream", "streaming"]  # the fixtures of test_live.py, used here too

MONITOR_LATENCY = f"{ENTRY_ID}_1_1_monitor_latency"


def first_read_tasks() -> list[asyncio.Task[object]]:
    """The secondary first reads still running."""
    return [task for task in asyncio.all_tasks() if task.get_name().startswith("nezha first")]


async def test_setup_does_not_wait_for_monitors_or_services(
    hass: HomeAssistant, fleet: NezhaSimulator, entity_registry: er.EntityRegistry
) -> None:
    """Slow monitor and ``/service`` answers: set-up is done without them (servers are there),
    and their entities appear once they arrive."""
    entry = entry_for(fleet, "v2")
    fleet.slow_next(1.0, 10, path="/api/v1/service")
    fleet.slow_next(1.0, 10, path="/api/v1/server/")  # 2.x: a server's monitors
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get("sensor.gpu_box_cpu_usage") is not None
    assert entity_registry.async_get_entity_id("sensor", "nezha", MONITOR_LATENCY) is None
    assert first_read_tasks()
    unique_ids = {e.unique_id for e in er.async_entries_for_config_entry(entity_registry, ENTRY_ID)}
    assert not [u for u in unique_ids if is_service_or_cycle_unique_id(entry.entry_id, u)]

    await first_reads(hass)
    monitor = entity_registry.async_get_entity_id("sensor", "nezha", MONITOR_LATENCY)
    assert monitor is not None
    assert hass.states.get(monitor).state == "13.5"
    unique_ids = {e.unique_id for e in er.async_entries_for_config_entry(entity_registry, ENTRY_ID)}
    assert [u for u in unique_ids if is_service_or_cycle_unique_id(entry.entry_id, u)]


async def test_unload_cancels_the_first_reads(hass: HomeAssistant, fleet: NezhaSimulator) -> None:
    """An entry unloaded while its monitors are still being read leaves nothing running."""
    entry = entry_for(fleet, "v2")
    fleet.slow_next(3.0, 10, path="/api/v1/service")
    fleet.slow_next(3.0, 10, path="/api/v1/server/")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert first_read_tasks()

    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert loop.time() - started < 2
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert not first_read_tasks()
    await wait_for(lambda: fleet.requests_in_flight == 0)  # the dashboard's side of it


async def test_failed_platform_unload_keeps_the_stream(
    hass: HomeAssistant, streaming: NezhaSimulator
) -> None:
    """The platforms refuse to unload: the entry stays loaded, and so does its stream."""
    entry = entry_for(streaming, "v2", live_updates=True)
    updates = await start_live(hass, entry)
    with patch.object(hass.config_entries, "async_unload_platforms", AsyncMock(return_value=False)):
        assert not await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.FAILED_UNLOAD
    assert updates._task is not None
    assert not updates._task.done()
    assert entry.runtime_data.servers.live
    frames = updates.state.frames_received
    await wait_for(lambda: updates.state.frames_received > frames)
    assert streaming.open_streams == 1
