"""The registries' side: device identity and information, unique ids, and each poll's housekeeping.

One helper per identifier format, each taking the entry id (not the entry): what an id is made of
is all it needs. Helpers that read the entry's URL or title, or update it, take a plain entry.
"""

from collections.abc import Iterable, Mapping
import logging
import re

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_URL, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.device_registry import DeviceInfo

from .api import Server
from .const import (
    AGENT_UPDATE_KEY,
    ALERT_RULE_SWITCH_KEY,
    CONF_DEVICES_GROUP,
    CRON_ENTITY_KEYS,
    CYCLE_ENTITY_KEYS,
    DOMAIN,
    MANUFACTURER,
    MONITOR_ENTITY_KEYS,
    NOTIFY_SWITCH_KEY,
    SERVICE_ENTITY_KEYS,
)

_LOGGER = logging.getLogger(__name__)


def dashboard_identifier(entry_id: str) -> tuple[str, str]:
    """The dashboard device's identifier."""
    return (DOMAIN, entry_id)


def server_identifier(entry_id: str, server_id: int) -> tuple[str, str]:
    """A server device's identifier (stable: Nezha never reuses a server id)."""
    return (DOMAIN, f"{entry_id}_{server_id}")


def server_unique_id(entry_id: str, server_id: int, key: str) -> str:
    """The unique id of one of a server's entities."""
    return f"{entry_id}_{server_id}_{key}"


def monitor_unique_id(entry_id: str, server_id: int, monitor_id: int, key: str) -> str:
    """The unique id of one of a ping monitor's entities (on its server's device)."""
    return f"{entry_id}_{server_id}_{monitor_id}_{key}"


def cycle_unique_id(entry_id: str, server_id: int, rule_id: int, key: str) -> str:
    """The unique id of one of a traffic cycle's sensors (on the device of a server it covers)."""
    return f"{entry_id}_{server_id}_cycle{rule_id}_{key}"


def service_unique_id(entry_id: str, monitor_id: int, key: str) -> str:
    """The unique id of one of a ``/service`` monitor's entities (on the dashboard device)."""
    return f"{entry_id}_service{monitor_id}_{key}"


def alert_rule_unique_id(entry_id: str, rule_id: int, key: str) -> str:
    """The unique id of an alert rule's entity (its switch, on the dashboard device)."""
    return f"{entry_id}_alertrule{rule_id}_{key}"


def cron_unique_id(entry_id: str, task_id: int, key: str) -> str:
    """The unique id of one of a cron task's entities (on the dashboard device)."""
    return f"{entry_id}_cron{task_id}_{key}"


def is_service_or_cycle_unique_id(entry_id: str, unique_id: str) -> bool:
    """Whether ``unique_id`` is one of ``service_unique_id`` or ``cycle_unique_id``."""
    keys = "|".join(map(re.escape, (*CYCLE_ENTITY_KEYS, *_service_keys())))
    pattern = rf"{re.escape(entry_id)}_(?:service\d+|\d+_cycle\d+)_(?:{keys})"
    return re.fullmatch(pattern, unique_id) is not None


def _service_keys() -> tuple[str, ...]:
    return tuple(key for keys in SERVICE_ENTITY_KEYS.values() for key in keys)


def dashboard_unique_id(entry_id: str, key: str) -> str:
    """The unique id of one of the dashboard device's entities."""
    return f"{entry_id}_{key}"


def server_id_from_identifier(entry_id: str, identifier: tuple[str, str]) -> int | None:
    """The server id in a server device's identifier, or None for any other device."""
    domain, value = identifier
    prefix = f"{entry_id}_"
    if domain != DOMAIN or not value.startswith(prefix):
        return None
    server_id = value.removeprefix(prefix)
    return int(server_id) if server_id.isdecimal() else None


NOT_REPORTED_MODEL = "Agent has not reported yet"
"""The model of a server whose agent never reported its host (the real one replaces it at the
first report); without a model the device page shows an unexplained "<unknown>"."""


def server_model(server: Server) -> str:
    """Platform with a capital first letter and its version, e.g. "Debian 12.7"."""
    platform = server.host.platform
    if not platform:
        return NOT_REPORTED_MODEL
    name = platform[:1].upper() + platform[1:]
    version = server.host.platform_version
    return f"{name} {version}" if version else name


