"""Live updates: a 1.x/2.x dashboard's websocket feeds the server coordinator.

The stream (``api/stream.py``) carries every visible server's full state every ~2 s. While it is
up, the coordinator reads the server list only every few minutes; while it is down, it polls the
list every ``scan_interval`` again, and this task reconnects with exponential backoff and jitter
(1 s up to 5 min). A refused upgrade only has an HTTP status: one REST read on the same credential
says what it means. A refused credential there starts reauth, and the stream is not tried again
until the user acts (the entry reloads); a stale 2.x session is replaced by a new login there.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
import logging
import random
from typing import TYPE_CHECKING, Any, Final

from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.util import dt as dt_util

from .api import NezhaAuthError, NezhaStreamError

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from .api import NezhaStreamingClient
    from .coordinator import NezhaConfigEntry, NezhaServerCoordinator

_LOGGER = logging.getLogger(__name__)

RECONNECT_MIN: Final = 1.0
RECONNECT_MAX: Final = 300.0
"""Seconds before a new connection: doubling each time from the first to the last, with jitter
(entries of one HA restarting together, or of many hosts, do not knock at once)."""
STABLE_AFTER: Final = 60.0
"""Seconds a connection must have delivered frames for the next drop to start again at 1 s."""


def reconnect_delay(attempt: int) -> float:
    """Seconds before reconnect ``attempt`` (0 first): 1, 2, 4 … up to 300, each ±20 %."""
    return min(RECONNECT_MIN * 2.0**attempt, RECONNECT_MAX) * random.uniform(0.8, 1.2)


@dataclass(slots=True)
class StreamState:
    """What diagnostics show of the stream (no credential, no address)."""

    connected_since: datetime | None = None
    frames_received: int = 0
    reconnects: int = 0
    last_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """For diagnostics."""
        return {
            "connected": self.connected_since is not None,
            "connected_since": self.connected_since,
            "frames_received": self.frames_received,
            "reconnects": self.reconnects,
            "last_error": self.last_error,
        }


class NezhaLiveUpdates:
    """Keeps one stream open for an entry and hands its frames to the server coordinator."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: NezhaConfigEntry,
        client: NezhaStreamingClient,
        coordinator: NezhaServerCoordinator,
    ) -> None:
        """Nothing runs before ``async_start``."""
        self._hass = hass
        self._entry = entry
        self._client = client
        self._coordinator = coordinator
        self.state = StreamState()
        self._task: asyncio.Task[None] | None = None
        self._down_logged = False

    def async_start(self) -> None:
        """Run the stream in the background until ``async_stop``."""
        self._task = self._entry.async_create_background_task(
            self._hass, self._run(), f"nezha live updates {self._entry.title}"
        )

    async def async_stop(self) -> None:
        """Stop reading and close the connection (within a second, whatever the dashboard does)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task})
        self._coordinator.async_set_live(False)

    async def _run(self) -> None:
        attempt = 0
        while True:
            started = self._hass.loop.time()
            try:
                await self._read()
            except NezhaAuthError:
                await self._coordinator.async_refresh()  # the refusal, through the REST path
                return
            except NezhaStreamError as err:
                self._went_down(err)
                # A REST read now: the fallback poll, and what a refused upgrade means.
                await self._coordinator.async_refresh()
            if self._auth_failed():
                return  # reauth is under way; the entry reloads when the user acts
            if self._hass.loop.time() - started >= STABLE_AFTER:
                attempt = 0
            self.state.reconnects += 1
            await asyncio.sleep(reconnect_delay(attempt))
            attempt += 1

    async def _read(self) -> None:
        """One connection: its frames to the coordinator until it ends or reauth starts."""
        stream = await self._client.async_open_stream()
        try:
            async for frame in stream.frames():
                if self._auth_failed():
                    return  # the list's credential was refused: stop until the user acts
                if self.state.connected_since is None:
                    self._came_up()
                self.state.frames_received += 1
                self._coordinator.async_apply_frame(frame)
        finally:
            await stream.close()

    def _came_up(self) -> None:
        self.state.connected_since = dt_util.utcnow()
        self.state.last_error = None
        self._coordinator.async_set_live(True)
        if self._down_logged:
            self._down_logged = False
            _LOGGER.info("Live updates from %s are back", self._entry.title)

    def _went_down(self, err: Exception) -> None:
        """Poll meanwhile; one log line for the whole outage."""
        self.state.connected_since = None
        self.state.last_error = str(err)
        self._coordinator.async_set_live(False)
        if self._down_logged:
            _LOGGER.debug("Live updates from %s still down: %s", self._entry.title, err)
        else:
            self._down_logged = True
            _LOGGER.info(
                "Live updates from %s stopped (%s); polling every %d s until they are back",
                self._entry.title,
                err,
                self._coordinator.poll_interval.total_seconds(),
            )

    def _auth_failed(self) -> bool:
        """Whether the last REST read started reauth (a refused credential or a missing scope)."""
        return isinstance(self._coordinator.last_exception, ConfigEntryAuthFailed)
