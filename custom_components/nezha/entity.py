"""Base entities: a server's, a ping monitor's, the dashboard's, a traffic cycle's, a monitor's.

(The last: a ``/service`` monitor's, on the dashboard device.) And an action's: a dashboard object
(alert rule, monitor, cron task) an entity acts on.

Each hears only of the polls that changed what it reads (see coordinator/base.py), works out
what it shows (availability, value, attributes) once from the coordinators' data, keeps it in
its ``_attr_*`` and writes only when that changed: a poll where nothing changed writes nothing,
and Home Assistant reads plain attributes when it writes. Home Assistant's own writes (when the
entity is added, when the user changes it in the registry) show the same ``_attr_*``.
"""

from abc import abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, override

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


type Shown = tuple[object, ...]
"""What an entity shows: ``(False,)`` while unavailable, else ``(True, value, attributes)``."""

UNAVAILABLE: Final[Shown] = (False,)


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
    """Shows what its source says, written only on a change, and what time changes when it comes.

    A platform class says what it shows in ``_state_from``, given the object it shows (a server,
    a monitor's summary, a cycle's usage: ``_state_source``, ``None`` while unavailable). A state
    computed from "now" (a billing expiry rolled by auto-renewal, a cycle's end that has passed)
    changes when its time comes, whether or not a poll changes anything: the entity says when in
    ``next_change`` and is looked at again then.
    """

    _attr_has_entity_name = True
    _attr_available = False  # until first looked at, when added
    _shown: Shown = ()
    """What the ``_attr_*`` show now (empty before the first look)."""
    _value_attr: str | None = None
    """The platform's ``_attr_*`` for the value (``_attr_native_value``, ``_attr_is_on``)."""
    on_add_failed: Callable[[], None] | None = None
    """Set by the tracker that created the entity: told when adding it failed, so it can retry."""
    _cancel_time_change: CALLBACK_TYPE | None = None
    _changes_with_time = False
    """Whether the class overrides ``next_change`` (if not, a change schedules nothing)."""
    _follows_renames = False
    """Whether the class overrides ``current_placeholders`` or ``_follow_rename`` (if not,
    nothing to rename)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Note what the class does per change, and where its platform keeps the value."""
        super().__init_subclass__(**kwargs)
        # Most classes never change with time nor follow renames: their changes skip both.
        cls._changes_with_time = cls.next_change is not NezhaEntity.next_change
        cls._follows_renames = (
            cls.current_placeholders is not NezhaEntity.current_placeholders
            or cls._follow_rename is not NezhaEntity._follow_rename
        )
        for name in ("native_value", "is_on"):  # a sensor's, a binary sensor's (a button: none)
            if hasattr(cls, name):
                cls._value_attr = f"_attr_{name}"
                break

    @property
    @override
    def available(self) -> bool:
        """As last looked at: whether the source reports what the entity shows."""
        return self._attr_available

    def _state_source(self) -> object | None:
        """What the entity shows its state from (``None``: it is unavailable)."""
        return self.coordinator.data if self.coordinator.last_update_success else None

    @abstractmethod
    def _state_from(self, source: Any) -> Shown:
        """``(True, value, extra attributes)`` as ``source`` (from ``_state_source``) says."""

    def _show(self, shown: Shown) -> None:
        """Keep ``shown`` in the ``_attr_*`` Home Assistant reads when it writes the state."""
        before, self._shown = self._shown, shown
        # Each ``_attr_*`` set costs Home Assistant's cache invalidation: only what changed.
        if shown[0] is not self._attr_available:
            self._attr_available = bool(shown[0])
        if len(shown) > 1:
            self._show_value(shown[1])
            if len(before) < 2 or shown[2] != before[2]:
                self._attr_extra_state_attributes = shown[2]  # type: ignore[assignment]
        if self._changes_with_time:
            self._schedule_next_change()

    def _show_value(self, value: object) -> None:
        """Set the platform's value attribute (a class showing more than one overrides this)."""
        if self._value_attr is not None:
            setattr(self, self._value_attr, value)

    def next_change(self) -> datetime | None:
        """When what the entity shows next changes with time alone (``None``: never)."""
        return None

    def current_placeholders(self) -> dict[str, str] | None:
        """The name's placeholders as the dashboard names things now (``None``: none to follow)."""
        return None

    @callback
    def _follow_rename(self) -> bool:
        """A monitor or rule renamed on the dashboard renames the entity (its ID stays)."""
        if (
            not self._attr_available
            or (placeholders := self.current_placeholders()) is None
            or placeholders == self.translation_placeholders
        ):
            return False
        self._attr_translation_placeholders = placeholders
        self._renamed()
        return True

    @callback
    def _renamed(self) -> None:
        """Register the name anew (its placeholders or translation key changed)."""
        # Home Assistant caches the name: setting and dropping _attr_name makes it read anew.
        self._attr_name = None
        del self._attr_name
        if self.registry_entry is not None and isinstance(name := self.name, str):
            # The device page lists entities by the name they were registered with.
            er.async_get(self.hass).async_update_entity(self.entity_id, original_name=name)

    @callback
    def _look(self) -> bool:
        """Show what the data says now; whether anything shown (the name included) changed."""
        source = self._state_source()
        shown = UNAVAILABLE if source is None else self._state_from(source)
        changed = shown != self._shown
        if changed:
            self._show(shown)
        if self._follows_renames and self._follow_rename():
            changed = True
        return changed

    @override
    async def async_added_to_hass(self) -> None:
        """Look at the data before Home Assistant writes the first state.

        Also when the same entity is added again (Home Assistant removes and re-adds it when the
        user changes its entity ID): what it showed is shown anew, so the wait for the next
        change with time, cancelled at the removal, starts again.
        """
        await super().async_added_to_hass()
        self.async_on_remove(self._cancel_next_change)
        self._shown = ()
        self._look()

    @callback
    def _cancel_next_change(self) -> None:
        if self._cancel_time_change is not None:
            self._cancel_time_change()
            self._cancel_time_change = None

    @callback
    def _schedule_next_change(self) -> None:
        """Be looked at again when the state changes with time (if it is shown and does)."""
        self._cancel_next_change()
        when = self.next_change() if self._attr_available else None
        if when is not None and when > dt_util.utcnow():
            self._cancel_time_change = async_track_point_in_utc_time(
                self.hass, self._time_changed, when
            )

    @callback
    def _time_changed(self, _now: datetime) -> None:
        self._cancel_time_change = None
        self._handle_coordinator_update()  # a change schedules the next one
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

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        """Write only when something the state shows (the name included) changed: once the
        coordinator told every listener, when it is one that defers the writes."""
        if not self._look():
            return
        # Not isinstance(): HA's coordinator derives from a Protocol, whose check is slow per write.
        if (writes := getattr(self.coordinator, "deferred_writes", None)) is not None:
            writes.append(self)
        else:
            self.async_write_ha_state()


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
        self._requires_online = description.requires_online
        self._attr_unique_id = server_unique_id(entry.entry_id, server.id, description.key)
        self._attr_device_info = server_device_info(
            entry, server, entry.runtime_data.dashboard_device_id
        )

    @property
    def server(self) -> Server:
        """The server's latest data (only while ``available``)."""
        return self.coordinator.data.servers[self.server_id]

    @override
    def _state_source(self) -> Server | None:
        """The server while the dashboard reports it (and it is online, for metrics)."""
        coordinator = self.coordinator
        if not coordinator.last_update_success:
            return None
        data = coordinator.data
        server_id = self.server_id
        if self._requires_online and server_id not in data.online:
            return None
        return data.servers.get(server_id)

    @abstractmethod
    @override
    def _state_from(self, source: Server) -> Shown:
        """``(True, value, extra attributes)`` of the server."""


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

    @override
    async def async_added_to_hass(self) -> None:
        """Also hear when the server poll changes whether this server is online (availability)."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self.coordinator.server_coordinator.async_add_listener(
                self._handle_coordinator_update, ServerContext(self.server_id, frozenset())
            )
        )

    @override
    def _state_source(self) -> ServerMonitors | None:
        """The server's monitor poll while the server is online and it reported this monitor.

        An offline server measures nothing, so its last latency is no current reading.
        """
        servers = self.coordinator.server_coordinator
        result = self.coordinator.data.get(self.server_id)
        if (
            not self.coordinator.last_update_success
            or not servers.last_update_success
            or self.server_id not in servers.data.online
            or result is None
            or not result.ok
            or self.monitor_id not in result.monitors
        ):
            return None
        return result

    def current_point(self, result: ServerMonitors) -> MonitorPoint | None:
        """The newest point, unless it is too old (by the dashboard's clock) to be current."""
        return current_point(result.monitors[self.monitor_id].latest, result.dashboard_time)

    @abstractmethod
    @override
    def _state_from(self, source: ServerMonitors) -> Shown:
        """``(True, value, None)`` from the server's monitor poll."""


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

    @override
    def _state_source(self) -> CycleUsage | None:
        """The server's figures while the last ``/service`` poll reported it in this cycle."""
        if not self.coordinator.last_update_success:
            return None
        return self.coordinator.data.usage(self.rule_id, self.server_id)

    @override
    def current_placeholders(self) -> dict[str, str]:
        """The alert rule's name in the latest poll."""
        return {"rule": self.coordinator.data.cycles[self.rule_id].name}

    def direction(self) -> dict[str, Any] | None:
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
        return {"monitor": self.coordinator.data.services[self.monitor_id].name}

    @override
    def _state_source(self) -> ServiceStats | None:
        """The monitor's summary while the last ``/service`` poll reported it."""
        if not self.coordinator.last_update_success:
            return None
        return self.coordinator.data.services.get(self.monitor_id)


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

    @override
    def _state_source(self) -> object | None:
        """The object while the last read listed it."""
        data = self.coordinator.data
        if not self.coordinator.last_update_success or data is None:
            return None
        items = self._items(data)
        return None if items is None else items.get(self.item_id)
