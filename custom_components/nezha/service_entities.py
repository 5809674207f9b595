"""Entities fed by ``/service`` (traffic cycles, service availability) and by ``public_note`` (billing).

A traffic cycle's sensors sit on each covered server's device, named after the alert rule; a
monitor's availability sits on the dashboard device, named after the monitor. Billing is a server
entity: it exists for servers whose note follows the admin panel's billing convention.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, override

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, UnitOfInformation, UnitOfTime
from homeassistant.util import dt as dt_util

from .api import parse_billing
from .coordinator import NezhaServicesCoordinator
from .data import NezhaConfigEntry
from .entity import NezhaEntity, NezhaServerEntity, NezhaServerEntityDescription, storable
from .registry import (
    cycle_unique_id,
    dashboard_device_info,
    server_device_info,
    service_unique_id,
)

if TYPE_CHECKING:
    from homeassistant.helpers.typing import StateType

    from .api import Billing, CycleUsage, Server, ServiceStats, TrafficCycle


def _share(part: int | None, whole: int | None) -> float | None:
    """``part`` as a percentage of ``whole``; unknown when either is unknown or the whole is 0."""
    if part is None or not whole:
        return None
    return part / whole * 100


TIB = 1024**4
"""A quota above 1 TiB is shown in TiB (its used bytes too): "9.30 TiB of 10", not "9,523 GiB"."""


def _has_quota(usage: CycleUsage) -> bool:
    return bool(usage.quota)


def _not_full(share: float | None) -> float | None:
    """A share below 100 % at most 99.99 %, so two decimals never round it up to "100.00"."""
    return share if share is None or share >= 100 else min(share, 99.99)


def _cycle_end(usage: CycleUsage) -> datetime | None:
    """The end of the current cycle; unknown once passed, until the dashboard names the next."""
    return usage.end if usage.end is None or usage.end > dt_util.utcnow() else None


@dataclass(frozen=True, kw_only=True)
class NezhaCycleSensorEntityDescription(SensorEntityDescription):
    """A sensor of one server in one traffic cycle."""

    value_fn: Callable[[CycleUsage], StateType | datetime]
    exists_fn: Callable[[CycleUsage], bool] = lambda _: True
    """Whether the server gets this sensor (quota and usage: only when the rule sets a quota)."""
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
        exists_fn=_has_quota,
        value_fn=lambda usage: usage.quota or None,
    ),
    NezhaCycleSensorEntityDescription(
        key="transfer_cycle_usage",
        translation_key="transfer_cycle_usage",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=1,
        exists_fn=_has_quota,
        value_fn=lambda usage: _share(usage.used, usage.quota),
    ),
    NezhaCycleSensorEntityDescription(
        key="transfer_cycle_end",
        translation_key="transfer_cycle_end",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_cycle_end,
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
        value_fn=lambda stats: _not_full(
            _share(
                stats.total_up,
                None
                if stats.total_up is None or stats.total_down is None
                else stats.total_up + stats.total_down,
            )
        ),
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

# "Up"/"Down" come from the translated states.
SERVICE_UP = BinarySensorEntityDescription(
    key="service_up",
    translation_key="service_up",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
)


def _billing(server: Server) -> Billing | None:
    return parse_billing(server.public_note, dt_util.utcnow())


@dataclass(frozen=True, kw_only=True)
class NezhaBillingSensorEntityDescription(NezhaServerEntityDescription, SensorEntityDescription):
    """The billing sensor of a server whose ``public_note`` carries billing terms."""


BILLING_EXPIRY = NezhaBillingSensorEntityDescription(
    key="billing_expiry",
    translation_key="billing_expiry",
    device_class=SensorDeviceClass.TIMESTAMP,
    requires_online=False,  # the note is the dashboard's, not the agent's
    exists_fn=lambda server: _billing(server) is not None,
)


class NezhaCycleEntity(NezhaEntity[NezhaServicesCoordinator]):
    """An entity of one server in one traffic cycle, on the server's device."""

    def __init__(
        self,
        coordinator: NezhaServicesCoordinator,
        server: Server,
        cycle: TrafficCycle,
        description: NezhaCycleSensorEntityDescription,
    ) -> None:
        """Name the entity after the alert rule; it hears of the polls that change its server."""
        super().__init__(coordinator, context=server.id)
        entry: NezhaConfigEntry = coordinator.config_entry
        self.entity_description = description
        self.server_id = server.id
        self.rule_id = cycle.rule_id
        self._attr_unique_id = cycle_unique_id(
            entry.entry_id, server.id, cycle.rule_id, description.key
        )
        self._attr_translation_placeholders = {"rule": cycle.name}
        self._attr_device_info = server_device_info(
            entry, server, entry.runtime_data.dashboard_device_id
        )

    @property
    def usage(self) -> CycleUsage:
        """The server's figures in the cycle (only while ``available``)."""
        usage = self.coordinator.data.usage(self.rule_id, self.server_id)
        assert usage is not None
        return usage

    @property
    @override
    def available(self) -> bool:
        """Available while the last ``/service`` poll reported this server in this cycle."""
        return (
            super().available
            and self.coordinator.data.usage(self.rule_id, self.server_id) is not None
        )

    @override
    def current_placeholders(self) -> dict[str, str]:
        """The alert rule's name in the latest poll."""
        return {"rule": self.coordinator.data.cycles[self.rule_id].name}

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """What the bytes count (in, out, both), when the credential may read the alert rules."""
        direction = self.coordinator.data.directions.get(self.rule_id)
        return None if direction is None else {"direction": direction}


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

    @property
    @override
    def native_value(self) -> StateType | datetime:
        """The value from the latest ``/service`` poll (unknown if Home Assistant can't store it)."""
        return storable(self.entity_description.value_fn(self.usage))

    @override
    def next_change(self) -> datetime | None:
        """When the cycle ends, for its end sensor."""
        return self.entity_description.changes_at(self.usage)


