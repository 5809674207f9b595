"""A change to a big fleet is written over several passes of the event loop (issue 21).

Counted, never timed: which servers' states each pass writes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, HomeAssistant, callback
import pytest

from custom_components.nezha.coordinator import ServerDispatchCoordinator
from custom_components.nezha.coordinator.base import SERVERS_PER_PASS
from nezha_simulator import NezhaSimulator

from .conftest import poll, setup_entry
from .test_generations import entry_for

SERVERS = 2 * SERVERS_PER_PASS + SERVERS_PER_PASS // 2


def cpu_sensors(written: list[str]) -> set[str]:
    """The CPU sensors among written entity ids (one per server)."""
    return {entity_id for entity_id in written if entity_id.endswith("_cpu_usage")}


@pytest.fixture
def big_fleet(simulator: NezhaSimulator) -> NezhaSimulator:
    """Servers for two and a half passes."""
    for number in range(1, SERVERS + 1):
        simulator.add_server(f"node-{number}")
    return simulator


async def test_a_change_to_every_server_is_written_a_few_servers_per_pass(
    hass: HomeAssistant,
    big_fleet: NezhaSimulator,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every server's CPU changes: each pass writes at most ``SERVERS_PER_PASS`` servers' states,
    and together the passes write each server's CPU once."""
    await setup_entry(hass, entry_for(big_fleet, "v0"))
    passes: list[list[str]] = []
    run_pass = ServerDispatchCoordinator._run_pass

    def counted(self: ServerDispatchCoordinator[Any], *args: Any, **kwargs: Any) -> None:
        passes.append([])
        run_pass(self, *args, **kwargs)

    @callback
    def record(event: Event) -> None:
        if passes:
            passes[-1].append(event.data["entity_id"])

    monkeypatch.setattr(ServerDispatchCoordinator, "_run_pass", callback(counted))
    hass.bus.async_listen(EVENT_STATE_CHANGED, record)

    for server_id in range(1, SERVERS + 1):
        big_fleet.set_status(server_id, cpu=50.0 + server_id / 10)
    await poll(hass, freezer)

    written = [cpu_sensors(one) for one in passes]
    assert [len(one) for one in written if one] == [
        SERVERS_PER_PASS,
        SERVERS_PER_PASS,
        SERVERS_PER_PASS // 2,
    ]
    assert set().union(*written) == {f"sensor.node_{n}_cpu_usage" for n in range(1, SERVERS + 1)}
    for n in (1, SERVERS):
        assert hass.states.get(f"sensor.node_{n}_cpu_usage").state == str(50.0 + n / 10)


async def test_passes_left_at_unload_call_nobody(
    hass: HomeAssistant,
    big_fleet: NezhaSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """An entry unloaded while a notification's later passes wait: they find no listener left,
    so nothing is written after the unload began and nothing fails."""
    entry = entry_for(big_fleet, "v0")
    await setup_entry(hass, entry)
    written: list[str] = []

    @callback
    def record(event: Event) -> None:
        if (state := event.data["new_state"]) is not None and state.state == "60.0":
            written.append(event.data["entity_id"])

    hass.bus.async_listen(EVENT_STATE_CHANGED, record)
    for server_id in range(1, SERVERS + 1):
        big_fleet.set_status(server_id, cpu=60.0)
    await entry.runtime_data.servers.async_refresh()  # the first pass, at once
    first = cpu_sensors(written)
    written.clear()

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()

    assert len(first) == SERVERS_PER_PASS
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert not written  # the later passes' servers were never written
    assert all(hass.states.get(entity_id).state == "unavailable" for entity_id in first)


async def test_a_pass_left_for_later_compares_the_data_of_its_own_poll(
    hass: HomeAssistant,
    big_fleet: NezhaSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A poll changes every CPU; before its later passes run, the next poll changes every
    memory figure. The first poll's passes still wake the CPU sensors (what changed in *their*
    poll), so every server ends showing both."""
    entry = entry_for(big_fleet, "v0")
    await setup_entry(hass, entry)
    gate = asyncio.Event()
    run_later = ServerDispatchCoordinator._run_later

    async def held(self: ServerDispatchCoordinator[Any], *args: Any) -> None:
        await gate.wait()
        await run_later(self, *args)

    monkeypatch.setattr(ServerDispatchCoordinator, "_run_later", held)
    servers = entry.runtime_data.servers
    for server_id in range(1, SERVERS + 1):
        big_fleet.set_status(server_id, cpu=71.0)
    await servers.async_refresh()
    for server_id in range(1, SERVERS + 1):
        big_fleet.set_status(server_id, mem_used=3 * 2**30)
    await servers.async_refresh()
    last = f"sensor.node_{SERVERS}_cpu_usage"
    assert hass.states.get(last).state != "71.0"  # its pass waits

    gate.set()
    await hass.async_block_till_done()

    for n in range(1, SERVERS + 1):
        assert hass.states.get(f"sensor.node_{n}_cpu_usage").state == "71.0"
        assert hass.states.get(f"sensor.node_{n}_memory_used").state == "3.0"
