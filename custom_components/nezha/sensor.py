"""Sensors: a server's metrics and billing, its ping monitors' latency, the fleet's counts, each
server's traffic cycles, each ``/service`` monitor's summary, and (actions) each cron task's last
run.

Every sensor class and description class lives here (core's class-module rule); the rows stay
beside them, since a module of rows alone would have to import this one back.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import override

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
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .api import Billing, CycleUsage, Server, ServiceStats
from .api.actions import CronTask
from .const import CRON_ENTITY_KEYS, MAX_GPUS, MONITOR_ENTITY_KEYS
from .coordinator import ActionsData, NezhaServerCoordinator
from .data import NezhaConfigEntry
from .entity import (
    NezhaActionEntity,
    NezhaCycleEntity,
    NezhaCycleEntityDescription,
    NezhaDashboardEntity,
    NezhaMonitorEntity,
    NezhaServerEntity,
    NezhaServerEntityDescription,
    NezhaServiceEntity,
    Shown,
    storable,
)
from .entity_tracking import (
    async_track_action_entities,
    async_track_cycle_entities,
    async_track_monitor_entities,
    async_track_server_entities,
    async_track_service_entities,
)
from .figures import (
    billing_now,
    cycle_end,
    gpu_count,
    gpu_usage,
    has_gpu,
    has_quota,
    mean,
    percent,
    uptime_share,
)
from .registry import cron_unique_id
from .state import ServerMonitors, ServersData

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class NezhaServerSensorEntityDescription(NezhaServerEntityDescription, SensorEntityDescription):
    """A server sensor and where its value comes from."""

    value_fn: Callable[[Server], StateType | datetime]


def _bytes(
    key: str,
    value_fn: Callable[[Server], int | None],
    reads: Iterable[str],
    *,
    enabled: bool = True,
    total: bool = False,
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
        reads=frozenset(reads),
        value_fn=value_fn,
    )


def _share(
    key: str,
    value_fn: Callable[[Server], float | None],
    reads: Iterable[str],
    *,
    enabled: bool = True,
) -> NezhaServerSensorEntityDescription:
    """A percentage."""
    return NezhaServerSensorEntityDescription(
        key=key,
        translation_key=key,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=1,
        entity_registry_enabled_default=enabled,
        reads=frozenset(reads),
        value_fn=value_fn,
    )


def _rate(
    key: str, value_fn: Callable[[Server], int | None], reads: Iterable[str]
) -> NezhaServerSensorEntityDescription:
    """A network speed in bytes per second, shown in Mbit/s."""
    return NezhaServerSensorEntityDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.DATA_RATE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfDataRate.BYTES_PER_SECOND,
        suggested_unit_of_measurement=UnitOfDataRate.MEGABITS_PER_SECOND,
        suggested_display_precision=2,
        reads=frozenset(reads),
        value_fn=value_fn,
    )


def _plain(
    key: str,
    value_fn: Callable[[Server], float | int | None],
    reads: Iterable[str],
    *,
    enabled: bool,
    precision: int,
) -> NezhaServerSensorEntityDescription:
    """A unitless measurement (load average, connection and process counts)."""
    return NezhaServerSensorEntityDescription(
        key=key,
        translation_key=key,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=precision,
        entity_registry_enabled_default=enabled,
        reads=frozenset(reads),
        value_fn=value_fn,
    )


SERVER_SENSORS: tuple[NezhaServerSensorEntityDescription, ...] = (
    _share("cpu_usage", lambda s: s.status.cpu, {"status.cpu"}),
    _bytes("memory_used", lambda s: s.status.mem_used, {"status.mem_used"}),
    _share(
        "memory_usage",
        lambda s: percent(s.status.mem_used, s.host.mem_total),
        {"status.mem_used", "host.mem_total"},
    ),
    _bytes("swap_used", lambda s: s.status.swap_used, {"status.swap_used"}, enabled=False),
    _share(
        "swap_usage",
        lambda s: percent(s.status.swap_used, s.host.swap_total),
        {"status.swap_used", "host.swap_total"},
        enabled=False,
    ),
    _bytes("disk_used", lambda s: s.status.disk_used, {"status.disk_used"}),
    _share(
        "disk_usage",
        lambda s: percent(s.status.disk_used, s.host.disk_total),
        {"status.disk_used", "host.disk_total"},
    ),
    _rate("network_in_speed", lambda s: s.status.net_in_speed, {"status.net_in_speed"}),
    _rate("network_out_speed", lambda s: s.status.net_out_speed, {"status.net_out_speed"}),
    _bytes(
        "network_in_total",
        lambda s: s.status.net_in_transfer,
        {"status.net_in_transfer"},
        total=True,
    ),
    _bytes(
        "network_out_total",
        lambda s: s.status.net_out_transfer,
        {"status.net_out_transfer"},
        total=True,
    ),
    _plain("load_1", lambda s: s.status.load_1, {"status.load_1"}, enabled=True, precision=2),
    _plain("load_5", lambda s: s.status.load_5, {"status.load_5"}, enabled=False, precision=2),
    _plain("load_15", lambda s: s.status.load_15, {"status.load_15"}, enabled=False, precision=2),
    _plain(
        "tcp_connections",
        lambda s: s.status.tcp_connections,
        {"status.tcp_connections"},
        enabled=False,
        precision=0,
    ),
    _plain(
        "udp_connections",
        lambda s: s.status.udp_connections,
        {"status.udp_connections"},
        enabled=False,
        precision=0,
    ),
    _plain(
        "processes", lambda s: s.status.processes, {"status.processes"}, enabled=False, precision=0
    ),
    NezhaServerSensorEntityDescription(
        key="boot_time",
        translation_key="boot_time",
        # The moment of the last boot: HA suppresses the small drift between reports.
        device_class=SensorDeviceClass.UPTIME,
        reads=frozenset({"host.boot_time"}),
        value_fn=lambda s: s.host.boot_time,
    ),
    NezhaServerSensorEntityDescription(
        key="last_seen",
        translation_key="last_seen",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        requires_online=False,
        reads=frozenset({"last_active"}),
        value_fn=lambda s: s.last_active,
    ),
    NezhaServerSensorEntityDescription(
        key="temperature",
        device_class=SensorDeviceClass.TEMPERATURE,  # named by its device class
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        suggested_display_precision=1,
        exists_fn=lambda s: bool(s.status.temperatures),
        reads=frozenset({"status.temperatures"}),
        value_fn=lambda s: max((t.celsius for t in s.status.temperatures), default=None),
    ),
    NezhaServerSensorEntityDescription(
        key="gpu_usage",
        translation_key="gpu_usage",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=1,
        exists_fn=lambda s: gpu_count(s) > 0,
        reads=frozenset({"status.gpu_usage"}),
        value_fn=lambda s: mean(s.status.gpu_usage),
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
            exists_fn=partial(has_gpu, number),
            reads=frozenset({"status.gpu_usage"}),
            value_fn=partial(gpu_usage, number),
        )
        for number in range(1, MAX_GPUS + 1)
    ),
    NezhaServerSensorEntityDescription(
        key="ipv4_address",
        translation_key="ipv4_address",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        requires_online=False,
        reads=frozenset({"ipv4"}),
        value_fn=lambda s: s.ipv4,
    ),
    NezhaServerSensorEntityDescription(
        key="ipv6_address",
        translation_key="ipv6_address",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        requires_online=False,
        reads=frozenset({"ipv6"}),
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


TIB = 1024**4
"""A quota above 1 TiB is shown in TiB (its used bytes too): "9.30 TiB of 10", not "9,523 GiB"."""


@dataclass(frozen=True, kw_only=True)
class NezhaCycleSensorEntityDescription(NezhaCycleEntityDescription, SensorEntityDescription):
    """A sensor of one server in one traffic cycle."""

    value_fn: Callable[[CycleUsage], StateType | datetime]
    changes_at: Callable[[CycleUsage], datetime | None] = lambda _: None
    """When the value changes with time alone, before the dashboard says anything new."""


CYCLE_SENSORS: tuple[NezhaCycleSensorEntityDescription, ...] = (
    NezhaCycleSensorEntityDescription(
        key="transfer_cycle_used",
        translation_key="transfer_cycle_used",
        device_class=SensorDeviceClass.DATA_SIZE,
        # The drop to about 0 when a new cycle starts is a meter reset to statistics.
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfInformation.BYTES,
        suggested_unit_of_measurement=UnitOfInformation.GIBIBYTES,
        suggested_display_precision=2,
        value_fn=lambda usage: usage.used,
    ),
    NezhaCycleSensorEntityDescription(
        key="transfer_cycle_quota",
        translation_key="transfer_cycle_quota",
        device_class=SensorDeviceClass.DATA_SIZE,
        native_unit_of_measurement=UnitOfInformation.BYTES,
        suggested_unit_of_measurement=UnitOfInformation.GIBIBYTES,
        suggested_display_precision=2,
        entity_registry_enabled_default=False,
        exists_fn=has_quota,
        value_fn=lambda usage: usage.quota or None,
    ),
    NezhaCycleSensorEntityDescription(
        key="transfer_cycle_usage",
        translation_key="transfer_cycle_usage",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=1,
        exists_fn=has_quota,
        value_fn=lambda usage: percent(usage.used, usage.quota),
    ),
    NezhaCycleSensorEntityDescription(
        key="transfer_cycle_end",
        translation_key="transfer_cycle_end",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=cycle_end,
        changes_at=lambda usage: usage.end,
    ),
)


@dataclass(frozen=True, kw_only=True)
class NezhaServiceSensorEntityDescription(SensorEntityDescription):
    """A sensor of one monitor's 30-day summary."""

    value_fn: Callable[[ServiceStats], StateType]


