"""The entry's runtime data and the coordinator of the dashboard's servers (monitors: monitors.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
import logging
from typing import TYPE_CHECKING, Any, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    CONF_API_TOKEN,
    CONF_PASSWORD,
    CONF_URL,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryError
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.util import dt as dt_util

from .api import (
    API_V0,
    Login,
    NezhaAuthError,
    NezhaBlockedError,
    NezhaClient,
    NezhaConnectionError,
    NezhaError,
    NezhaPermissionError,
    NezhaRealIpHeaderError,
    NezhaUnsupportedVersionError,
    Server,
    ServersSnapshot,
    StreamFrame,
    create_client,
)
from .const import (
    CONF_API,
    CONF_GROUP_ID,
    CONF_GROUP_NAME,
    CONF_ONLINE_THRESHOLD,
    CONF_SCAN_INTERVAL,
    CONF_TAG,
    DEFAULT_ONLINE_THRESHOLD,
    DEFAULT_SCAN_INTERVAL,
    DOMAIN,
    SERVER_LIST_REFRESH,
    STALE_AFTER_POLLS,
)
from .devices import (
    async_registered_server_ids,
    async_remember_group,
    async_remove_server_devices,
    async_sync_server_devices,
    group_changed,
    server_id_from_identifier,
)
from .dispatch import ServerDispatchCoordinator
from .flow_common import auth_failed
from .server_data import ServersData, apply_frame, apply_list, track_presence

if TYPE_CHECKING:
    from .live import NezhaLiveUpdates
    from .monitors import NezhaMonitorCoordinator
    from .services import NezhaServicesCoordinator

_LOGGER = logging.getLogger(__name__)

ISSUE_DASHBOARD_UPGRADED = "dashboard_upgraded"
ISSUE_TAG_NOT_FOUND = "tag_not_found"
ISSUE_NO_SERVERS = "no_servers"
ISSUE_MISSING_SCOPE = "missing_scope"
ISSUE_KINDS = (
    ISSUE_DASHBOARD_UPGRADED,
    ISSUE_TAG_NOT_FOUND,
    ISSUE_NO_SERVERS,
    ISSUE_MISSING_SCOPE,
)


@callback
def async_reported_server_ids(hass: HomeAssistant, entry: NezhaConfigEntry) -> set[int]:
    """The servers whose agent reported in an earlier run: their device has its host's details.

    So a dashboard restarting while Home Assistant does is still told from a new agent.
    """
    return {
        server_id
        for device in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
        if device.model or device.sw_version
        for identifier in device.identifiers
        if (server_id := server_id_from_identifier(entry, identifier)) is not None
    }


@dataclass(slots=True)
class NezhaRuntimeData:
    """Everything a loaded entry holds."""

    client: NezhaClient
    servers: NezhaServerCoordinator
    monitors: NezhaMonitorCoordinator | None
    dashboard_device_id: str
    live: NezhaLiveUpdates | None = None
    """The dashboard's live stream (1.x/2.x, unless turned off in the options)."""
    services: NezhaServicesCoordinator | None = None
    """``/service`` (1.x/2.x): availability and traffic cycles; None on 0.x or when turned off."""


type NezhaConfigEntry = ConfigEntry[NezhaRuntimeData]


def issue_id(kind: str, entry: NezhaConfigEntry) -> str:
    """A repair issue's id, one per kind and entry."""
    return f"{kind}_{entry.entry_id}"


def entry_credential(data: Mapping[str, Any]) -> str | Login:
    """The credential in an entry's data: an API or access token, else a login."""
    if token := data.get(CONF_API_TOKEN):
        return str(token)
    return Login(data[CONF_USERNAME], data[CONF_PASSWORD])


def client_for_entry(hass: HomeAssistant, entry: NezhaConfigEntry) -> NezhaClient:
    """The dashboard client for an entry, on HA's shared session."""
    session = async_get_clientsession(hass, verify_ssl=entry.data[CONF_VERIFY_SSL])
    return create_client(
        entry.data[CONF_API], session, entry.data[CONF_URL], entry_credential(entry.data)
    )


def entry_group(entry: NezhaConfigEntry) -> tuple[str | int | None, str]:
    """The server group an entry shows: the client's key for it and its name (None: all servers).

    0.x groups are tags (the name is the key); 1.x/2.x groups have ids, stored with their name.
    """
    if entry.data[CONF_API] == API_V0:
        tag: str = entry.options.get(CONF_TAG) or ""
        return (tag or None), tag
    group_id = entry.options.get(CONF_GROUP_ID)
    return group_id, entry.options.get(CONF_GROUP_NAME) or str(group_id or "")


