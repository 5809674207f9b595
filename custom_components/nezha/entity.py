"""Base entities: a server's, a ping monitor's, the dashboard's, a traffic cycle's, a monitor's.

(The last: a ``/service`` monitor's, on the dashboard device.) And an action's: a dashboard object
(alert rule, monitor, cron task) an entity acts on. Each writes its state after a poll
only when what it shows (availability, state, attributes) differs from what it last wrote, and
hears only of the polls that changed its server (see coordinator/base.py): a poll where nothing
changed writes nothing. Home Assistant's own writes (when the entity is added, when the user
changes it in the registry) go through as always.
"""

from abc import abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, override

from homeassistant.core import CALLBACK_TYPE, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.typing import StateType
from homeassistant.helpers.update_coordinator import CoordinatorEntity, DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .api import CycleUsage, Monitor, MonitorPoint, Server, ServiceStats, TrafficCycle
from .coordinator import (
    ActionsData,
    NezhaActionsCoordinator,
    NezhaMonitorCoordinator,
    NezhaServerCoordinator,
    NezhaServicesCoordinator,
    ServerContext,
)
from .data import NezhaConfigEntry
from .registry import (
    cycle_unique_id,
    dashboard_device_info,
    dashboard_unique_id,
    monitor_unique_id,
    server_device_info,
    server_unique_id,
    service_unique_id,
)
from .state import ServerMonitors, current_point

MAX_MAGNITUDE = 1e30
"""Numbers beyond this are no measurement (a byte count is below 2**64 ≈ 1.8e19), and a unit
conversion or a statistic of them could overflow to infinity."""


def storable[T: StateType | datetime](value: T) -> T | None:
    """``value`` if Home Assistant can store and convert it, else ``None`` (unknown).

    A dashboard can send a finite but absurd number (a GPU at 1.7e308 %) or a time whose offset
    puts it outside what UTC can hold; either would make the state write fail.
    """
    if isinstance(value, datetime):
        try:
            value.astimezone(UTC)
        except OverflowError:
            return None
    # A tuple, not ``int | float``: that would build a union object on every state.
    elif isinstance(value, (int, float)) and not abs(value) <= MAX_MAGNITUDE:  # NaN too
        return None
    return value


@dataclass(frozen=True, kw_only=True)
class NezhaServerEntityDescription(EntityDescription):
    """What every server entity description has besides HA's fields."""

    exists_fn: Callable[[Server], bool] = lambda _: True
    """Whether the server has this entity; once true, it is kept (a GPU, temperatures)."""
    requires_online: bool = True
    """Metrics of an offline or never-seen server are stale or zeros, so they are unavailable."""
    reads: frozenset[str] | None = None
    """The fields of ``Server`` the entity's state and attributes are computed from, those of
    ``host`` and ``status`` by name (``status.cpu``, see ``state.server_changes``): it is called
    back only when one of them (or the server's online state) changed. ``None``: any."""


@dataclass(frozen=True, kw_only=True)
class NezhaCycleEntityDescription(EntityDescription):
    """What every traffic-cycle entity description has besides HA's fields."""

    exists_fn: Callable[[CycleUsage], bool] = lambda _: True
    """Whether the server gets this entity (quota and usage: only when the rule sets a quota)."""


