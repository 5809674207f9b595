"""Live updates over a 1.x/2.x dashboard's websocket, against the simulator's stream.

The stream task lives as long as the entry: these tests never wait for background tasks (that
would wait for ever); they wait for what they need to see, with a deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
import logging

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import EVENT_STATE_CHANGED, STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.nezha import live
from custom_components.nezha.api import stream
from custom_components.nezha.const import CONF_GROUP_ID, CONF_GROUP_NAME
from nezha_simulator import NezhaSimulator

from .conftest import setup_entry
from .test_generations import ENTRY_ID, entry_for

FRAME_INTERVAL = 0.05
ONLINE = "binary_sensor.vps_hk_online"
CPU = "sensor.gpu_box_cpu_usage"
WS_PATH = "/api/v1/ws/server"


async def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Let the event loop run until ``condition()`` holds; fail after ``seconds``.

    Polled: the conditions are states and counters of HA and the simulator, which signal nothing.
    """
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


def stream_attempts(sim: NezhaSimulator) -> int:
    """How many times the stream was asked for."""
    return sum(1 for request in sim.requests if request.path_qs.startswith(WS_PATH))


@pytest.fixture(autouse=True)
def quick_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short stall and reconnect times, so failures show in a fraction of a second."""
    monkeypatch.setattr(stream, "STALL_TIMEOUT", 0.5)
    monkeypatch.setattr(live, "RECONNECT_MIN", 0.05)


@pytest.fixture
def streaming(fleet: NezhaSimulator) -> NezhaSimulator:
    """The test fleet, streaming a frame every 50 ms."""
    fleet.frame_interval = FRAME_INTERVAL
    return fleet


async def start_live(hass: HomeAssistant, entry: MockConfigEntry) -> live.NezhaLiveUpdates:
    """Set the entry up and wait for its first frame."""
    await setup_entry(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    updates = entry.runtime_data.live
    assert updates is not None
    await wait_for(lambda: updates.state.connected_since is not None)
    return updates


async def test_offline_and_back_by_frames_alone(
    hass: HomeAssistant, streaming: NezhaSimulator
) -> None:
    """A server that stops reporting turns offline with the first frame past the threshold, and
    back on with the first frame after it reports again; no HA timer runs meanwhile."""
    entry = entry_for(streaming, "v2", live_updates=True)
    updates = await start_live(hass, entry)
    assert entry.runtime_data.servers.update_interval == timedelta(minutes=5)
    assert hass.states.get(ONLINE).state == STATE_ON
    assert hass.states.get("sensor.nezha_test_dashboard_servers_online").state == "2"
    rest_reads = len(streaming.requests) - stream_attempts(streaming)

    streaming.take_offline(2)
    streaming.advance(31)  # the dashboard's clock, past the 30 s threshold
    await wait_for(lambda: hass.states.get(ONLINE).state == STATE_OFF)
    assert hass.states.get("sensor.nezha_test_dashboard_servers_online").state == "1"
    assert hass.states.get("sensor.vps_hk_cpu_usage").state == STATE_UNAVAILABLE

    streaming.bring_online(2)
    await wait_for(lambda: hass.states.get(ONLINE).state == STATE_ON)
    assert hass.states.get("sensor.nezha_test_dashboard_servers_online").state == "2"
    assert len(streaming.requests) - stream_attempts(streaming) == rest_reads  # frames only
    assert updates.state.frames_received > 2


async def test_login_entries_stream_too(hass: HomeAssistant, streaming: NezhaSimulator) -> None:
    """A 1.x login streams with its JWT, like its REST calls."""
    entry = entry_for(streaming, "v1", live_updates=True)
    await start_live(hass, entry)
    streaming.set_status(1, cpu=77.0)
    streaming.take_offline(2)
    streaming.advance(31)
    await wait_for(lambda: hass.states.get(ONLINE).state == STATE_OFF)


async def test_metrics_written_once_per_scan_interval(
    hass: HomeAssistant, streaming: NezhaSimulator
) -> None:
    """A metric changing every frame is written at most once per scan_interval, with the latest
    value, by the first frame after the window; an online change is written at once."""
    window = 3.0
    entry = entry_for(streaming, "v2", live_updates=True, scan_interval=window)
    updates = await start_live(hass, entry)
    loop = asyncio.get_running_loop()
    cpu_writes: list[str] = []
    cpu_written_at: list[float] = []
    online_writes: list[str] = []

    @callback
    def record(event: Event) -> None:
        entity_id = event.data["entity_id"]
        if entity_id == CPU:
            cpu_writes.append(event.data["new_state"].state)
            cpu_written_at.append(event.time_fired_timestamp)
        elif entity_id == ONLINE:
            online_writes.append(event.data["new_state"].state)

    async def frames(count: int) -> None:
        seen = updates.state.frames_received
        await wait_for(lambda: updates.state.frames_received >= seen + count)

    hass.bus.async_listen(EVENT_STATE_CHANGED, record)
    streaming.set_status(1, cpu=50.0)
    await wait_for(lambda: cpu_writes == ["50.0"])
    written = loop.time()  # a little after the write: the checks inside the window are safe
    for value in (51.0, 52.0, 53.0):
        streaming.set_status(1, cpu=value)
        await frames(2)
    streaming.take_offline(2)
    streaming.advance(31)
    await wait_for(lambda: online_writes == [STATE_OFF])  # at once, inside the window
    assert loop.time() - written < window, "too slow a machine for this test's window"
    assert cpu_writes == ["50.0"]  # the changes inside the window are held back

    await wait_for(lambda: cpu_writes == ["50.0", "53.0"])  # the latest value, once
    assert cpu_written_at[1] - cpu_written_at[0] >= window - 0.01  # both on HA's clock
    await frames(10)
    assert cpu_writes == ["50.0", "53.0"]  # nothing changed since: nothing written


async def test_servers_outside_the_list_are_ignored(
    hass: HomeAssistant, streaming: NezhaSimulator, entity_registry: er.EntityRegistry
) -> None:
    """Frames carry every visible server; only those of the chosen group's list are updated."""
    group = streaming.add_group("lab")  # gpu-box only
    entry = entry_for(
        streaming, "v2", live_updates=True, **{CONF_GROUP_ID: group, CONF_GROUP_NAME: "lab"}
    )
    updates = await start_live(hass, entry)
    streaming.take_offline(2)
    streaming.set_status(2, cpu=99.0)
    streaming.advance(31)
    frames = updates.state.frames_received
    await wait_for(lambda: updates.state.frames_received >= frames + 3)
    assert set(entry.runtime_data.servers.data.servers) == {1}
    assert (
        entity_registry.async_get_entity_id("binary_sensor", "nezha", f"{ENTRY_ID}_2_online")
        is None
    )
    assert hass.states.get(ONLINE) is None


