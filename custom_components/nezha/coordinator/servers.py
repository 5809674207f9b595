"""The coordinator of the dashboard's server list (and of the live stream's frames, see live.py)."""

from dataclasses import replace
from datetime import datetime, timedelta
import logging
from typing import override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.util import dt as dt_util

from ..api import (
    NezhaAuthError,
    NezhaClient,
    NezhaError,
    NezhaPermissionError,
    NezhaUnsupportedVersionError,
    Server,
    ServersSnapshot,
    StreamFrame,
)
from ..const import (
    CONF_API,
    CONF_ONLINE_THRESHOLD,
    CONF_SCAN_INTERVAL,
    DEFAULT_ONLINE_THRESHOLD,
    DEFAULT_SCAN_INTERVAL,
    DOMAIN,
    SERVER_LIST_REFRESH,
    STALE_AFTER_POLLS,
)
from ..credentials import auth_failed
from ..registry import (
    async_registered_server_ids,
    async_remember_group,
    async_remove_server_devices,
    async_reported_server_ids,
    async_sync_server_devices,
    group_changed,
)
from ..repair_issues import (
    ISSUE_DASHBOARD_UPGRADED,
    ISSUE_NO_SERVERS,
    ISSUE_TAG_NOT_FOUND,
    async_raise_issue,
    async_withdraw_issues,
)
from ..state import (
    ServersData,
    apply_frame,
    apply_list,
    compare_budget,
    server_changes,
    track_presence,
)
from .base import FieldChanges, ServerDispatchCoordinator, entry_group, update_failed

_LOGGER = logging.getLogger(__name__)


