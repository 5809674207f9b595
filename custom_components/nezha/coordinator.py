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
from homeassistant.helpers import issue_registry as ir
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
)
from .dispatch import ServerDispatchCoordinator
from .server_data import ServersData, apply_frame, online_ids, track_presence

if TYPE_CHECKING:
    from .actions_coordinator import NezhaActionsCoordinator
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
    actions: NezhaActionsCoordinator | None = None
    """What the action entities act on (1.x/2.x, option ``actions``); None when off."""


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

    def is_online(self, server: Server) -> bool:
        """Whether the agent reported within the threshold, by the dashboard's clock."""
        return server.id in self.data.online

    @override
    async def _async_update_data(self) -> ServersData:
        snapshot = await self._async_fetch()
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

        servers = snapshot.servers
        online = online_ids(servers, dashboard_time, self.online_threshold)
        previous_online = previous.online if previous else frozenset()
        absent, gone = track_presence(previous_absent, previous_servers.keys(), servers.keys())
        # What the entities must look at: servers whose data or online state changed, and those
        # that left the poll or the registry.
        changed = {
            server_id
            for server_id, server in servers.items()
            if previous_servers.get(server_id) != server
            or (server_id in online) != (server_id in previous_online)
        }
        changed.update(previous_servers.keys() - servers.keys(), gone)
        self._told.update(dict.fromkeys(changed, dt_util.utcnow()))
        async_remove_server_devices(self.hass, self.config_entry, gone)
        async_remember_group(self.hass, self.config_entry, self.group)
        async_sync_server_devices(self.hass, self.config_entry, servers, previous_servers, changed)
        self._set_changed(changed)
        return ServersData(
            servers=servers, absent=absent, dashboard_time=dashboard_time, online=online
        )

    async def _async_fetch(self) -> ServersSnapshot:
        """The dashboard's answer, its errors in HA's terms.

        A failed read is retried after ``scan_interval`` even while the stream is up; a good one
        is repeated after ``SERVER_LIST_REFRESH`` while it is.
        """
        self.update_interval = self._poll_interval
        try:
            snapshot = await self.client.async_get_servers(self.group)
        except NezhaAuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="auth_failed"
            ) from err
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

    @property
    def poll_interval(self) -> timedelta:
        """How often the list is read while no stream feeds the coordinator (``scan_interval``)."""
        return self._poll_interval or timedelta(seconds=DEFAULT_SCAN_INTERVAL)

    @callback
    def async_set_live(self, live: bool) -> None:
        """The stream is up (the list is read every few minutes) or down (polled again)."""
        self.live = live
        if live:
            # Replace the poll already scheduled: its changes would be told outside the window.
            self.update_interval = SERVER_LIST_REFRESH
            self._schedule_refresh()
        else:
            self.update_interval = self._poll_interval

    @callback
    def async_apply_frame(self, frame: StreamFrame) -> None:
        """Take one frame of the live stream (see ``server_data.apply_frame``)."""
        data = self.data
        if data is None or not self.last_update_success:
            return  # the list failed: wait for it to say which servers are ours
        self.data, tell = apply_frame(
            data,
            frame,
            self._listed,
            self._told,
            now=dt_util.utcnow(),
            window=self.poll_interval,
            threshold=self.online_threshold,
        )
        if tell:
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
