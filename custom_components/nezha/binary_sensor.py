"""Binary sensors: whether a server is online, a ping monitor reaches its target, any server is down."""

from dataclasses import dataclass
from typing import override

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import Server, ServiceStats
from .const import MONITOR_ENTITY_KEYS
from .data import NezhaConfigEntry
from .entity import (
    NezhaDashboardEntity,
    NezhaMonitorEntity,
    NezhaServerEntity,
    NezhaServerEntityDescription,
    NezhaServiceEntity,
    Shown,
)
from .entity_tracking import (
    async_track_monitor_entities,
    async_track_server_entities,
    async_track_service_entities,
)
from .state import ServerMonitors, ServersData

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class NezhaServerBinarySensorEntityDescription(
    NezhaServerEntityDescription, BinarySensorEntityDescription
):
    """A server binary sensor."""


ONLINE = NezhaServerBinarySensorEntityDescription(
    key="online",
    translation_key="online",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    requires_online=False,
    reads=frozenset(),  # the online state alone, which every server entity hears of
)

SERVERS_OFFLINE = BinarySensorEntityDescription(
    key="servers_offline",
    translation_key="servers_offline",
    device_class=BinarySensorDeviceClass.PROBLEM,
)

# Connectivity to the monitor's target; "Reachable"/"Unreachable" come from the translated states.
MONITOR_REACHABLE = BinarySensorEntityDescription(
    key=MONITOR_ENTITY_KEYS[Platform.BINARY_SENSOR],
    translation_key=MONITOR_ENTITY_KEYS[Platform.BINARY_SENSOR],
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
)


# "Up"/"Down" come from the translated states.
SERVICE_UP = BinarySensorEntityDescription(
    key="service_up",
    translation_key="service_up",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NezhaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the dashboard's problem sensor, then each server's and monitor's as they appear."""
    async_add_entities(
        [NezhaServersOfflineBinarySensor(entry.runtime_data.servers, SERVERS_OFFLINE)]
    )
    async_track_server_entities(entry, (ONLINE,), NezhaOnlineBinarySensor, async_add_entities)
    async_track_monitor_entities(
        entry, MONITOR_REACHABLE, NezhaMonitorReachableBinarySensor, async_add_entities
    )
    async_track_service_entities(
        entry, (SERVICE_UP,), NezhaServiceUpBinarySensor, async_add_entities
    )


class NezhaOnlineBinarySensor(NezhaServerEntity, BinarySensorEntity):
    """On while the server's agent reports, judged by the dashboard's clock."""

    entity_description: NezhaServerBinarySensorEntityDescription

    @override
    def _state_from(self, source: Server) -> Shown:
        """Whether the last report is within the online threshold (see ``state``)."""
        return (True, self.coordinator.is_online(source), None)


class NezhaServersOfflineBinarySensor(NezhaDashboardEntity, BinarySensorEntity):
    """On when any server that has reported is offline (see ``state``: a new agent and a
    dashboard restart's few seconds of never-seen servers are no outage)."""

    @override
    def _state_from(self, source: ServersData) -> Shown:
        """Whether a server that has reported is offline now."""
        return (True, bool(source.offline), None)


class NezhaMonitorReachableBinarySensor(NezhaMonitorEntity, BinarySensorEntity):
    """On when the newest round reached the target; off when it failed (0 ms)."""

    @override
    def _state_from(self, source: ServerMonitors) -> Shown:
        """Unknown when there is no current point."""
        point = self.current_point(source)
        return (True, None if point is None else point.latency_ms > 0, None)


class NezhaServiceUpBinarySensor(NezhaServiceEntity, BinarySensorEntity):
    """On when most of the monitor's last 30 checks passed."""

    @override
    def _state_from(self, source: ServiceStats) -> Shown:
        """``current_up`` > ``current_down``; unknown when the dashboard sent neither. The counts
        it is judged by are its attributes."""
        up, down = source.current_up, source.current_down
        is_on = None if up is None or down is None else up > down
        return (True, is_on, {"current_up": up, "current_down": down})