class NezhaServerCoordinator(ServerDispatchCoordinator[ServersData]):
    """Polls the server list: every server in scope with its live status, in one request.

    While a live stream feeds it (``async_apply_frame``), the list is still read every
    ``SERVER_LIST_REFRESH``: it decides which servers the entry has.
    """

    config_entry: ConfigEntry

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, client: NezhaClient) -> None:
        """Poll every ``scan_interval`` seconds."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} servers",
            update_interval=timedelta(
                seconds=entry.options.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL)
            ),
        )
        self.client = client
        self.group, self.group_name = entry_group(entry)
        self.online_threshold = timedelta(
            seconds=entry.options.get(CONF_ONLINE_THRESHOLD, DEFAULT_ONLINE_THRESHOLD)
        )
        self._registry_absent: dict[int, int] = {}
        self._poll_interval = self.update_interval
        self.live = False
        """Whether a live stream feeds this coordinator now."""
        self._listed: dict[int, Server] = {}
        """The servers of the last successful list: the only ones frames may update."""
        self._told: dict[int, datetime] = {}
        """When each server was last compared (and its entities told of any change)."""
        self._reported: set[int] = set()
        """Servers whose agent this entry saw report (seeded from the device registry)."""
        self._frame_clock: dict[int, datetime] = {}
        """The dashboard's clock of the last frame applied to each server, while live."""
        self._list_ok = False
        """Whether the last list read succeeded (frames may make entities available before)."""
        self._list_held_since_frame = False
        """Whether a failed list read is being held (logged once when it starts and ends)."""
        self._last_frame_at: datetime | None = None
        """When (HA's clock) the last frame was applied: a failed list read soon after it is held."""
        self._connection_frame_at: datetime | None = None
        """When this connection's last frame was applied (``None``: none yet, compared whole)."""
        self._notified: ServersData | None = None
        """The data the entities were last told of (what ``_field_changes`` compares with)."""
        self._told_data: ServersData | None = None

    @override
    async def _async_setup(self) -> None:
        """Track devices left from an earlier run, so servers deleted meanwhile are removed too.

        After the user chose another server group, the first answer without a server removes it
        (the user asked for it), and the issues about the old choice go.
        """
        missed = 0
        if group_changed(self.config_entry, self.group):
            async_withdraw_issues(
                self.hass, self.config_entry.entry_id, ISSUE_TAG_NOT_FOUND, ISSUE_NO_SERVERS
            )
            if self.group is not None:  # all servers instead of a group leaves none out
                missed = STALE_AFTER_POLLS - 1
        self._registry_absent = dict.fromkeys(
            async_registered_server_ids(self.hass, self.config_entry.entry_id), missed
        )
        self._reported = async_reported_server_ids(self.hass, self.config_entry.entry_id)

    def is_online(self, server: Server) -> bool | None:
        """Whether the agent reported within the threshold, by the dashboard's clock.

        ``None`` (unknown) for a server never-seen after a dashboard restart when nothing from
        before it is held (Home Assistant started meanwhile), until ``online_threshold`` passed.
        """
        return self.data.is_online(server.id)

    @override
    async def _async_update_data(self) -> ServersData:
        try:
            snapshot = await self._async_fetch()
        except UpdateFailed as err:
            if not self._frames_current():
                raise
            # A frame showed every server moments ago: a failed list read takes nothing away (no
            # unavailable between two frames, none for the seconds a restarting dashboard
            # refuses connections). It is retried every ``scan_interval``.
            if self._list_held_since_frame:
                _LOGGER.debug("%s: the server list still fails: %s", self.config_entry.title, err)
            else:
                self._list_held_since_frame = True
                _LOGGER.info(
                    "The server list of %s can't be read (%s); live updates keep its servers "
                    "current meanwhile, and it is read again every %d s",
                    self.config_entry.title,
                    err,
                    self.poll_interval.total_seconds(),
                )
            self._set_changed(())
            return self.data
        if self._list_held_since_frame:
            self._list_held_since_frame = False
            _LOGGER.info("The server list of %s can be read again", self.config_entry.title)
        previous = self.data
        previous_servers = previous.servers if previous else {}
        previous_absent = previous.absent if previous else self._registry_absent
        dashboard_time = snapshot.dashboard_time or dt_util.utcnow()
        self._listed = snapshot.servers  # frames update these only (none after an empty answer)

        if not snapshot.servers and (self.group or previous_servers or previous_absent):
            # A renamed group, a fresh dashboard behind the same URL, a proxy: one empty answer is
            # no proof that servers were deleted. Say so, and neither count nor remove anything.
            self._async_raise_empty_issue()
            self._set_changed(previous_servers.keys())
            return ServersData(
                servers={},
                absent=previous_absent | dict.fromkeys(previous_servers, 0),
                dashboard_time=dashboard_time,
            )
        async_withdraw_issues(
            self.hass, self.config_entry.entry_id, ISSUE_TAG_NOT_FOUND, ISSUE_NO_SERVERS
        )

        outcome = apply_list(
            previous,
            snapshot.servers,
            dashboard_time,
            reported=self._reported,
            frame_clock=self._frame_clock,
            threshold=self.online_threshold,
        )
        servers = outcome.servers
        absent, gone = track_presence(previous_absent, previous_servers.keys(), servers.keys())
        # What the entities must look at: servers whose data or online state changed, and those
        # that left the poll or the registry.
        changed = outcome.changed | (previous_servers.keys() - servers.keys()) | gone
        self._told.update(dict.fromkeys(changed, dt_util.utcnow()))
        async_remove_server_devices(self.hass, self.config_entry.entry_id, gone)
        async_remember_group(self.hass, self.config_entry, self.group)
        async_sync_server_devices(self.hass, self.config_entry, servers, previous_servers, changed)
        self._set_changed(changed)
        return ServersData(
            servers=servers,
            absent=absent,
            dashboard_time=dashboard_time,
            online=outcome.online,
            offline=outcome.offline,
            waiting=outcome.waiting,
        )

    async def _async_fetch(self) -> ServersSnapshot:
        """The dashboard's answer, its errors in HA's terms.

        A failed read is retried after ``scan_interval`` even while the stream is up; a good one
        is repeated after ``SERVER_LIST_REFRESH`` while it is.
        """
        self.update_interval = self._poll_interval
        self._list_ok = False
        try:
            snapshot = await self.client.async_get_servers(self.group)
        except NezhaAuthError as err:
            raise auth_failed(self.config_entry.data) from err
        except NezhaPermissionError as err:
            # The access token can't list servers: only a token with that scope helps (reauth).
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN,
                translation_key="missing_scope",
                translation_placeholders={"scope": err.scope or "nezha:inventory:read"},
            ) from err
        except NezhaUnsupportedVersionError as err:
            async_raise_issue(
                self.hass, self.config_entry, ISSUE_DASHBOARD_UPGRADED, ir.IssueSeverity.ERROR
            )
            raise ConfigEntryError(
                translation_domain=DOMAIN, translation_key="dashboard_upgraded"
            ) from err
        except NezhaError as err:
            raise update_failed(err) from err
        async_withdraw_issues(self.hass, self.config_entry.entry_id, ISSUE_DASHBOARD_UPGRADED)
        self._list_ok = True
        if self.live:
            self.update_interval = SERVER_LIST_REFRESH
        if self.client.api_version != self.config_entry.data[CONF_API]:
            # A 1.x dashboard upgraded in place to 2.x: same database, same login; remember it.
            _LOGGER.info("%s now answers as Nezha 2.x", self.config_entry.title)
            self.hass.config_entries.async_update_entry(
                self.config_entry,
                data={**self.config_entry.data, CONF_API: self.client.api_version},
            )
        return snapshot

    def _frames_current(self) -> bool:
        """Whether a frame came within ``online_threshold`` (it says more than a failed read)."""
        return (
            self.data is not None
            and self._last_frame_at is not None
            and dt_util.utcnow() - self._last_frame_at < self.online_threshold
        )

    @property
    def auth_refused(self) -> bool:
        """Whether the latest list read was refused for the credential or a scope (reauth is due).

        Read from the latest read alone: HA keeps ``last_exception`` after a recovery.
        """
        return not self.last_update_success and isinstance(
            self.last_exception, ConfigEntryAuthFailed
        )

    @property
    def poll_interval(self) -> timedelta:
        """How often the list is read while no stream feeds the coordinator (``scan_interval``)."""
        return self._poll_interval or timedelta(seconds=DEFAULT_SCAN_INTERVAL)

    @callback
    def async_set_live(self, live: bool) -> None:
        """The stream is up (the list is read every few minutes) or down (polled again).

        A failed list read is retried every ``scan_interval`` whatever the stream does: after a
        dashboard restart the stream is often back before the list answers.
        """
        self.live = live
        if not live:
            self.update_interval = self._poll_interval
            self._frame_clock.clear()  # only the list speaks now
            return
        # A new connection's first frame is compared whole: what happened while it was down
        # (an agent back after a dashboard restart) is written at once, not a window later.
        self._told.clear()
        self._connection_frame_at = None  # no cap on comparisons (``compare_budget``) for it
        if self._list_ok:
            # Replace the poll already scheduled: its changes would be told outside the window.
            self.update_interval = SERVER_LIST_REFRESH
            self._schedule_refresh()

    @callback
    def async_apply_frame(self, frame: StreamFrame) -> None:
        """Take one frame of the live stream (see ``state.apply_frame``).

        Once the entry knows its servers, frames make them available even while the list read
        fails (it is retried meanwhile); not when the dashboard refused the credential.
        """
        data = self.data
        if data is None or (
            not self.last_update_success
            and isinstance(self.last_exception, ConfigEntryAuthFailed | ConfigEntryError)
        ):
            return  # refused now (HA keeps ``last_exception`` after a recovery: not then)
        revived = not self.last_update_success
        now = dt_util.utcnow()
        gap = None if self._connection_frame_at is None else now - self._connection_frame_at
        self._last_frame_at = self._connection_frame_at = now
        self.data, tell = apply_frame(
            data,
            frame,
            self._listed,
            self._told,
            reported=self._reported,
            frame_clock=self._frame_clock,
            now=now,
            window=self.poll_interval,
            threshold=self.online_threshold,
            budget=compare_budget(len(self._listed), gap, self.poll_interval),
        )
        if revived:
            self.last_update_success = True
            self.last_exception = None
            self._set_changed(None)  # every entity is available again
            self.async_update_listeners()
        elif tell:
            self._set_changed(tell)
            self.async_update_listeners()

    @callback
    @override
    def async_update_listeners(self) -> None:
        """Tell the listeners, comparing with the data of the last notification."""
        self._told_data, self._notified = self._notified, self.data
        super().async_update_listeners()

    @override
    def _field_changes(self) -> FieldChanges | None:
        """The fields of each server that changed since the last notification
        (``server_changes``); ``None`` for a server whose state changed: listed or not, online
        or not (so its availability)."""
        before, now = self._told_data, self.data
        if before is None or now is None:
            return None

        def fields(server_id: int) -> frozenset[str] | None:
            old, new = before.servers.get(server_id), now.servers.get(server_id)
            if (
                old is None
                or new is None
                or before.is_online(server_id) != now.is_online(server_id)
            ):
                return None
            return server_changes(old, new)

        return fields

    @callback
    def _async_raise_empty_issue(self) -> None:
        """The group is gone (a tag is set) or the whole dashboard reports no servers."""
        if self.group:
            async_raise_issue(
                self.hass, self.config_entry, ISSUE_TAG_NOT_FOUND, tag=self.group_name
            )
        else:
            async_raise_issue(self.hass, self.config_entry, ISSUE_NO_SERVERS)

    @callback
    def async_forget_server(self, server_id: int) -> None:
        """Stop tracking a gone server whose device the user deleted.

        Its entities are forgotten by the platforms, so they are created anew if it comes back.
        The last one deleted of a dashboard that reports none ends the "no servers" issue.
        """
        self._registry_absent.pop(server_id, None)
        if self.data is not None and server_id in self.data.absent:
            absent = {key: count for key, count in self.data.absent.items() if key != server_id}
            self.data = replace(self.data, absent=absent)
            if not self.data.tracked_ids:
                async_withdraw_issues(self.hass, self.config_entry.entry_id, ISSUE_NO_SERVERS)
            self._set_changed((server_id,))
            self.async_update_listeners()
