"""Coordinators: one polls the dashboard's servers, the other their ping monitors."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
import logging
from typing import override

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_API_TOKEN, CONF_URL, CONF_VERIFY_SSL, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryError
from homeassistant.helpers import device_registry as dr, entity_registry as er, issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .api import (
    Monitor,
    MonitorsSnapshot,
    NezhaAuthError,
    NezhaClient,
    NezhaConnectionError,
    NezhaError,
    NezhaUnsupportedVersionError,
    Server,
    create_client,
)
from .const import (
    CONF_API,
    CONF_MONITOR_INTERVAL,
    CONF_ONLINE_THRESHOLD,
    CONF_SCAN_INTERVAL,
    CONF_TAG,
    DEFAULT_MONITOR_INTERVAL,
    DEFAULT_ONLINE_THRESHOLD,
    DEFAULT_SCAN_INTERVAL,
    DOMAIN,
    MONITOR_CONCURRENCY,
    STALE_AFTER_POLLS,
)
from .devices import server_id_from_identifier, server_identifier, server_model

_LOGGER = logging.getLogger(__name__)

ISSUE_DASHBOARD_UPGRADED = "dashboard_upgraded"
ISSUE_TAG_NOT_FOUND = "tag_not_found"
MONITOR_ENTITY_KEYS: dict[Platform, str] = {
    Platform.SENSOR: "monitor_latency",
    Platform.BINARY_SENSOR: "monitor_reachable",
}
"""The entities each ping monitor has, by platform (their keys are part of the unique id)."""


@dataclass(slots=True)
class NezhaRuntimeData:
    """Everything a loaded entry holds."""

    client: NezhaClient
    servers: NezhaServerCoordinator
    monitors: NezhaMonitorCoordinator | None
    dashboard_device_id: str


type NezhaConfigEntry = ConfigEntry[NezhaRuntimeData]


def issue_id(kind: str, entry: NezhaConfigEntry) -> str:
    """A repair issue's id, one per kind and entry."""
    return f"{kind}_{entry.entry_id}"


def client_for_entry(hass: HomeAssistant, entry: NezhaConfigEntry) -> NezhaClient:
    """The dashboard client for an entry, on HA's shared session."""
    session = async_get_clientsession(hass, verify_ssl=entry.data[CONF_VERIFY_SSL])
    return create_client(
        entry.data[CONF_API], session, entry.data[CONF_URL], entry.data[CONF_API_TOKEN]
    )


def track_presence(
    previous_absent: dict[int, int], previous_ids: set[int], current_ids: set[int]
) -> tuple[dict[int, int], set[int]]:
    """Count consecutive successful polls each known id has been missing from.

    Returns the ids still missing (with their count) and those missing long enough to remove.
    """
    absent: dict[int, int] = {}
    gone: set[int] = set()
    for missing_id in (previous_ids | previous_absent.keys()) - current_ids:
        count = previous_absent.get(missing_id, 0) + 1
        if count >= STALE_AFTER_POLLS:
            gone.add(missing_id)
        else:
            absent[missing_id] = count
    return absent, gone


@dataclass(frozen=True, slots=True)
class ServersData:
    """The servers in scope after a successful poll."""

    servers: dict[int, Server]
    """Servers the dashboard reported in this poll, by id."""
    absent: dict[int, int]
    """Servers we still track that the last polls did not report: id -> polls missing."""
    dashboard_time: datetime
    """The dashboard's clock at this poll (HA's clock when it sent no Date header)."""

    @property
    def tracked_ids(self) -> set[int]:
        """Every server that still has a device."""
        return self.servers.keys() | self.absent.keys()