SERVICE_SENSORS: tuple[NezhaServiceSensorEntityDescription, ...] = (
    NezhaServiceSensorEntityDescription(
        key="service_uptime_30d",
        translation_key="service_uptime_30d",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=2,
        value_fn=uptime_share,
    ),
    NezhaServiceSensorEntityDescription(
        key="service_delay",
        translation_key="service_delay",
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTime.MILLISECONDS,
        suggested_display_precision=1,
        value_fn=lambda stats: stats.delay_today,
    ),
)


@dataclass(frozen=True, kw_only=True)
class NezhaBillingSensorEntityDescription(NezhaServerEntityDescription, SensorEntityDescription):
    """The billing sensor of a server whose ``public_note`` carries billing terms."""


BILLING_EXPIRY = NezhaBillingSensorEntityDescription(
    key="billing_expiry",
    translation_key="billing_expiry",
    device_class=SensorDeviceClass.TIMESTAMP,
    requires_online=False,  # the note is the dashboard's, not the agent's
    reads=frozenset({"public_note"}),  # and the time, which ``next_change`` follows
    exists_fn=lambda server: billing_now(server) is not None,
)

BILLING_NEVER_EXPIRES = replace(BILLING_EXPIRY, translation_key="billing_never_expires")
"""The billing sensor while its terms never expire: its name says why the state is unknown."""

