"""Binary sensors: whether a server is online, a ping monitor reaches its target, any server is down."""

from dataclasses import dataclass
from typing import Any, override

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import MONITOR_ENTITY_KEYS
from .data import NezhaConfigEntry
from .entity import (
    NezhaDashboardEntity,
    NezhaMonitorEntity,
    NezhaServerEntity,
    NezhaServerEntityDescription,
    NezhaServiceEntity,
)
from .entity_tracking import (
    async_track_monitor_entities,
    async_track_server_entities,
    async_track_service_entities,
)

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

    @property
    @override
    def is_on(self) -> bool | None:
        """Whether the last report is within the online threshold (see ``state``)."""
        return self.coordinator.is_online(self.server)


class NezhaServersOfflineBinarySensor(NezhaDashboardEntity, BinarySensorEntity):
    """On when any server that has reported is offline (see ``state``: a new agent and a
    dashboard restart's few seconds of never-seen servers are no outage)."""

    @property
    @override
    def is_on(self) -> bool:
        """Whether a server that has reported is offline now."""
        return bool(self.coordinator.data.offline)


class NezhaMonitorReachableBinarySensor(NezhaMonitorEntity, BinarySensorEntity):
    """On when the newest round reached the target; off when it failed (0 ms)."""

    @property
    @override
    def is_on(self) -> bool | None:
        """Unknown when there is no current point."""
        point = self.current_point
        return None if point is None else point.latency_ms > 0


class NezhaServiceUpBinarySensor(NezhaServiceEntity, BinarySensorEntity):
    """On when most of the monitor's last 30 checks passed."""

    @property
    @override
    def is_on(self) -> bool | None:
        """``current_up`` > ``current_down``; unknown when the dashboard sent neither."""
        up, down = self.stats.current_up, self.stats.current_down
        return None if up is None or down is None else up > down

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any]:
        """The counts the state is judged by."""
        return {"current_up": self.stats.current_up, "current_down": self.stats.current_down}