class NezhaEntity[CoordinatorT: DataUpdateCoordinator[Any]](CoordinatorEntity[CoordinatorT]):
    """Writes after a poll only what changed, and when its time comes, what time changes.

    A state computed from "now" (a billing expiry rolled by auto-renewal, a cycle's end that has
    passed) changes when its time comes, whether or not a poll changes anything: the entity says
    when in ``next_change`` and is looked at again then.
    """

    _attr_has_entity_name = True
    _written: tuple[object, ...] | None = None
    _writing: tuple[object, ...] | None = None
    """What ``_handle_coordinator_update`` found shown, for the write it starts (not read twice)."""
    _value_attr = "state"
    """The property holding what the integration decides the state from (see ``_shown``)."""
    on_add_failed: Callable[[], None] | None = None
    """Set by the tracker that created the entity: told when adding it failed, so it can retry."""
    _cancel_time_change: CALLBACK_TYPE | None = None
    _changes_with_time = False
    """Whether the class overrides ``next_change`` (if not, a write schedules nothing)."""
    _follows_renames = False
    """Whether the class overrides ``current_placeholders`` (if not, nothing to rename)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Decide "changed" on the platform's own value, not on Home Assistant's rendering of it.

        ``SensorEntity.state`` converts units and validates on each read: reading it to decide
        whether to write, then again to write, tripled its cost. The native value (or ``is_on``)
        determines it, save for the unit options, whose change Home Assistant writes itself.
        """
        super().__init_subclass__(**kwargs)
        # Most classes never change with time: their writes need not ask ``next_change``.
        cls._changes_with_time = cls.next_change is not NezhaEntity.next_change
        cls._follows_renames = cls.current_placeholders is not NezhaEntity.current_placeholders
        for name in ("native_value", "is_on"):  # a sensor's (or number's), a binary sensor's
            if hasattr(cls, name):
                cls._value_attr = name
                break

    def next_change(self) -> datetime | None:
        """When what the entity shows next changes with time alone (``None``: never)."""
        return None

    def current_placeholders(self) -> dict[str, str] | None:
        """The name's placeholders as the dashboard names things now (``None``: none to follow)."""
        return None

    @callback
    def _follow_rename(self) -> None:
        """A monitor or rule renamed on the dashboard renames the entity (its ID stays)."""
        if (
            not self._follows_renames
            or not self.available
            or (placeholders := self.current_placeholders()) is None
            or placeholders == self.translation_placeholders
        ):
            return
        self._attr_translation_placeholders = placeholders
        self._renamed()

    @callback
    def _renamed(self) -> None:
        """Show and register the name anew (its placeholders or translation key changed)."""
        # Home Assistant caches the name: setting and dropping _attr_name makes it read anew.
        self._attr_name = None
        del self._attr_name
        self._written = None  # the friendly name changed: write
        if self.registry_entry is not None and isinstance(name := self.name, str):
            # The device page lists entities by the name they were registered with.
            er.async_get(self.hass).async_update_entity(self.entity_id, original_name=name)

    @override
    async def async_added_to_hass(self) -> None:
        """Stop waiting for the next time change once removed."""
        await super().async_added_to_hass()
        self.async_on_remove(self._cancel_next_change)

    @callback
    def _cancel_next_change(self) -> None:
        if self._cancel_time_change is not None:
            self._cancel_time_change()
            self._cancel_time_change = None

    @callback
    def _schedule_next_change(self) -> None:
        """Be looked at again when the state changes with time (if it is shown and does)."""
        self._cancel_next_change()
        # ``_written`` holds the availability the write just found (``available`` is not cheap).
        when = self.next_change() if self._written and self._written[0] else None
        if when is not None and when > dt_util.utcnow():
            self._cancel_time_change = async_track_point_in_utc_time(
                self.hass, self._time_changed, when
            )

    @callback
    def _time_changed(self, _now: datetime) -> None:
        self._cancel_time_change = None
        self._handle_coordinator_update()  # a write schedules the next change
        if self._cancel_time_change is None:
            self._schedule_next_change()

    @override
    async def add_to_platform_finish(self) -> None:
        """Tell the tracker when adding fails (Home Assistant drops the entity and logs why)."""
        try:
            await super().add_to_platform_finish()
        except Exception:
            if self.on_add_failed is not None:
                self.on_add_failed()
            raise

    def _shown(self) -> tuple[object, ...]:
        """What a state write would show: availability, then the value and attributes."""
        if not self.available:
            return (False,)
        return (True, getattr(self, self._value_attr), self.extra_state_attributes)

    @callback
    @override
    def _async_write_ha_state(self) -> None:
        """Write the state, remembering what was written (HA's own writes included)."""
        self._written = self._writing or self._shown()
        super()._async_write_ha_state()
        if self._changes_with_time:
            self._schedule_next_change()

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        """Write only when something the state shows (the name included) changed."""
        self._follow_rename()
        shown = self._shown()
        if shown != self._written:
            self._writing = shown
            try:
                self.async_write_ha_state()
            finally:
                self._writing = None


class NezhaServerEntity(NezhaEntity[NezhaServerCoordinator]):
    """An entity of one server's device."""

    entity_description: NezhaServerEntityDescription

    def __init__(
        self,
        coordinator: NezhaServerCoordinator,
        server: Server,
        description: NezhaServerEntityDescription,
    ) -> None:
        """Attach the entity to the server's device; it hears of the polls that change it."""
        super().__init__(coordinator, context=ServerContext(server.id, description.reads))
        entry: NezhaConfigEntry = coordinator.config_entry
        self.entity_description = description
        self.server_id = server.id
        if getattr(description, "device_class", None) == "uptime":
            # Home Assistant keeps an uptime within its drift tolerance as it was (a state that
            # remembers): only its rendered state tells whether a new value shows.
            self._value_attr = "state"
        self._attr_unique_id = server_unique_id(entry.entry_id, server.id, description.key)
        self._attr_device_info = server_device_info(
            entry, server, entry.runtime_data.dashboard_device_id
        )

    @property
    def server(self) -> Server:
        """The server's latest data (only while ``available``)."""
        return self.coordinator.data.servers[self.server_id]

    @property
    @override
    def available(self) -> bool:
        """Available while the dashboard reports the server (and it is online, for metrics)."""
        if (writing := self._writing) is not None:
            return bool(writing[0])  # found by ``_shown`` for this very write: not again
        data = self.coordinator.data
        return (
            super().available
            and self.server_id in data.servers
            and (not self.entity_description.requires_online or self.server_id in data.online)
        )


