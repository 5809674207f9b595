"""The live stream's watchdog: ten simulated minutes of a misbehaving dashboard, then the stream.

Driven by the freezer: HA's clock and the event loop's move only when the test ticks them, so
the reconnect pauses (up to five minutes), stalls and request timeouts all happen, in seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
import logging
import time

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from yarl import URL

from custom_components.nezha import live
from custom_components.nezha.diagnostics import async_get_config_entry_diagnostics
from nezha_simulator import NezhaSimulator
from nezha_simulator.access_v1 import WAF_PAGE

from .conftest import first_reads
from .test_generations import entry_for
from .test_live import WS_PATH
from .test_live_failures import JSON, LOGIN_PATH, REAL_IP_MISSING

HANGING = ("/api/v1/server", "/api/v1/service", WS_PATH)
"""Routes that answer later than the client waits in the hanging phase (GETs: a login's POST
would make the simulator log the body it can no longer read)."""


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float = 1.0) -> None:
    """Let ``seconds`` pass on HA's clock, then give the sockets a moment of real time.

    With the freezer the event loop's clock is frozen too: its timers (frames, stall and
    reconnect pauses, request timeouts) fire only here; I/O still runs in real time.
    """
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    loop = asyncio.get_running_loop()
    for _ in range(3):
        await loop.run_in_executor(None, time.sleep, 0.005)


async def test_watchdog_ten_minutes_of_a_misbehaving_dashboard(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """1.x login whose JWT comes due every two minutes: for ten minutes the dashboard drops,
    refuses connections, answers 502, the WAF page, the real-IP error, an SSO page, stalls and
    hangs. Once it behaves, the stream is back within the longest reconnect pause, and
    diagnostics say so, with no traceback logged."""
    caplog.set_level(logging.INFO, logger="custom_components.nezha")
    # Each tick moves the loop's clock a second inside one step: not a slow callback.
    monkeypatch.setattr(asyncio.get_running_loop(), "slow_callback_duration", 3600.0)
    fleet.jwt_lifetime = 120.0  # renewed 108 s after each login
    entry = entry_for(fleet, "v1", live_updates=True)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await first_reads(hass)
    updates = entry.runtime_data.live
    assert updates is not None
    port = URL(fleet.url).port
    for _ in range(5):
        await tick(hass, freezer)
    assert updates.state.connected_since is not None

    many = 10**6

    async def refused() -> None:
        await fleet.stop()

    def each(*faults: Callable[[], object]) -> Callable[[], Awaitable[None]]:
        async def apply() -> None:
            for fault in faults:
                fault()

        return apply

    phases = [  # a minute each
        each(lambda: fleet.fail_next(many), fleet.drop_streams),
        refused,
        each(lambda: fleet.fail_next(many, status=403, body=WAF_PAGE)),
        each(fleet.stall_streams),
        each(lambda: fleet.fail_next(many, body=REAL_IP_MISSING, status=200, content_type=JSON)),
        each(lambda: fleet.fail_next(many, path=LOGIN_PATH), fleet.drop_streams),
        each(lambda: fleet.html_next(many)),
        each(*(lambda path=path: fleet.slow_next(45.0, many, path=path) for path in HANGING)),
        each(lambda: fleet.disconnect_next(many), fleet.drop_streams),
        each(lambda: fleet.fail_next(many, status=502, path=WS_PATH)),
    ]
    for phase in phases:
        await phase()
        for _ in range(60):
            await tick(hass, freezer)
        if phase is refused:
            await fleet.start(port=port)
        fleet.clear_faults()
        fleet.stall_streams(False)

    waited = 0  # the dashboard behaves from here
    while updates.state.connected_since is None or not entry.runtime_data.servers.live:
        await tick(hass, freezer)
        waited += 1
        assert waited <= live.RECONNECT_MAX * 1.2 + 20, "the stream never came back"

    assert entry.state is ConfigEntryState.LOADED
    assert updates.state.reconnects >= 5  # it kept trying all along
    # Called directly: under the freezer, the HTTP server's access log fails on the frozen clock.
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["live"]["connected"] is True
    assert diagnostics["live"]["last_error"] is None
    tracebacks = [r for r in caplog.records if r.exc_info]
    # The simulator may complain of a request whose connection the client dropped (a timeout
    # mid-login); nothing else may carry a traceback, the integration's records least of all.
    assert all(
        r.name == "aiohttp.server" and isinstance(r.exc_info[1], ConnectionError)
        for r in tracebacks
        if r.exc_info
    ), [r.getMessage() for r in tracebacks]
    caplog.clear()  # those complaints are handled here
