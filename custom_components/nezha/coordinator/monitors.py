"""The coordinator of the servers' ping monitors (one request per online server)."""

import asyncio
from collections.abc import Iterable
from dataclasses import replace
import logging
from typing import override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.util import dt as dt_util

from ..api import (
    MonitorsSnapshot,
    NezhaAuthError,
    NezhaClient,
    NezhaError,
    NezhaPermissionError,
)
from ..const import DOMAIN, SERVICE_SCOPE
from ..credentials import auth_failed
from ..registry import async_remove_monitor_entities
from ..repair_issues import ISSUE_MISSING_SCOPE, async_raise_issue, async_withdraw_issues
from ..state import ServerMonitors, track_presence
from .base import ServerDispatchCoordinator, monitor_interval
from .servers import NezhaServerCoordinator

_LOGGER = logging.getLogger(__name__)


class NezhaMonitorCoordinator(ServerDispatchCoordinator[dict[int, ServerMonitors]]):
    """Polls the ping monitors of each online server (the client bounds how many at once)."""

    config_entry: ConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: NezhaClient,
        servers: NezhaServerCoordinator,
    ) -> None:
        """Poll every ``monitor_interval`` seconds the servers the server coordinator reports."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} monitors",
            update_interval=monitor_interval(entry),
        )
        self.client = client
        self.server_coordinator = servers
        self.data = {}  # until the first poll: no monitors rather than None
        self._failing: set[int] = set()
        """Servers whose monitor endpoint failed last time (logged once, until it recovers)."""

    @override
    async def _async_update_data(self) -> dict[int, ServerMonitors]:
        servers = self.server_coordinator.data
        # An offline or never-seen server measures nothing: its monitors are unavailable and keep
        # their last result for when it returns.
        polled = [server_id for server_id in servers.servers if server_id in servers.online]
        try:
            results = await self._async_fetch_all(polled)
        except NezhaPermissionError as err:
            return self._async_scope_missing(err)
        if results:
            async_withdraw_issues(self.hass, self.config_entry.entry_id, ISSUE_MISSING_SCOPE)
        errors = [result for result in results.values() if isinstance(result, NezhaError)]
        if errors and len(errors) == len(results):
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="monitors_failed",
                translation_placeholders={"error": str(errors[0])},
            )

        previous = self.data
        data: dict[int, ServerMonitors] = {}
        stale_monitors: list[tuple[int, int]] = []
        for server_id in sorted(servers.tracked_ids):
            result = results.get(server_id)
            before = previous.get(server_id)
            if result is None:
                if before is not None:
                    data[server_id] = before
                continue
            before = before or ServerMonitors()
            self._log_change(server_id, result)
            if isinstance(result, NezhaError):
                data[server_id] = replace(before, ok=False)
                continue
            absent, gone = track_presence(before.absent, before.monitors.keys(), result.monitors)
            stale_monitors.extend((server_id, monitor_id) for monitor_id in gone)
            data[server_id] = ServerMonitors(
                monitors=result.monitors,
                absent=absent,
                dashboard_time=result.dashboard_time or dt_util.utcnow(),
            )
        async_remove_monitor_entities(self.hass, self.config_entry.entry_id, stale_monitors)
        self._set_changed(_changed_servers(previous, data))
        return data

    async def _async_fetch_all(
        self, server_ids: Iterable[int]
    ) -> dict[int, MonitorsSnapshot | NezhaError]:
        """Each server's monitors or its error; a refused token or a missing scope stops the round."""
        results: dict[int, MonitorsSnapshot | NezhaError] = {}

        async def fetch(server_id: int) -> None:
            try:
                results[server_id] = await self.client.async_get_monitors(server_id)
            except NezhaAuthError, NezhaPermissionError:
                raise  # never go on asking with a token the dashboard refuses (its WAF bans)
            except NezhaError as err:
                results[server_id] = err

        try:
            async with asyncio.TaskGroup() as group:
                for server_id in server_ids:
                    group.create_task(fetch(server_id))
        except ExceptionGroup as failed:
            if refused := failed.subgroup(NezhaAuthError):
                raise auth_failed(self.config_entry.data) from refused.exceptions[0]
            if denied := failed.subgroup(NezhaPermissionError):
                raise denied.exceptions[0] from None
            raise
        return results

    def _async_scope_missing(self, err: NezhaPermissionError) -> dict[int, ServerMonitors]:
        """The access token may not read monitors: say which scope it lacks, and stop asking.

        Everything else keeps working; a new token (Reconfigure) reloads the entry and tries again.
        """
        _LOGGER.info("Ping monitors are skipped: %s", err)
        async_raise_issue(
            self.hass, self.config_entry, ISSUE_MISSING_SCOPE, scope=err.scope or SERVICE_SCOPE
        )
        self.update_interval = None
        self._set_changed(self.data.keys())
        return {}

    def _log_change(self, server_id: int, result: MonitorsSnapshot | NezhaError) -> None:
        """One line when a server's monitor endpoint starts failing, one when it recovers."""
        if isinstance(result, NezhaError):
            if server_id not in self._failing:
                self._failing.add(server_id)
                _LOGGER.info(
                    "The monitors of server %s can't be read; they are unavailable until they"
                    " can: %s",
                    server_id,
                    result,
                )
        elif server_id in self._failing:
            self._failing.discard(server_id)
            _LOGGER.info("The monitors of server %s can be read again", server_id)


def _changed_servers(
    previous: dict[int, ServerMonitors], data: dict[int, ServerMonitors]
) -> set[int]:
    """Servers whose monitor entities may show something else now."""
    changed = {
        server_id
        for server_id, result in data.items()
        if (before := previous.get(server_id)) is None or not result.reads_like(before)
    }
    changed.update(previous.keys() - data.keys())
    return changed