CRON_LAST_RUN = SensorEntityDescription(
    key=CRON_ENTITY_KEYS[Platform.SENSOR],
    translation_key="cron_last_run",
    device_class=SensorDeviceClass.TIMESTAMP,
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
    async_track_action_entities(  # actions: each cron task's last run
        entry,
        lambda data: data.tasks,
        NezhaCronLastRunSensor,
        async_add_entities,
        unique_id=cron_unique_id,
        placeholder="task",
    )


class NezhaServerSensor(NezhaServerEntity, SensorEntity):
    """A metric of one server."""

    entity_description: NezhaServerSensorEntityDescription

    def __init__(
        self,
        coordinator: NezhaServerCoordinator,
        server: Server,
        description: NezhaServerSensorEntityDescription,
    ) -> None:
        """Take the value function once (it runs for every change of the server)."""
        super().__init__(coordinator, server, description)
        self._value_fn = description.value_fn
        self._uptime = description.device_class is SensorDeviceClass.UPTIME

    @override
    def _state_from(self, source: Server) -> Shown:
        """The value (unknown if Home Assistant could not store it)."""
        value = storable(self._value_fn(source))
        if self._uptime and self._drifted(value):
            return self._shown  # Home Assistant would show the boot time it shows now
        return (True, value, None)

    def _drifted(self, value: StateType | datetime) -> bool:
        """Whether ``value`` is a boot time within Home Assistant's uptime drift tolerance of the
        one shown (Home Assistant keeps the shown one then, so there is nothing to write)."""
        shown = self._shown
        return (
            len(shown) > 1
            and isinstance(value, datetime)
            and isinstance(before := shown[1], datetime)
            and abs(value - before) < timedelta(seconds=self._attr_uptime_drift_tolerance)
        )


class NezhaDashboardSensor(NezhaDashboardEntity, SensorEntity):
    """A count over the servers in scope."""

    entity_description: NezhaDashboardSensorEntityDescription

    @override
    def _state_from(self, source: ServersData) -> Shown:
        """The count from the latest poll."""
        return (True, self.entity_description.value_fn(source), None)


class NezhaMonitorLatencySensor(NezhaMonitorEntity, SensorEntity):
    """The newest round-trip time of a ping monitor."""

    @override
    def _state_from(self, source: ServerMonitors) -> Shown:
        """Unknown for a failed round (0 ms) and when there is no current point."""
        point = self.current_point(source)
        latency = point.latency_ms if point is not None and point.latency_ms > 0 else None
        return (True, storable(latency), None)


class NezhaCycleSensor(NezhaCycleEntity, SensorEntity):
    """Bytes used, quota, share used or end of a server's current traffic cycle."""

    entity_description: NezhaCycleSensorEntityDescription

    @property
    @override
    def suggested_unit_of_measurement(self) -> str | None:
        """Byte counts of a quota above 1 TiB in TiB, so used and quota read alike."""
        usage = self.coordinator.data.usage(self.rule_id, self.server_id)
        if (
            self.entity_description.device_class is SensorDeviceClass.DATA_SIZE
            and usage is not None
            and (usage.quota or 0) > TIB
        ):
            return UnitOfInformation.TEBIBYTES
        return super().suggested_unit_of_measurement

    @override
    def _state_from(self, source: CycleUsage) -> Shown:
        """The value from the latest ``/service`` poll (unknown if Home Assistant can't store it)."""
        return (True, storable(self.entity_description.value_fn(source)), self.direction())

    @override
    def next_change(self) -> datetime | None:
        """When the cycle ends, for its end sensor."""
        usage = self._state_source()
        return None if usage is None else self.entity_description.changes_at(usage)


class NezhaServiceSensor(NezhaServiceEntity, SensorEntity):
    """30-day uptime or today's average delay of a monitor."""

    entity_description: NezhaServiceSensorEntityDescription

    @override
    def _state_from(self, source: ServiceStats) -> Shown:
        """Unknown delay when nothing was measured today (0), or when it can't be stored."""
        return (True, storable(self.entity_description.value_fn(source)), None)


class NezhaBillingSensor(NezhaServerEntity, SensorEntity):
    """The next expiry of a server's billing terms; unknown when it never expires, and then
    named "Billing: never expires", so the reason shows next to the unknown state."""

    entity_description: NezhaBillingSensorEntityDescription
    _terms: Billing | None = None
    """The terms as last looked at (``_state_from``): the name and the next change follow them."""

    @callback
    @override
    def _follow_rename(self) -> bool:
        """Switch the name's translation key when the terms start or stop never expiring."""
        renamed = super()._follow_rename()
        terms = self._terms if self._attr_available else None
        if terms is None:
            return renamed
        description = BILLING_NEVER_EXPIRES if terms.never_expires else BILLING_EXPIRY
        key = description.translation_key
        if key == self.translation_key:
            return renamed
        self._attr_translation_key = key
        self.__dict__.pop("_name_translation_key", None)  # HA caches the key's path
        self._renamed()
        return True

    @override
    def _state_from(self, source: Server) -> Shown:
        """The next expiry, rolled forward for auto-renewal; price, cycle, auto-renewal, and
        whether it never expires. The note is read once per look, with one "now"."""
        self._terms = terms = billing_now(source)
        if terms is None:
            return (True, None, None)
        attributes = {
            "never_expires": terms.never_expires,
            "amount": terms.amount,
            "cycle": terms.cycle,
            "auto_renewal": terms.auto_renewal,
        }
        return (True, storable(terms.expiry), attributes)

    @override
    def next_change(self) -> datetime | None:
        """An auto-renewing server's expiry: then it rolls on to the next one."""
        terms = self._terms
        return terms.expiry if terms is not None and terms.auto_renewal else None


class NezhaCronLastRunSensor(NezhaActionEntity, SensorEntity):
    """When a cron task last ran (``last_executed_at``); unknown if it never did."""

    entity_description = CRON_LAST_RUN

    @override
    def _items(self, data: ActionsData) -> dict[int, CronTask] | None:
        return data.tasks

    @override
    def _state_from(self, source: CronTask) -> Shown:
        """The dashboard's time of the last run."""
        return (True, source.last_executed_at, None)
