"""Live updates: a 1.x/2.x dashboard's websocket feeds the server coordinator.

The stream (``api/stream.py``) carries every visible server's full state every ~2 s. While it is
up, the coordinator reads the server list only every few minutes; while it is down, it polls the
list every ``scan_interval`` again, and this task reconnects with exponential backoff and jitter
(1 s up to 5 min). Whatever fails on the way to frames (the login a due JWT needs included, and
errors nobody foresaw) counts as down and is retried so: the task never ends by itself but for
one reason. A refused upgrade only has an HTTP status: one REST read on the same credential says
what it means. A refused credential or missing scope there starts reauth, and the stream is not
tried again until the user acts (the entry reloads); a stale 2.x session is replaced by a new
login there. An HTTP 400 with the REST read fine is a proxy that drops the upgrade headers: a
repair issue says how to fix it, until the stream comes up.
"""

import asyncio
from dataclasses import dataclass
from datetime import datetime
import logging
import random
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.util import dt as dt_util

from .api import (
    NezhaAuthError,
    NezhaBlockedError,
    NezhaConnectionError,
    NezhaError,
    NezhaRealIpHeaderError,
    NezhaStreamError,
    NezhaStreamHandshakeError,
    NezhaStreamingClient,
)
from .api.stream import client_error_text
from .coordinator import NezhaServerCoordinator
from .repair_issues import ISSUE_UPGRADE_REFUSED, async_raise_issue, async_withdraw_issues

_LOGGER = logging.getLogger(__name__)

RECONNECT_MIN: Final = 1.0
RECONNECT_MAX: Final = 300.0
"""Seconds before a new connection: doubling each time from the first to the last, with jitter
(entries of one HA restarting together, or of many hosts, do not knock at once)."""
STABLE_AFTER: Final = 60.0
"""Seconds a connection must have delivered frames for the next drop to start again at 1 s."""
CREDENTIAL_REFUSED: Final = "credential refused: waiting for reauthentication"
"""``last_error`` once a refused credential ended the stream (it is not tried until the user acts)."""
UPGRADE_DROPPED_STATUS: Final = 400
"""What the dashboard answers a handshake whose upgrade headers a proxy dropped (a plain GET)."""


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
    """What ended the last connection or attempt (``describe``: no address, no secret)."""
    upgrade_refused: bool = False
    """Whether the repair issue about a proxy refusing the upgrade is raised."""

    def as_dict(self) -> dict[str, Any]:
        """For diagnostics."""
        return {
            "connected": self.connected_since is not None,
            "connected_since": self.connected_since,
            "frames_received": self.frames_received,
            "reconnects": self.reconnects,
            "last_error": self.last_error,
            "upgrade_refused": self.upgrade_refused,
        }


def describe(err: Exception) -> str:
    """A failure in words for diagnostics and the log: its kind, never an address or a secret.

    The stream's own errors are worded so; a connection error of the REST side (the login a due
    JWT needs) quotes aiohttp, which names the host and port, so only its cause's kind is kept.
    Anything else not of ours says its type: its text may quote anything.
    """
    if isinstance(err, NezhaStreamError | NezhaBlockedError | NezhaRealIpHeaderError):
        return str(err)  # worded by us, naming nothing of the user's
    if isinstance(err, NezhaConnectionError):
        cause = err.__cause__
        if cause is None:
            return str(err)  # an HTTP 5xx, in words of our own
        if isinstance(cause, TimeoutError):
            return "the dashboard did not answer in time"
        return f"cannot connect ({client_error_text(cause)})"
    if isinstance(err, NezhaError):
        return type(err).__name__  # an answer of the wrong shape may quote the dashboard
    return f"unexpected error ({type(err).__name__})"


class NezhaLiveUpdates:
    """Keeps one stream open for an entry and hands its frames to the server coordinator."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
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
        self._unexpected_logged = False

    @callback
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
        try:
            await self._run_until_refused()
        finally:
            # Ended by a refused credential (or cancelled by unload): nothing feeds the
            # coordinator any more, so it polls at ``scan_interval`` and diagnostics say why.
            self.state.connected_since = None
            if self._coordinator.auth_refused:
                self.state.last_error = CREDENTIAL_REFUSED
            self._coordinator.async_set_live(False)

    async def _run_until_refused(self) -> None:
        attempt = 0
        while True:
            started = self._hass.loop.time()
            try:
                await self._read()
            except NezhaAuthError:
                # The credential is refused for good: the REST path says so and starts reauth.
                await self._coordinator.async_refresh()
                return
            except Exception as err:  # every other failure is an outage, retried
                self._went_down(err)
                # A REST read now: the fallback poll, and what a refused upgrade means.
                await self._coordinator.async_refresh()
                self._check_upgrade_refused(err)
            if self._coordinator.auth_refused:
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
                if self._coordinator.auth_refused:
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
        # Raised by this run or an earlier one of the entry: the stream works now.
        self.state.upgrade_refused = False
        async_withdraw_issues(self._hass, self._entry.entry_id, ISSUE_UPGRADE_REFUSED)
        if self._down_logged:
            self._down_logged = False
            _LOGGER.info("Live updates from %s are back", self._entry.title)

    def _went_down(self, err: Exception) -> None:
        """Poll meanwhile; one log line for the whole outage, and one traceback ever for a bug."""
        reason = describe(err)
        self.state.connected_since = None
        self.state.last_error = reason
        self._coordinator.async_set_live(False)
        if not isinstance(err, NezhaError) and not self._unexpected_logged:
            self._unexpected_logged = True
            _LOGGER.error(
                "Unexpected error in the live updates from %s; polling meanwhile, and retrying",
                self._entry.title,
                exc_info=err,
            )
        if self._down_logged:
            _LOGGER.debug("Live updates from %s still down: %s", self._entry.title, reason)
        else:
            self._down_logged = True
            _LOGGER.info(
                "Live updates from %s stopped (%s); polling every %d s until they are back",
                self._entry.title,
                reason,
                self._coordinator.poll_interval.total_seconds(),
            )

    def _check_upgrade_refused(self, err: Exception) -> None:
        """HTTP 400 to the upgrade while the REST read works: a proxy drops the upgrade headers.

        Raised once per outage; the stream is still tried (the proxy may be fixed meanwhile).
        """
        if (
            self.state.upgrade_refused
            or not isinstance(err, NezhaStreamHandshakeError)
            or err.status != UPGRADE_DROPPED_STATUS
            or not self._coordinator.last_update_success
        ):
            return
        self.state.upgrade_refused = True
        async_raise_issue(self._hass, self._entry, ISSUE_UPGRADE_REFUSED)
