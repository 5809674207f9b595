"""Sensors: a server's metrics, its ping monitors' latency, and the fleet's counts.

Traffic cycles, service availability and billing: service_entities.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from statistics import fmean
from typing import TYPE_CHECKING, override

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    Platform,
    UnitOfDataRate,
    UnitOfInformation,
    UnitOfTemperature,
    UnitOfTime,
)

from .action_entities import async_setup_cron_sensors
from .const import MAX_GPUS, MONITOR_ENTITY_KEYS
from .entity import (
    NezhaDashboardEntity,
    NezhaMonitorEntity,
    NezhaServerEntity,
    NezhaServerEntityDescription,
)
from .service_entities import (
    BILLING_EXPIRY,
    CYCLE_SENSORS,
    SERVICE_SENSORS,
    NezhaBillingSensor,
    NezhaCycleSensor,
    NezhaServiceSensor,
)
from .service_tracking import async_track_cycle_entities, async_track_service_entities
from .tracking import async_track_monitor_entities, async_track_server_entities

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
    from homeassistant.helpers.typing import StateType

    from .api import Server
    from .coordinator import NezhaConfigEntry
    from .server_data import ServersData

PARALLEL_UPDATES = 0


def _gpu_count(server: Server) -> int:
    """How many GPUs the agent names or reports a usage for."""
    return max(len(server.host.gpu_models), len(server.status.gpu_usage))


def _has_gpu(number: int, server: Server) -> bool:
    """Whether a server with several GPUs has GPU ``number`` (counted from 1)."""
    count = _gpu_count(server)
    return count > 1 and count >= number


def _gpu_usage(number: int, server: Server) -> float | None:
    """The usage of GPU ``number`` (counted from 1), if the agent reported it."""
    usage = server.status.gpu_usage
    return usage[number - 1] if len(usage) >= number else None


def _percent(used: int | None, total: int | None) -> float | None:
    """``used`` as a share of ``total``; unknown when either is unknown or the total is 0."""
    if used is None or not total:
        return None
    return used / total * 100


@dataclass(frozen=True, kw_only=True)
class NezhaServerSensorEntityDescription(NezhaServerEntityDescription, SensorEntityDescription):
    """A server sensor and where its value comes from."""

    value_fn: Callable[[Server], StateType | datetime]


def _bytes(
    key: str, value_fn: Callable[[Server], int | None], *, enabled: bool = True, total: bool = False
) -> NezhaServerSensorEntityDescription:
    """A byte count shown in GiB."""
    return NezhaServerSensorEntityDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.DATA_SIZE,
        state_class=SensorStateClass.TOTAL_INCREASING if total else SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfInformation.BYTES,
        suggested_unit_of_measurement=UnitOfInformation.GIBIBYTES,
        suggested_display_precision=2,
        entity_registry_enabled_default=enabled,
        value_fn=value_fn,
    )


def _share(
    key: str, value_fn: Callable[[Server], float | None], *, enabled: bool = True
) -> NezhaServerSensorEntityDescription:
    """A percentage."""
    return NezhaServerSensorEntityDescription(
        key=key,
        translation_key=key,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=1,
        entity_registry_enabled_default=enabled,
        value_fn=value_fn,
    )


def _rate(key: str, value_fn: Callable[[Server], int | None]) -> NezhaServerSensorEntityDescription:
    """A network speed in bytes per second, shown in Mbit/s."""
    return NezhaServerSensorEntityDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.DATA_RATE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfDataRate.BYTES_PER_SECOND,
        suggested_unit_of_measurement=UnitOfDataRate.MEGABITS_PER_SECOND,
        suggested_display_precision=2,
        value_fn=value_fn,
    )


def _plain(
    key: str, value_fn: Callable[[Server], float | int | None], *, enabled: bool, precision: int
) -> NezhaServerSensorEntityDescription:
    """A unitless measurement (load average, connection and process counts)."""
    return NezhaServerSensorEntityDescription(
        key=key,
        translation_key=key,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=precision,
        entity_registry_enabled_default=enabled,
        value_fn=value_fn,
    )


SERVER_SENSORS: tuple[NezhaServerSensorEntityDescription, ...] = (
    _share("cpu_usage", lambda s: s.status.cpu),
    _bytes("memory_used", lambda s: s.status.mem_used),
    _share("memory_usage", lambda s: _percent(s.status.mem_used, s.host.mem_total)),
    _bytes("swap_used", lambda s: s.status.swap_used, enabled=False),
    _share("swap_usage", lambda s: _percent(s.status.swap_used, s.host.swap_total), enabled=False),
    _bytes("disk_used", lambda s: s.status.disk_used),
    _share("disk_usage", lambda s: _percent(s.status.disk_used, s.host.disk_total)),
    _rate("network_in_speed", lambda s: s.status.net_in_speed),
    _rate("network_out_speed", lambda s: s.status.net_out_speed),
    _bytes("network_in_total", lambda s: s.status.net_in_transfer, total=True),
    _bytes("network_out_total", lambda s: s.status.net_out_transfer, total=True),
    _plain("load_1", lambda s: s.status.load_1, enabled=True, precision=2),
    _plain("load_5", lambda s: s.status.load_5, enabled=False, precision=2),
    _plain("load_15", lambda s: s.status.load_15, enabled=False, precision=2),
    _plain("tcp_connections", lambda s: s.status.tcp_connections, enabled=False, precision=0),
    _plain("udp_connections", lambda s: s.status.udp_connections, enabled=False, precision=0),
    _plain("processes", lambda s: s.status.processes, enabled=False, precision=0),
    NezhaServerSensorEntityDescription(
        key="boot_time",
        translation_key="boot_time",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda s: s.host.boot_time,
    ),
    NezhaServerSensorEntityDescription(
        key="last_seen",
        translation_key="last_seen",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        requires_online=False,
        value_fn=lambda s: s.last_active,
    ),
    NezhaServerSensorEntityDescription(
        key="temperature",
        translation_key="temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        suggested_display_precision=1,
        exists_fn=lambda s: bool(s.status.temperatures),
        value_fn=lambda s: max((t.celsius for t in s.status.temperatures), default=None),
    ),
    NezhaServerSensorEntityDescription(
        key="gpu_usage",
        translation_key="gpu_usage",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=1,
        exists_fn=lambda s: _gpu_count(s) > 0,
        value_fn=lambda s: fmean(s.status.gpu_usage) if s.status.gpu_usage else None,
    ),
    # A server with several GPUs also gets one sensor per GPU (gpu_usage is their average).
    *(
        NezhaServerSensorEntityDescription(
            key=f"gpu_{number}_usage",
            translation_key="gpu_n_usage",
            translation_placeholders={"gpu": str(number)},
            state_class=SensorStateClass.MEASUREMENT,
            native_unit_of_measurement=PERCENTAGE,
            suggested_display_precision=1,
            exists_fn=partial(_has_gpu, number),
            value_fn=partial(_gpu_usage, number),
        )
        for number in range(1, MAX_GPUS + 1)
    ),
    NezhaServerSensorEntityDescription(
        key="ipv4_address",
        translation_key="ipv4_address",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        requires_online=False,
        value_fn=lambda s: s.ipv4,
    ),
    NezhaServerSensorEntityDescription(
        key="ipv6_address",
        translation_key="ipv6_address",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        requires_online=False,
        value_fn=lambda s: s.ipv6,
    ),
)


@dataclass(frozen=True, kw_only=True)
class NezhaDashboardSensorEntityDescription(SensorEntityDescription):
    """A fleet-wide count."""

    value_fn: Callable[[ServersData], int]


DASHBOARD_SENSORS: tuple[NezhaDashboardSensorEntityDescription, ...] = (
    NezhaDashboardSensorEntityDescription(
        key="servers_total",
        translation_key="servers_total",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: len(data.servers),
    ),
    NezhaDashboardSensorEntityDescription(
        key="servers_online",
        translation_key="servers_online",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: len(data.online),
    ),
)

MONITOR_LATENCY = SensorEntityDescription(
    key=MONITOR_ENTITY_KEYS[Platform.SENSOR],
    translation_key=MONITOR_ENTITY_KEYS[Platform.SENSOR],
    device_class=SensorDeviceClass.DURATION,
    state_class=SensorStateClass.MEASUREMENT,
    native_unit_of_measurement=UnitOfTime.MILLISECONDS,
    suggested_display_precision=1,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NezhaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the dashboard's sensors, then each server's and each monitor's as they appear."""
    coordinator = entry.runtime_data.servers
    async_add_entities(
        NezhaDashboardSensor(coordinator, description) for description in DASHBOARD_SENSORS
    )
    async_track_server_entities(entry, SERVER_SENSORS, NezhaServerSensor, async_add_entities)
    async_track_monitor_entities(
        entry, MONITOR_LATENCY, NezhaMonitorLatencySensor, async_add_entities
    )
    async_track_server_entities(entry, (BILLING_EXPIRY,), NezhaBillingSensor, async_add_entities)
    async_track_cycle_entities(entry, CYCLE_SENSORS, NezhaCycleSensor, async_add_entities)
    async_track_service_entities(entry, SERVICE_SENSORS, NezhaServiceSensor, async_add_entities)
    async_setup_cron_sensors(entry, async_add_entities)  # actions: cron tasks' last runs


class NezhaServerSensor(NezhaServerEntity, SensorEntity):
    """A metric of one server."""

    entity_description: NezhaServerSensorEntityDescription

    @property
    @override
    def native_value(self) -> StateType | datetime:
        """The value from the latest poll."""
        return self.entity_description.value_fn(self.server)


class NezhaDashboardSensor(NezhaDashboardEntity, SensorEntity):
    """A count over the servers in scope."""

    entity_description: NezhaDashboardSensorEntityDescription

    @property
    @override
    def native_value(self) -> int:
        """The count from the latest poll."""
        return self.entity_description.value_fn(self.coordinator.data)


class NezhaMonitorLatencySensor(NezhaMonitorEntity, SensorEntity):
    """The newest round-trip time of a ping monitor."""

    @property
    @override
    def native_value(self) -> float | None:
        """Unknown for a failed round (0 ms) and when there is no current point."""
        point = self.current_point
        return point.latency_ms if point is not None and point.latency_ms > 0 else None