async def test_a_members_stream_updates_only_its_own_servers(
    hass: HomeAssistant, streaming: NezhaSimulator
) -> None:
    """2.x: a member's stream also carries other users' public servers; the entry has only the
    member's own (its server list), and the others' frames change nothing."""
    member = streaming.add_user("bob", "bob-password-1")
    streaming.add_server("bob-box", owner_id=member.id)
    entry = MockConfigEntry(
        domain="nezha",
        title="Nezha test dashboard",
        entry_id=ENTRY_ID,
        data={
            "url": streaming.url,
            "verify_ssl": True,
            "api": "v2",
            "username": "bob",
            "password": "bob-password-1",
        },
    )
    streaming.generation = "v2"
    updates = await start_live(hass, entry)
    coordinator = entry.runtime_data.servers
    assert set(coordinator.data.servers) == {4}
    assert hass.states.get("binary_sensor.bob_box_online").state == STATE_ON
    streaming.take_offline(2)
    streaming.advance(31)
    frames = updates.state.frames_received
    await wait_for(lambda: updates.state.frames_received >= frames + 3)
    assert set(coordinator.data.servers) == {4}
    assert coordinator.data.online == {4}
    assert hass.states.get(ONLINE) is None


async def test_drop_polls_then_reconnects(
    hass: HomeAssistant, streaming: NezhaSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A dropped stream: one INFO line, a REST read at once, polling meanwhile, and the stream
    back by itself, with one INFO line again."""
    caplog.set_level(logging.INFO, logger="custom_components.nezha")
    entry = entry_for(streaming, "v2", live_updates=True)
    updates = await start_live(hass, entry)
    coordinator = entry.runtime_data.servers
    server_reads = sum(1 for r in streaming.requests if r.path_qs.startswith("/api/v1/server"))

    streaming.drop_streams()
    await wait_for(lambda: updates.state.reconnects == 1)
    await wait_for(lambda: updates.state.connected_since is not None)
    assert coordinator.live
    assert (
        sum(1 for r in streaming.requests if r.path_qs.startswith("/api/v1/server")) > server_reads
    )
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("custom_components")]
    assert sum(" stopped (" in m for m in messages) == 1
    assert messages.count("Live updates from Nezha test dashboard are back") == 1
    assert not [r for r in caplog.records if r.exc_info]


async def test_stall_falls_back_to_polling(hass: HomeAssistant, streaming: NezhaSimulator) -> None:
    """No frame for the stall time: the stream is dead; the list is polled every scan_interval
    until frames come again."""
    entry = entry_for(streaming, "v2", live_updates=True, scan_interval=1)
    updates = await start_live(hass, entry)
    coordinator = entry.runtime_data.servers

    streaming.stall_streams()
    await wait_for(lambda: updates.state.connected_since is None)
    assert updates.state.last_error == "no frame for 0.5 s"
    assert coordinator.update_interval == timedelta(seconds=1)
    streaming.set_status(1, cpu=12.0)
    await wait_for(lambda: hass.states.get(CPU).state == "12.0")  # by polling

    streaming.stall_streams(False)
    await wait_for(lambda: updates.state.connected_since is not None)
    assert coordinator.live
    assert coordinator.update_interval == timedelta(minutes=5)


async def test_refused_upgrade_is_classified_by_one_rest_read(
    hass: HomeAssistant, streaming: NezhaSimulator
) -> None:
    """A proxy that refuses the upgrade: the REST list still works, so the stream is tried again
    later, with growing pauses, while the list is polled."""
    entry = entry_for(streaming, "v2", live_updates=True)
    streaming.fail_next(3, path=WS_PATH)
    updates = await start_live(hass, entry)
    assert updates.state.reconnects == 3
    assert entry.state is ConfigEntryState.LOADED


async def test_revoked_token_mid_stream_starts_reauth_once(
    hass: HomeAssistant, streaming: NezhaSimulator
) -> None:
    """The dashboard closes a revoked PAT's stream; one REST read is refused (401), reauth starts,
    and nothing more is sent: no reconnect loop."""
    entry = entry_for(streaming, "v2", live_updates=True)
    updates = await start_live(hass, entry)
    token = entry.data["api_token"]
    streaming.revoke_pat(token)
    await wait_for(lambda: updates._task is not None and updates._task.done())
    flows = hass.config_entries.flow.async_progress_by_handler("nezha")
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    sent = len(streaming.requests)
    await asyncio.sleep(0.5)
    assert len(streaming.requests) == sent
    assert streaming.open_streams == 0


async def test_stale_session_logs_in_again(hass: HomeAssistant, streaming: NezhaSimulator) -> None:
    """2.x: a revoked session's JWT gets the 403 page on the upgrade; the REST read logs in again
    and the stream comes back with the new JWT, without bothering the user."""
    entry = entry_for(streaming, "v2", live_updates=True, login=True)
    updates = await start_live(hass, entry)
    streaming.revoke_sessions()
    streaming.drop_streams()
    await wait_for(lambda: updates.state.reconnects >= 1)
    await wait_for(lambda: updates.state.connected_since is not None)
    assert not hass.config_entries.flow.async_progress_by_handler("nezha")


async def test_unload_leaves_nothing_running(
    hass: HomeAssistant, streaming: NezhaSimulator
) -> None:
    """Unload closes the stream at once (the dashboard never answers the close) and no task stays."""
    entry = entry_for(streaming, "v2", live_updates=True)
    await start_live(hass, entry)
    assert streaming.open_streams == 1
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert loop.time() - started < 1.5
    await wait_for(lambda: streaming.open_streams == 0)
    assert not [t for t in asyncio.all_tasks() if "nezha live" in t.get_name()]


async def test_live_updates_off(hass: HomeAssistant, streaming: NezhaSimulator) -> None:
    """The option off: the entry polls, as 0.x entries always do."""
    entry = entry_for(streaming, "v2", live_updates=False)
    await setup_entry(hass, entry)
    assert entry.runtime_data.live is None
    assert stream_attempts(streaming) == 0
    v0 = entry_for(streaming, "v0")
    assert v0.options.get("live_updates") is False


async def test_diagnostics_show_the_stream(
    hass: HomeAssistant, streaming: NezhaSimulator, hass_client: ClientSessionGenerator
) -> None:
    """Diagnostics say whether the stream is up, since when, frames and reconnects; no secret."""
    entry = entry_for(streaming, "v2", live_updates=True)
    await start_live(hass, entry)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    state = diagnostics["live"]
    assert state["connected"] is True
    assert state["frames_received"] >= 1
    assert state["reconnects"] == 0
    assert entry.data["api_token"] not in str(diagnostics)


def test_reconnect_delay_doubles_up_to_five_minutes(monkeypatch: pytest.MonkeyPatch) -> None:
    """1 s, 2 s, 4 s … capped at 300 s, each within ±20 %."""
    monkeypatch.setattr(live, "RECONNECT_MIN", 1.0)
    for attempt, base in ((0, 1), (1, 2), (2, 4), (8, 256), (9, 300), (30, 300)):
        delay = live.reconnect_delay(attempt)
        assert 0.8 * base <= delay <= 1.2 * base