class NezhaMonitorEntity(NezhaEntity[NezhaMonitorCoordinator]):
    """An entity of one ping monitor, on the device of the server that runs it."""

    def __init__(
        self,
        coordinator: NezhaMonitorCoordinator,
        server: Server,
        monitor: Monitor,
        description: EntityDescription,
    ) -> None:
        """Attach the entity to the server's device; the monitor's name goes into the entity name."""
        super().__init__(coordinator, context=server.id)
        entry: NezhaConfigEntry = coordinator.config_entry
        self.entity_description = description
        self.server_id = server.id
        self.monitor_id = monitor.id
        self._attr_unique_id = monitor_unique_id(
            entry.entry_id, server.id, monitor.id, description.key
        )
        self._attr_translation_placeholders = {"monitor": monitor.name}
        self._attr_device_info = server_device_info(
            entry, server, entry.runtime_data.dashboard_device_id
        )

    @property
    def server_monitors(self) -> ServerMonitors:
        """The server's monitor poll result (only while ``available``)."""
        return self.coordinator.data[self.server_id]

    @override
    def current_placeholders(self) -> dict[str, str]:
        """The monitor's name in the latest poll."""
        return {"monitor": self.server_monitors.monitors[self.monitor_id].name}

    @property
    def current_point(self) -> MonitorPoint | None:
        """The newest point, unless it is too old (by the dashboard's clock) to be current."""
        result = self.server_monitors
        return current_point(result.monitors[self.monitor_id].latest, result.dashboard_time)

    @override
    async def async_added_to_hass(self) -> None:
        """Also hear when the server poll changes whether this server is online (availability)."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self.coordinator.server_coordinator.async_add_listener(
                self._handle_coordinator_update, ServerContext(self.server_id, frozenset())
            )
        )

    @property
    @override
    def available(self) -> bool:
        """Available while the server is online and its monitor poll reported this monitor.

        An offline server measures nothing, so its last latency is no current reading.
        """
        servers = self.coordinator.server_coordinator
        result = self.coordinator.data.get(self.server_id)
        return (
            super().available
            and servers.last_update_success
            and self.server_id in servers.data.online
            and result is not None
            and result.ok
            and self.monitor_id in result.monitors
        )


class NezhaDashboardEntity(NezhaEntity[NezhaServerCoordinator]):
    """An entity of the dashboard device (the whole fleet in scope): it hears of every poll."""

    def __init__(self, coordinator: NezhaServerCoordinator, description: EntityDescription) -> None:
        """Attach the entity to the dashboard device."""
        super().__init__(coordinator)
        entry = coordinator.config_entry
        self.entity_description = description
        self._attr_unique_id = dashboard_unique_id(entry.entry_id, description.key)
        self._attr_device_info = dashboard_device_info(entry.entry_id)


class NezhaCycleEntity(NezhaEntity[NezhaServicesCoordinator]):
    """An entity of one server in one traffic cycle, on the server's device."""

    def __init__(
        self,
        coordinator: NezhaServicesCoordinator,
        server: Server,
        cycle: TrafficCycle,
        description: NezhaCycleEntityDescription,
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


class NezhaServiceEntity(NezhaEntity[NezhaServicesCoordinator]):
    """An entity of one ``/service`` monitor, on the dashboard device: it hears of every poll."""

    def __init__(
        self,
        coordinator: NezhaServicesCoordinator,
        stats: ServiceStats,
        description: EntityDescription,
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


class NezhaActionEntity(NezhaEntity[NezhaActionsCoordinator]):
    """An entity of one dashboard object an action acts on (rule, monitor, task), on the dashboard
    device. It shows what the last read says; each write reads the dashboard again
    (``NezhaActionsCoordinator.async_act``)."""

    def __init__(
        self,
        coordinator: NezhaActionsCoordinator,
        item_id: int,
        unique_id: str,
        placeholders: Mapping[str, str],
    ) -> None:
        """Name the entity after the object (its name in the translation's placeholder)."""
        super().__init__(coordinator)
        self.item_id = item_id
        self._attr_unique_id = unique_id
        self._attr_translation_placeholders = dict(placeholders)
        self._attr_device_info = dashboard_device_info(coordinator.config_entry.entry_id)

    @property
    def object_name(self) -> str:
        """The rule's, monitor's or task's name as the entity shows it (for messages)."""
        return next(iter(self._attr_translation_placeholders.values()))

    @override
    def current_placeholders(self) -> dict[str, str]:
        """The object's name as the last read has it: a rename on the dashboard follows."""
        return dict.fromkeys(self._attr_translation_placeholders, self.item.name)

    @abstractmethod
    def _items(self, data: ActionsData) -> Mapping[int, Any] | None:
        """The objects of this entity's kind in ``data``."""

    @property
    def item(self) -> Any:
        """The object as last read (only while ``available``)."""
        items = self._items(self.coordinator.data)
        assert items is not None
        return items[self.item_id]

    @property
    @override
    def available(self) -> bool:
        """Available while the last read listed the object."""
        if not super().available or self.coordinator.data is None:
            return False
        items = self._items(self.coordinator.data)
        return items is not None and self.item_id in items