class NezhaServerCoordinator(DataUpdateCoordinator[ServersData]):
    """Polls the details endpoint: every server in scope with its live status, in one request."""

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
        self.tag: str = entry.options.get(CONF_TAG) or ""
        self.online_threshold = timedelta(
            seconds=entry.options.get(CONF_ONLINE_THRESHOLD, DEFAULT_ONLINE_THRESHOLD)
        )
        self._registry_absent: dict[int, int] = {}

    @override
    async def _async_setup(self) -> None:
        """Track devices left from an earlier run, so servers deleted meanwhile are removed too."""
        device_registry = dr.async_get(self.hass)
        for device in dr.async_entries_for_config_entry(
            device_registry, self.config_entry.entry_id
        ):
            for identifier in device.identifiers:
                if (
                    server_id := server_id_from_identifier(self.config_entry, identifier)
                ) is not None:
                    self._registry_absent[server_id] = 0

    def is_online(self, server: Server) -> bool:
        """Whether the agent reported within the threshold, by the dashboard's clock."""
        if server.last_active is None:
            return False
        return self.data.dashboard_time - server.last_active <= self.online_threshold

    @override
    async def _async_update_data(self) -> ServersData:
        try:
            snapshot = await self.client.async_get_servers(self.tag or None)
        except NezhaAuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="auth_failed"
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
        except NezhaConnectionError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="cannot_connect",
                translation_placeholders={"error": str(err)},
            ) from err
        except NezhaError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="invalid_response",
                translation_placeholders={"error": str(err)},
            ) from err
        ir.async_delete_issue(
            self.hass, DOMAIN, issue_id(ISSUE_DASHBOARD_UPGRADED, self.config_entry)
        )

        previous = self.data if self.data is not None else None
        previous_ids = set(previous.servers) if previous else set()
        previous_absent = previous.absent if previous else self._registry_absent
        dashboard_time = snapshot.dashboard_time or dt_util.utcnow()

        if self.tag and not snapshot.servers:
            # The group was renamed or deleted: say so, and remove nothing.
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id(ISSUE_TAG_NOT_FOUND, self.config_entry),
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=ISSUE_TAG_NOT_FOUND,
                translation_placeholders={"tag": self.tag, "title": self.config_entry.title},
            )
            absent = {server_id: previous_absent.get(server_id, 0) for server_id in previous_ids}
            return ServersData(
                servers={}, absent=previous_absent | absent, dashboard_time=dashboard_time
            )
        ir.async_delete_issue(self.hass, DOMAIN, issue_id(ISSUE_TAG_NOT_FOUND, self.config_entry))

        absent, gone = track_presence(previous_absent, previous_ids, set(snapshot.servers))
        self._async_remove_server_devices(gone)
        self._async_sync_devices(snapshot.servers, previous.servers if previous else {})
        return ServersData(servers=snapshot.servers, absent=absent, dashboard_time=dashboard_time)

    @callback
    def async_forget_server(self, server_id: int) -> None:
        """Stop tracking a gone server whose device the user deleted.

        Its entities are forgotten by the platforms, so they are created anew if it comes back.
        """
        self._registry_absent.pop(server_id, None)
        if self.data is not None and server_id in self.data.absent:
            absent = {key: count for key, count in self.data.absent.items() if key != server_id}
            self.data = replace(self.data, absent=absent)
            self.async_update_listeners()

    @callback
    def _async_remove_server_devices(self, server_ids: set[int]) -> None:
        """Remove the devices (and with them the entities) of servers gone for good."""
        device_registry = dr.async_get(self.hass)
        for server_id in server_ids:
            _LOGGER.debug("Server %s left the dashboard; removing its device", server_id)
            if device := device_registry.async_get_device_by_identifier(
                server_identifier(self.config_entry, server_id), self.config_entry.entry_id
            ):
                device_registry.async_remove_device(device.id)

    @callback
    def _async_sync_devices(self, servers: dict[int, Server], previous: dict[int, Server]) -> None:
        """Carry renames, OS upgrades and agent updates to existing devices."""
        device_registry = dr.async_get(self.hass)
        for server in servers.values():
            old = previous.get(server.id)
            if old is not None and (old.name, old.host) == (server.name, server.host):
                continue
            device = device_registry.async_get_device_by_identifier(
                server_identifier(self.config_entry, server.id), self.config_entry.entry_id
            )
            if device is None:
                continue  # the platforms create it with the server's first entities
            device_registry.async_update_device(
                device.id,
                name=server.name,
                model=server_model(server),
                sw_version=server.host.agent_version,
                hw_version=server.host.arch,
            )