class NezhaServiceEntity(NezhaEntity[NezhaServicesCoordinator]):
    """An entity of one ``/service`` monitor, on the dashboard device: it hears of every poll."""

    def __init__(
        self,
        coordinator: NezhaServicesCoordinator,
        stats: ServiceStats,
        description: SensorEntityDescription | BinarySensorEntityDescription,
    ) -> None:
        """Name the entity after the monitor."""
        super().__init__(coordinator)
        entry = coordinator.config_entry
        self.entity_description = description
        self.monitor_id = stats.id
        self._attr_unique_id = service_unique_id(entry.entry_id, stats.id, description.key)
        self._attr_translation_placeholders = {"monitor": stats.name}
        self._attr_device_info = dashboard_device_info(entry.entry_id)

    @override
    def current_placeholders(self) -> dict[str, str]:
        """The monitor's name in the latest poll."""
        return {"monitor": self.stats.name}

    @property
    def stats(self) -> ServiceStats:
        """The monitor's summary (only while ``available``)."""
        return self.coordinator.data.services[self.monitor_id]

    @property
    @override
    def available(self) -> bool:
        """Available while the last ``/service`` poll reported the monitor."""
        return super().available and self.monitor_id in self.coordinator.data.services


class NezhaServiceSensor(NezhaServiceEntity, SensorEntity):
    """30-day uptime or today's average delay of a monitor."""

    entity_description: NezhaServiceSensorEntityDescription

    @property
    @override
    def native_value(self) -> StateType:
        """Unknown delay when nothing was measured today (0), or when it can't be stored."""
        return storable(self.entity_description.value_fn(self.stats))


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


class NezhaBillingSensor(NezhaServerEntity, SensorEntity):
    """The next expiry of a server's billing terms; unknown when it never expires."""

    entity_description: NezhaBillingSensorEntityDescription

    @property
    def billing(self) -> Billing | None:
        """The terms in the latest note (None once the note no longer carries any)."""
        return _billing(self.server)

    @property
    @override
    def native_value(self) -> datetime | None:
        """The next expiry, rolled forward for auto-renewal."""
        billing = self.billing
        return None if billing is None else storable(billing.expiry)

    @override
    def next_change(self) -> datetime | None:
        """An auto-renewing server's expiry: then it rolls on to the next one."""
        billing = self.billing
        return billing.expiry if billing is not None and billing.auto_renewal else None

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Price, cycle, auto-renewal, and whether it never expires."""
        billing = self.billing
        if billing is None:
            return None
        return {
            "never_expires": billing.never_expires,
            "amount": billing.amount,
            "cycle": billing.cycle,
            "auto_renewal": billing.auto_renewal,
        }