def server_device_info(entry: ConfigEntry, server: Server, dashboard_device_id: str) -> DeviceInfo:
    """What the device registry shows for one server."""
    return DeviceInfo(
        identifiers={server_identifier(entry.entry_id, server.id)},
        name=server.name,
        manufacturer=MANUFACTURER,
        model=server_model(server),
        sw_version=server.host.agent_version,
        hw_version=server.host.arch,
        configuration_url=entry.data[CONF_URL],
        via_device_id=dashboard_device_id,
    )


def dashboard_device_info(entry_id: str) -> DeviceInfo:
    """Links an entity to the dashboard device (created by ``async_create_dashboard_device``)."""
    return DeviceInfo(identifiers={dashboard_identifier(entry_id)})


@callback
def async_create_dashboard_device(hass: HomeAssistant, entry: ConfigEntry) -> dr.DeviceEntry:
    """Create or update the dashboard's device, which the server devices link to."""
    return dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={dashboard_identifier(entry.entry_id)},
        name=entry.title,
        manufacturer=MANUFACTURER,
        model="Dashboard",
        entry_type=dr.DeviceEntryType.SERVICE,
        configuration_url=entry.data[CONF_URL],
    )


@callback
def async_registered_server_ids(hass: HomeAssistant, entry_id: str) -> set[int]:
    """The servers that have a device from an earlier run."""
    return {
        server_id
        for device in dr.async_entries_for_config_entry(dr.async_get(hass), entry_id)
        for identifier in device.identifiers
        if (server_id := server_id_from_identifier(entry_id, identifier)) is not None
    }


@callback
def async_reported_server_ids(hass: HomeAssistant, entry_id: str) -> set[int]:
    """The servers whose agent reported in an earlier run: their device has its host's details.

    So a dashboard restarting while Home Assistant does is still told from a new agent.
    """
    return {
        server_id
        for device in dr.async_entries_for_config_entry(dr.async_get(hass), entry_id)
        if (device.model and device.model != NOT_REPORTED_MODEL) or device.sw_version
        for identifier in device.identifiers
        if (server_id := server_id_from_identifier(entry_id, identifier)) is not None
    }


def group_changed(entry: ConfigEntry, group: str | int | None) -> bool:
    """Whether the server devices were made for another server group than ``group`` (None: all).

    Only the user changes it (in the options): servers outside the new choice then leave with
    the first answer that lacks them, rather than after the three polls that guard against an
    outage. A new entry's first choice, or an entry from before this was remembered, counts as a
    change too: it has no devices of servers outside the choice, or they are due to go anyway.
    """
    return entry.data.get(CONF_DEVICES_GROUP) != group


@callback
def async_remember_group(hass: HomeAssistant, entry: ConfigEntry, group: str | int | None) -> None:
    """The server devices are those of ``group`` now (called once an answer listed its servers)."""
    if not group_changed(entry, group):
        return
    data = {key: value for key, value in entry.data.items() if key != CONF_DEVICES_GROUP}
    if group is not None:
        data[CONF_DEVICES_GROUP] = group
    hass.config_entries.async_update_entry(entry, data=data)


@callback
def async_remove_server_devices(
    hass: HomeAssistant, entry_id: str, server_ids: Iterable[int]
) -> None:
    """Remove the devices (and with them the entities) of servers gone for good."""
    device_registry = dr.async_get(hass)
    for server_id in server_ids:
        _LOGGER.debug("Server %s left the dashboard; removing its device", server_id)
        if device := device_registry.async_get_device_by_identifier(
            server_identifier(entry_id, server_id), entry_id
        ):
            device_registry.async_remove_device(device.id)