def update_failed(err: NezhaError) -> UpdateFailed:
    """A translated UpdateFailed for an error worth retrying (the dashboard may come back)."""
    placeholders = {"error": str(err)}
    if isinstance(err, NezhaConnectionError):
        return UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders=placeholders,
        )
    if isinstance(err, NezhaBlockedError):
        return UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="blocked",
            translation_placeholders=placeholders,
        )
    if isinstance(err, NezhaRealIpHeaderError):
        return UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="real_ip_header",
            translation_placeholders=placeholders,
        )
    return UpdateFailed(
        translation_domain=DOMAIN,
        translation_key="invalid_response",
        translation_placeholders=placeholders,
    )


class NezhaServerCoordinator(ServerDispatchCoordinator[ServersData]):
    """Polls the server list: every server in scope with its live status, in one request.

    While a live stream feeds it (``async_apply_frame``), the list is still read every
    ``SERVER_LIST_REFRESH``: it decides which servers the entry has.
    """

    config_entry: NezhaConfigEntry

    def __init__(self, hass: HomeAssistant, entry: NezhaConfigEntry, client: NezhaClient) -> None:
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
        self._last_frame_at: datetime | None = None
        """When (HA's clock) the last frame was applied: a failed list read soon after it is held."""

    @override
    async def _async_setup(self) -> None:
        """Track devices left from an earlier run, so servers deleted meanwhile are removed too.

        After the user chose another server group, the first answer without a server removes it
        (the user asked for it), and the issues about the old choice go.
        """
        missed = 0
        if group_changed(self.config_entry, self.group):
            for kind in (ISSUE_TAG_NOT_FOUND, ISSUE_NO_SERVERS):
                ir.async_delete_issue(self.hass, DOMAIN, issue_id(kind, self.config_entry))
            if self.group is not None:  # all servers instead of a group leaves none out
                missed = STALE_AFTER_POLLS - 1
        self._registry_absent = dict.fromkeys(
            async_registered_server_ids(self.hass, self.config_entry), missed
        )
        self._reported = async_reported_server_ids(self.hass, self.config_entry)

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
            _LOGGER.debug(
                "%s: the server list failed after a frame: %s", self.config_entry.title, err
            )
            self._set_changed(())
            return self.data
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
        for kind in (ISSUE_TAG_NOT_FOUND, ISSUE_NO_SERVERS):
            ir.async_delete_issue(self.hass, DOMAIN, issue_id(kind, self.config_entry))

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
        async_remove_server_devices(self.hass, self.config_entry, gone)
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
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id(ISSUE_DASHBOARD_UPGRADED, self.config_entry),
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key=ISSUE_DASHBOARD_UPGRADED,
                translation_placeholders={"title": self.config_entry.title},
            )
            raise ConfigEntryError(
                translation_domain=DOMAIN, translation_key="dashboard_upgraded"
            ) from err
        except NezhaError as err:
            raise update_failed(err) from err
        ir.async_delete_issue(
            self.hass, DOMAIN, issue_id(ISSUE_DASHBOARD_UPGRADED, self.config_entry)
        )
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
        if self._list_ok:
            # Replace the poll already scheduled: its changes would be told outside the window.
            self.update_interval = SERVER_LIST_REFRESH
            self._schedule_refresh()

    @callback
    def async_apply_frame(self, frame: StreamFrame) -> None:
        """Take one frame of the live stream (see ``server_data.apply_frame``).

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
        self._last_frame_at = dt_util.utcnow()
        self.data, tell = apply_frame(
            data,
            frame,
            self._listed,
            self._told,
            reported=self._reported,
            frame_clock=self._frame_clock,
            now=dt_util.utcnow(),
            window=self.poll_interval,
            threshold=self.online_threshold,
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
    def _async_raise_empty_issue(self) -> None:
        """The group is gone (a tag is set) or the whole dashboard reports no servers."""
        title = self.config_entry.title
        if self.group:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id(ISSUE_TAG_NOT_FOUND, self.config_entry),
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=ISSUE_TAG_NOT_FOUND,
                translation_placeholders={"tag": self.group_name, "title": title},
            )
        else:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id(ISSUE_NO_SERVERS, self.config_entry),
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=ISSUE_NO_SERVERS,
                translation_placeholders={"title": title},
            )

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
                ir.async_delete_issue(
                    self.hass, DOMAIN, issue_id(ISSUE_NO_SERVERS, self.config_entry)
                )
            self._set_changed((server_id,))
            self.async_update_listeners()