@dataclass(frozen=True, slots=True)
class ServerMonitors:
    """One server's ping monitors after its latest monitor poll."""

    monitors: dict[int, Monitor] = field(default_factory=dict)
    """Monitors the last successful poll of this server reported, by id."""
    absent: dict[int, int] = field(default_factory=dict)
    """Monitors still tracked that the last successful polls did not report: id -> polls missing."""
    dashboard_time: datetime | None = None
    ok: bool = True
    """False when the last poll of this server failed; its monitors then are unavailable."""

    @property
    def tracked_ids(self) -> set[int]:
        """Every monitor that still has entities."""
        return self.monitors.keys() | self.absent.keys()


class NezhaMonitorCoordinator(DataUpdateCoordinator[dict[int, ServerMonitors]]):
    """Polls each server's ping monitors, a few servers at a time."""

    config_entry: NezhaConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: NezhaConfigEntry,
        client: NezhaClient,
        servers: NezhaServerCoordinator,
    ) -> None:
        """Poll every ``monitor_interval`` seconds the servers the server coordinator reports."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} monitors",
            update_interval=timedelta(
                seconds=entry.options.get(CONF_MONITOR_INTERVAL, DEFAULT_MONITOR_INTERVAL)
            ),
        )
        self.client = client
        self.server_coordinator = servers
        self.data = {}  # until the first poll: no monitors rather than None
        self._limit = asyncio.Semaphore(MONITOR_CONCURRENCY)

    @override
    async def _async_update_data(self) -> dict[int, ServerMonitors]:
        server_ids = sorted(self.server_coordinator.data.servers)
        results = await asyncio.gather(*(self._async_fetch(server_id) for server_id in server_ids))
        errors = [result for result in results if isinstance(result, NezhaError)]
        if any(isinstance(error, NezhaAuthError) for error in errors):
            raise ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="auth_failed")
        if errors and len(errors) == len(results):
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="monitors_failed",
                translation_placeholders={"error": str(errors[0])},
            )

        previous = self.data or {}
        data: dict[int, ServerMonitors] = {}
        stale_monitors: list[tuple[int, int]] = []
        for server_id, result in zip(server_ids, results, strict=True):
            before = previous.get(server_id, ServerMonitors())
            if isinstance(result, NezhaError):
                _LOGGER.debug("Monitors of server %s could not be read: %s", server_id, result)
                data[server_id] = ServerMonitors(
                    monitors=before.monitors,
                    absent=before.absent,
                    dashboard_time=before.dashboard_time,
                    ok=False,
                )
                continue
            absent, gone = track_presence(before.absent, set(before.monitors), set(result.monitors))
            stale_monitors.extend((server_id, monitor_id) for monitor_id in gone)
            data[server_id] = ServerMonitors(
                monitors=result.monitors,
                absent=absent,
                dashboard_time=result.dashboard_time or dt_util.utcnow(),
            )
        self._async_remove_monitor_entities(stale_monitors)
        return data

    async def _async_fetch(self, server_id: int) -> MonitorsSnapshot | NezhaError:
        async with self._limit:
            try:
                return await self.client.async_get_monitors(server_id)
            except NezhaError as err:
                return err

    @callback
    def _async_remove_monitor_entities(self, stale: list[tuple[int, int]]) -> None:
        """Remove the entities of monitors gone for good (the server's device stays)."""
        entity_registry = er.async_get(self.hass)
        entry_id = self.config_entry.entry_id
        for server_id, monitor_id in stale:
            _LOGGER.debug("Monitor %s left server %s; removing its entities", monitor_id, server_id)
            for platform, key in MONITOR_ENTITY_KEYS.items():
                unique_id = f"{entry_id}_{server_id}_{monitor_id}_{key}"
                if entity_id := entity_registry.async_get_entity_id(platform, DOMAIN, unique_id):
                    entity_registry.async_remove(entity_id)