@callback
def async_sync_server_devices(
    hass: HomeAssistant,
    entry: ConfigEntry,
    servers: Mapping[int, Server],
    previous: Mapping[int, Server],
    changed: Iterable[int],
) -> None:
    """Carry renames, OS upgrades and agent updates of the changed servers to their devices."""
    device_registry = dr.async_get(hass)
    for server_id in changed:
        server = servers.get(server_id)
        old = previous.get(server_id)
        if server is None or (
            old is not None and (old.name, old.host) == (server.name, server.host)
        ):
            continue
        device = device_registry.async_get_device_by_identifier(
            server_identifier(entry.entry_id, server.id), entry.entry_id
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


@callback
def async_remove_monitor_entities(
    hass: HomeAssistant, entry_id: str, stale: Iterable[tuple[int, int]]
) -> None:
    """Remove the entities of monitors gone for good (the server's device stays)."""
    entity_registry = er.async_get(hass)
    for server_id, monitor_id in stale:
        _LOGGER.debug("Monitor %s left server %s; removing its entities", monitor_id, server_id)
        for platform, key in MONITOR_ENTITY_KEYS.items():
            unique_id = monitor_unique_id(entry_id, server_id, monitor_id, key)
            if entity_id := entity_registry.async_get_entity_id(platform, DOMAIN, unique_id):
                entity_registry.async_remove(entity_id)


@callback
def async_remove_service_entities(
    hass: HomeAssistant, entry_id: str, monitor_ids: Iterable[int]
) -> None:
    """Remove the entities of ``/service`` monitors gone for good."""
    entity_registry = er.async_get(hass)
    for monitor_id in monitor_ids:
        _LOGGER.debug("Service %s left the dashboard; removing its entities", monitor_id)
        for platform, keys in SERVICE_ENTITY_KEYS.items():
            for key in keys:
                unique_id = service_unique_id(entry_id, monitor_id, key)
                if entity_id := entity_registry.async_get_entity_id(platform, DOMAIN, unique_id):
                    entity_registry.async_remove(entity_id)


@callback
def async_remove_cycle_entities(
    hass: HomeAssistant, entry_id: str, stale: Iterable[tuple[int, int]]
) -> None:
    """Remove the sensors of traffic cycles (rule id, server id) gone for good."""
    entity_registry = er.async_get(hass)
    for rule_id, server_id in stale:
        _LOGGER.debug(
            "Cycle %s no longer covers server %s; removing its sensors", rule_id, server_id
        )
        for key in CYCLE_ENTITY_KEYS:
            unique_id = cycle_unique_id(entry_id, server_id, rule_id, key)
            if entity_id := entity_registry.async_get_entity_id(Platform.SENSOR, DOMAIN, unique_id):
                entity_registry.async_remove(entity_id)


@callback
def async_remove_gone_action_entities(
    hass: HomeAssistant,
    entry_id: str,
    *,
    rules: Iterable[int],
    monitors: Iterable[int],
    tasks: Iterable[int],
) -> None:
    """Remove the action entities of alert rules, monitors and cron tasks deleted meanwhile."""
    gone = [
        *(
            (Platform.SWITCH, alert_rule_unique_id(entry_id, rule_id, ALERT_RULE_SWITCH_KEY))
            for rule_id in rules
        ),
        *(
            (Platform.SWITCH, service_unique_id(entry_id, monitor_id, NOTIFY_SWITCH_KEY))
            for monitor_id in monitors
        ),
        *(
            (platform, cron_unique_id(entry_id, task_id, key))
            for task_id in tasks
            for platform, key in CRON_ENTITY_KEYS.items()
        ),
    ]
    entity_registry = er.async_get(hass)
    for platform, unique_id in gone:
        if entity_id := entity_registry.async_get_entity_id(platform, DOMAIN, unique_id):
            entity_registry.async_remove(entity_id)


@callback
def async_remove_action_entities(hass: HomeAssistant, entry_id: str) -> None:
    """Actions were turned off: remove every action entity (rather than leave it unavailable)."""
    cron_keys = "|".join(map(re.escape, CRON_ENTITY_KEYS.values()))
    pattern = re.compile(
        rf"{re.escape(entry_id)}_(?:alertrule\d+_{ALERT_RULE_SWITCH_KEY}"
        rf"|service\d+_{NOTIFY_SWITCH_KEY}|cron\d+_(?:{cron_keys})|\d+_{AGENT_UPDATE_KEY})"
    )
    entity_registry = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(entity_registry, entry_id):
        if pattern.fullmatch(entity.unique_id):
            entity_registry.async_remove(entity.entity_id)
