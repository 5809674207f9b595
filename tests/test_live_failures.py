"""The live stream never dies silently: every failure but a refused credential is retried.

A login entry's JWT comes due at a reconnect and that login fails (HTTP 502, a dropped
connection, the WAF page, the real-IP header error, an SSO page), or something nobody foresaw
is raised: the stream is down, polled around, and back by itself once the dashboard behaves.
"""

from __future__ import annotations

from collections.abc import Callable
import json
import logging
import time
from typing import Any

import aiohttp
from homeassistant.const import EVENT_STATE_CHANGED, STATE_UNAVAILABLE
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
import pytest

from custom_components.nezha import live
from custom_components.nezha.api import NezhaConnectionError, NezhaResponseError, auth
from custom_components.nezha.const import SERVER_LIST_REFRESH
from nezha_simulator import NezhaSimulator
from nezha_simulator.access_v1 import WAF_PAGE

from .test_generations import entry_for
from .test_live import CPU, WS_PATH, quick_stream, start_live, streaming, wait_for

__all__ = ["quick_stream", "streaming"]  # the fixtures of test_live.py, used here too

LOGIN_PATH = "/api/v1/login"
JSON = "application/json; charset=utf-8"
REAL_IP_MISSING = json.dumps({"error": "real ip header not found"})
SCOPE_REFUSED = json.dumps({"error": "ApiErrorForbidden: token lacks scope nezha:inventory:read"})


def fail_login(kind: str) -> Callable[[NezhaSimulator, int], None]:
    """Make the next ``n`` logins fail in one of the ways a dashboard or its proxy fails."""

    def apply(sim: NezhaSimulator, n: int) -> None:
        if kind == "bad_gateway":
            sim.fail_next(n, path=LOGIN_PATH)
        elif kind == "dropped":
            sim.disconnect_next(n, path=LOGIN_PATH)
        elif kind == "waf_page":
            sim.fail_next(n, status=403, body=WAF_PAGE, path=LOGIN_PATH)
        elif kind == "real_ip_header":
            sim.fail_next(n, status=200, body=REAL_IP_MISSING, content_type=JSON, path=LOGIN_PATH)
        else:
            sim.html_next(n, path=LOGIN_PATH)

    return apply


