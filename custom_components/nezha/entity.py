"""Base entities: one for a server's device, one for its ping monitors, one for the dashboard."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, override

from homeassistant.core import callback
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import MONITOR_POINT_MAX_AGE
from .coordinator import NezhaMonitorCoordinator, NezhaServerCoordinator
from .devices import dashboard_device_info, server_device_info

if TYPE_CHECKING:
    from homeassistant.helpers.entity import Entity
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .api import Monitor, MonitorPoint, Server
    from .coordinator import NezhaConfigEntry, ServerMonitors


@dataclass(frozen=True, kw_only=True)
class NezhaServerEntityDescription(EntityDescription):
    """What every server entity description has besides HA's fields."""

    exists_fn: Callable[[Server], bool] = lambda _: True
    """Whether the server has this entity; once true, it is kept (a GPU, temperatures)."""
    requires_online: bool = True
    """Metrics of an offline or never-seen server are stale or zeros, so they are unavailable."""


class NezhaServerEntity(CoordinatorEntity[NezhaServerCoordinator]):
    """An entity of one server's device."""

    _attr_has_entity_name = True
    entity_description: NezhaServerEntityDescription

    def __init__(
        self,
        coordinator: NezhaServerCoordinator,
        server: Server,
        description: NezhaServerEntityDescription,
    ) -> None:
        """Attach the entity to the server's device."""
        super().__init__(coordinator)
        entry = coordinator.config_entry
        self.entity_description = description
        self.server_id = server.id
        self._attr_unique_id = f"{entry.entry_id}_{server.id}_{description.key}"
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
        server = self.coordinator.data.servers.get(self.server_id)
        return (
            super().available
            and server is not None
            and (not self.entity_description.requires_online or self.coordinator.is_online(server))
        )


class NezhaMonitorEntity(CoordinatorEntity[NezhaMonitorCoordinator]):
    """An entity of one ping monitor, on the device of the server that runs it."""

    _attr_has_entity_name = True

    def __init__(
        self,
        coordinator: NezhaMonitorCoordinator,
        server: Server,
        monitor: Monitor,
        description: EntityDescription,
    ) -> None:
        """Attach the entity to the server's device; the monitor's name goes into the entity name."""
        super().__init__(coordinator)
        entry = coordinator.config_entry
        self.entity_description = description
        self.server_id = server.id
        self.monitor_id = monitor.id
        self._attr_unique_id = f"{entry.entry_id}_{server.id}_{monitor.id}_{description.key}"
        self._attr_translation_placeholders = {"monitor": monitor.name}
        self._servers_ok = coordinator.server_coordinator.last_update_success
        self._attr_device_info = server_device_info(
            entry, server, entry.runtime_data.dashboard_device_id
        )

    @property
    def server_monitors(self) -> ServerMonitors:
        """The server's monitor poll result (only while ``available``)."""
        return self.coordinator.data[self.server_id]

    @property
    def monitor(self) -> Monitor:
        """The monitor's latest data (only while ``available``)."""
        return self.server_monitors.monitors[self.monitor_id]

    @property
    def current_point(self) -> MonitorPoint | None:
        """The newest point, unless it is too old (by the dashboard's clock) to be current."""
        point = self.monitor.latest
        dashboard_time = self.server_monitors.dashboard_time
        if point is None or (
            dashboard_time is not None and dashboard_time - point.time > MONITOR_POINT_MAX_AGE
        ):
            return None
        return point

    @override
    async def async_added_to_hass(self) -> None:
        """Also follow the server coordinator: its outages make this entity unavailable at once."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self.coordinator.server_coordinator.async_add_listener(self._async_servers_polled)
        )

    @callback
    def _async_servers_polled(self) -> None:
        # Only availability depends on the server poll: write the state when that changes, not
        # every monitor entity after every server poll.
        servers_ok = self.coordinator.server_coordinator.last_update_success
        if servers_ok != self._servers_ok:
            self._servers_ok = servers_ok
            self.async_write_ha_state()

    @property
    @override
    def available(self) -> bool:
        """Available while the dashboard answers and the server's monitor poll reported this one."""
        result = self.coordinator.data.get(self.server_id)
        return (
            super().available
            and self.coordinator.server_coordinator.last_update_success
            and result is not None
            and result.ok
            and self.monitor_id in result.monitors
        )


class NezhaDashboardEntity(CoordinatorEntity[NezhaServerCoordinator]):
    """An entity of the dashboard device (the whole fleet in scope)."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: NezhaServerCoordinator, description: EntityDescription) -> None:
        """Attach the entity to the dashboard device."""
        super().__init__(coordinator)
        entry = coordinator.config_entry
        self.entity_description = description
        self._attr_unique_id = f"{entry.entry_id}_{description.key}"
        self._attr_device_info = dashboard_device_info(entry)


@callback
def async_track_server_entities[DescriptionT: NezhaServerEntityDescription](
    entry: NezhaConfigEntry,
    descriptions: Iterable[DescriptionT],
    entity_factory: Callable[[NezhaServerCoordinator, Server, DescriptionT], Entity],
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add each server's entities now, and those of servers or features that appear later."""
    coordinator = entry.runtime_data.servers
    descriptions = tuple(descriptions)
    added: set[tuple[int, str]] = set()

    @callback
    def add_new_entities() -> None:
        tracked = coordinator.data.tracked_ids
        added.intersection_update({key for key in added if key[0] in tracked})
        new_entities = []
        for server in coordinator.data.servers.values():
            for description in descriptions:
                if (server.id, description.key) not in added and description.exists_fn(server):
                    added.add((server.id, description.key))
                    new_entities.append(entity_factory(coordinator, server, description))
        if new_entities:
            async_add_entities(new_entities)

    add_new_entities()
    entry.async_on_unload(coordinator.async_add_listener(add_new_entities))


@callback
def async_track_monitor_entities(
    entry: NezhaConfigEntry,
    description: EntityDescription,
    entity_class: type[NezhaMonitorEntity],
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add an entity for each ping monitor now, and for monitors that appear later."""
    monitors = entry.runtime_data.monitors
    if monitors is None:
        return  # monitors are turned off in the options
    servers = entry.runtime_data.servers
    added: set[tuple[int, int]] = set()

    def still_tracked(server_id: int, monitor_id: int) -> bool:
        # A server missing from a poll has no monitor result; forget only what is known gone.
        result = monitors.data.get(server_id)
        return server_id in servers.data.tracked_ids and (
            result is None or monitor_id in result.tracked_ids
        )

    @callback
    def add_new_entities() -> None:
        added.intersection_update({key for key in added if still_tracked(*key)})
        new_entities = []
        for server_id, result in monitors.data.items():
            server = servers.data.servers.get(server_id)
            if server is None:
                continue
            for monitor in result.monitors.values():
                if (server_id, monitor.id) not in added:
                    added.add((server_id, monitor.id))
                    new_entities.append(entity_class(monitors, server, monitor, description))
        if new_entities:
            async_add_entities(new_entities)

    add_new_entities()
    entry.async_on_unload(monitors.async_add_listener(add_new_entities))
    # Servers removed (or forgotten) between two monitor polls must be forgotten here as well.
    entry.async_on_unload(servers.async_add_listener(add_new_entities))