@pytest.mark.parametrize(
    "kind", ["bad_gateway", "dropped", "waf_page", "real_ip_header", "sso_page"]
)
async def test_failed_login_at_a_reconnect_is_retried(
    hass: HomeAssistant,
    streaming: NezhaSimulator,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    """1.x login: the stream drops when the JWT is due, and the login it needs fails a few
    times: the stream stays down meanwhile (polling), then comes back with a new JWT."""
    entry = entry_for(streaming, "v1", live_updates=True)
    updates = await start_live(hass, entry)
    logins = sum(1 for r in streaming.requests if r.path_qs == LOGIN_PATH)
    due = time.monotonic() + 10 * 3600.0  # past any JWT's renewal time
    monkeypatch.setattr(auth, "monotonic", lambda: due)

    fail_login(kind)(streaming, 3)
    streaming.drop_streams()
    await wait_for(lambda: streaming.pending_faults == 0)
    await wait_for(lambda: updates.state.connected_since is not None)
    assert sum(1 for r in streaming.requests if r.path_qs == LOGIN_PATH) >= logins + 4
    assert entry.runtime_data.servers.live
    assert not hass.config_entries.flow.async_progress_by_handler("nezha")


async def test_unexpected_error_is_logged_once_and_retried(
    hass: HomeAssistant,
    streaming: NezhaSimulator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bug on the way to frames ends no task: one traceback, and the stream is tried again."""
    entry = entry_for(streaming, "v2", live_updates=True)
    await start_live(hass, entry)
    updates = entry.runtime_data.live
    assert updates is not None
    client = entry.runtime_data.client
    real_open = client.async_open_stream  # type: ignore[attr-defined]
    failures = 3

    async def open_stream() -> Any:
        nonlocal failures
        if failures:
            failures -= 1
            raise RuntimeError("a bug")
        return await real_open()

    monkeypatch.setattr(client, "async_open_stream", open_stream)
    streaming.drop_streams()
    await wait_for(lambda: failures == 0)
    await wait_for(lambda: updates.state.connected_since is not None)
    tracebacks = [r for r in caplog.records if r.exc_info and r.name.startswith("custom_comp")]
    assert len(tracebacks) == 1
    assert "Unexpected error in the live updates" in tracebacks[0].getMessage()
    assert updates.state.reconnects >= 4
    caplog.clear()  # the traceback this test asked for is handled


async def test_a_recovered_auth_failure_does_not_stop_the_stream(
    hass: HomeAssistant, streaming: NezhaSimulator
) -> None:
    """A list read refused for a missing scope, then a good one: the stream goes on (HA keeps
    the old exception in ``last_exception`` after the recovery), and its frames still count."""
    entry = entry_for(streaming, "v2", live_updates=True, scan_interval=1)
    updates = await start_live(hass, entry)
    coordinator = entry.runtime_data.servers
    streaming.stall_streams()
    streaming.fail_next(1, status=403, body=SCOPE_REFUSED, content_type=JSON, path="/api/v1/server")
    await coordinator.async_refresh()
    assert coordinator.auth_refused
    await coordinator.async_refresh()  # the scope is back
    assert coordinator.last_update_success
    frames = updates.state.frames_received
    streaming.stall_streams(False)
    await wait_for(lambda: updates.state.frames_received >= frames + 3)
    assert updates._task is not None
    assert not updates._task.done()
    streaming.set_status(1, cpu=12.0)  # and the frames still reach the entities
    await wait_for(lambda: hass.states.get(CPU).state == "12.0")


async def test_a_list_failing_while_frames_come_takes_nothing_away(
    hass: HomeAssistant, streaming: NezhaSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """The list read fails again and again while the stream works: no entity turns
    unavailable between two frames (no false "back online"), and the list is retried every
    ``scan_interval`` until it answers."""
    entry = entry_for(streaming, "v2", live_updates=True, scan_interval=1)
    await start_live(hass, entry)
    coordinator = entry.runtime_data.servers
    written: list[str] = []

    @callback
    def record(event: Event[EventStateChangedData]) -> None:
        if (new := event.data["new_state"]) is not None and new.entity_id.startswith(
            ("sensor.", "binary_sensor.")
        ):
            written.append(new.state)

    hass.bus.async_listen(EVENT_STATE_CHANGED, record)
    streaming.fail_next(5, path="/api/v1/server")
    for _ in range(5):
        await coordinator.async_refresh()
        assert coordinator.update_interval == coordinator.poll_interval  # retried soon
    streaming.set_status(1, cpu=12.0)
    await wait_for(lambda: hass.states.get(CPU).state == "12.0")
    assert STATE_UNAVAILABLE not in written
    await coordinator.async_refresh()  # the list answers again: read every few minutes
    assert coordinator.update_interval == SERVER_LIST_REFRESH
    # Said once when it starts failing and once when it is back, nothing in between.
    said = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.INFO and "server list" in r.getMessage()
    ]
    assert len(said) == 2
    assert "can't be read" in said[0]
    assert said[1].endswith("can be read again")


async def test_a_refusal_that_ends_the_stream_leaves_the_entry_polling(
    hass: HomeAssistant, streaming: NezhaSimulator
) -> None:
    """A refused list read ends the stream: the coordinator polls at ``scan_interval`` again
    (not every five minutes) and diagnostics say the stream is down and why."""
    entry = entry_for(streaming, "v2", live_updates=True)
    updates = await start_live(hass, entry)
    coordinator = entry.runtime_data.servers
    streaming.fail_next(1, status=403, body=SCOPE_REFUSED, content_type=JSON, path="/api/v1/server")
    await coordinator.async_refresh()
    await wait_for(lambda: updates._task is not None and updates._task.done())
    assert not coordinator.live
    assert coordinator.update_interval == coordinator.poll_interval
    assert updates.state.as_dict()["connected"] is False
    assert updates.state.last_error == live.CREDENTIAL_REFUSED


async def test_a_refused_list_read_stops_the_stream(
    hass: HomeAssistant, streaming: NezhaSimulator
) -> None:
    """The list read refused for a missing scope while frames come: the stream ends at the next
    frame (reauth is under way) and is not opened again."""
    entry = entry_for(streaming, "v2", live_updates=True)
    updates = await start_live(hass, entry)
    streaming.fail_next(1, status=403, body=SCOPE_REFUSED, content_type=JSON, path="/api/v1/server")
    await entry.runtime_data.servers.async_refresh()
    await wait_for(lambda: updates._task is not None and updates._task.done())
    await wait_for(lambda: streaming.open_streams == 0)
    assert sum(1 for r in streaming.requests if r.path_qs.startswith(WS_PATH)) == 1


def caused(err: Exception, cause: BaseException) -> Exception:
    """``err`` as raised ``from cause``."""
    err.__cause__ = cause
    return err


ADDRESS = "203.0.113.9:8008"


@pytest.mark.parametrize(
    ("err", "text"),
    [
        (
            caused(NezhaConnectionError(f"timed out ({ADDRESS})"), TimeoutError()),
            "the dashboard did not answer in time",
        ),
        (
            caused(NezhaConnectionError(f"to {ADDRESS}"), aiohttp.ServerDisconnectedError()),
            "cannot connect (ServerDisconnectedError)",
        ),
        (NezhaConnectionError("HTTP 502 from a proxy"), "HTTP 502 from a proxy"),
        (NezhaResponseError(f"HTTP 200: the dashboard says {ADDRESS!r}"), "NezhaResponseError"),
        (RuntimeError(ADDRESS), "unexpected error (RuntimeError)"),
    ],
)
def test_failures_are_described_without_what_they_quote(err: Exception, text: str) -> None:
    """What diagnostics and the log say of a failure: its kind, never the address it quotes."""
    assert live.describe(err) == text
