"""Adding entities as servers, ping monitors, traffic cycles, ``/service`` monitors and the objects
actions act on (alert rules, monitors, cron tasks) appear.

Server and monitor trackers look only at the servers a poll changed (all of them when the
coordinator says ``changed_servers is None``), so their work per poll grows with the servers and
monitors in play, never with their product. For cycles and ``/service`` monitors alike: what a
poll reports gets entities, what the coordinator removed as gone for good is forgotten (so a
return creates it anew), and an outage removes nothing. Cycle sensors are created only for
servers the server coordinator has, so they follow the entry's server group. An entity Home
Assistant failed to add (it logs why) is not counted as added: the next poll creates it anew.
"""

from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from homeassistant.core import callback
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import Monitor, Server, ServiceStats, TrafficCycle
from .coordinator import (
    ActionsData,
    NezhaServerCoordinator,
    NezhaServicesCoordinator,
)
from .data import NezhaConfigEntry
from .entity import (
    NezhaActionEntity,
    NezhaCycleEntityDescription,
    NezhaEntity,
    NezhaMonitorEntity,
    NezhaServerEntity,
    NezhaServerEntityDescription,
)
from .state import CycleKey


@callback
def async_track_server_entities[DescriptionT: NezhaServerEntityDescription](
    entry: NezhaConfigEntry,
    descriptions: Iterable[DescriptionT],
    entity_factory: Callable[[NezhaServerCoordinator, Server, DescriptionT], NezhaServerEntity],
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add each server's entities now, and those of servers or features that appear later."""
    coordinator = entry.runtime_data.servers
    descriptions = tuple(descriptions)
    missing: dict[int, tuple[DescriptionT, ...]] = {}
    """For each server seen: the descriptions it has no entity for yet (exists_fn was false)."""

    def create(server: Server, description: DescriptionT) -> NezhaServerEntity:
        entity = entity_factory(coordinator, server, description)

        @callback
        def add_failed() -> None:
            if (still_missing := missing.get(server.id)) is not None:
                missing[server.id] = (*still_missing, description)

        entity.on_add_failed = add_failed
        return entity

    @callback
    def add_new_entities() -> None:
        data = coordinator.data
        server_ids: Iterable[int] = coordinator.changed_servers or ()
        if coordinator.changed_servers is None:
            server_ids = data.servers.keys() | missing.keys()
        new_entities: list[NezhaServerEntity] = []
        for server_id in server_ids:
            server = data.servers.get(server_id)
            if server is None:
                if server_id not in data.absent:  # gone: a return creates its entities anew
                    missing.pop(server_id, None)
                continue
            if not (candidates := missing.get(server_id, descriptions)):
                continue
            added = [description for description in candidates if description.exists_fn(server)]
            missing[server_id] = tuple(d for d in candidates if d not in added)
            new_entities.extend(create(server, d) for d in added)
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
    added: dict[int, set[int]] = {}
    """For each server: the monitors it has an entity for."""

    def create(server: Server, monitor: Monitor) -> NezhaMonitorEntity:
        entity = entity_class(monitors, server, monitor, description)

        @callback
        def add_failed() -> None:
            added.get(server.id, set()).discard(monitor.id)

        entity.on_add_failed = add_failed
        return entity

    @callback
    def sync(server_ids: Iterable[int]) -> None:
        new_entities = []
        for server_id in server_ids:
            server = servers.data.servers.get(server_id)
            if server is None and server_id not in servers.data.absent:
                added.pop(server_id, None)  # gone or forgotten: a return creates them anew
                continue
            if (result := monitors.data.get(server_id)) is None:
                continue  # no monitor poll of it yet; forget only what is known gone
            known = added.setdefault(server_id, set())
            known.intersection_update(result.tracked_ids)
            if server is None:
                continue  # its device keeps what it has; nothing new until it is back
            for monitor in result.monitors.values():
                if monitor.id not in known:
                    known.add(monitor.id)
                    new_entities.append(create(server, monitor))
        if new_entities:
            async_add_entities(new_entities)

    @callback
    def changed_by(changed_servers: frozenset[int] | None) -> Iterable[int]:
        if changed_servers is None:
            return servers.data.tracked_ids | monitors.data.keys() | added.keys()
        return changed_servers

    sync(changed_by(None))
    entry.async_on_unload(
        monitors.async_add_listener(lambda: sync(changed_by(monitors.changed_servers)))
    )
    # Servers removed, forgotten or back between two monitor polls are looked at here.
    entry.async_on_unload(
        servers.async_add_listener(lambda: sync(changed_by(servers.changed_servers)))
    )


@callback
def async_track_cycle_entities[DescriptionT: NezhaCycleEntityDescription](
    entry: NezhaConfigEntry,
    descriptions: Iterable[DescriptionT],
    entity_factory: Callable[
        [NezhaServicesCoordinator, Server, TrafficCycle, DescriptionT],
        NezhaEntity[NezhaServicesCoordinator],
    ],
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add each covered server's sensors of each cycle, now and as cycles or servers appear."""
    services = entry.runtime_data.services
    if services is None:
        return  # 0.x, or /service turned off with the monitors
    servers = entry.runtime_data.servers
    descriptions = tuple(descriptions)
    added: dict[CycleKey, set[str]] = {}
    """For each (rule, server): the keys of the sensors it has."""

    def create(
        server: Server, cycle: TrafficCycle, description: DescriptionT
    ) -> NezhaEntity[NezhaServicesCoordinator]:
        entity = entity_factory(services, server, cycle, description)

        @callback
        def add_failed() -> None:
            added.get((cycle.rule_id, server.id), set()).discard(description.key)

        entity.on_add_failed = add_failed
        return entity

    @callback
    def sync(server_ids: Collection[int] | None) -> None:
        data = services.data
        tracked = data.tracked_cycle_keys
        server_ids_tracked = servers.data.tracked_ids
        for key in list(added):
            # Gone for good (its sensors were removed), or its server's device went with them
            # (left the group): either way a return creates them anew.
            if key not in tracked or key[1] not in server_ids_tracked:
                del added[key]
        new_entities: list[NezhaEntity[NezhaServicesCoordinator]] = []
        for rule_id, cycle in data.cycles.items():
            for server_id, usage in cycle.servers.items():
                if server_ids is not None and server_id not in server_ids:
                    continue
                if (server := servers.data.servers.get(server_id)) is None:
                    continue  # outside the entry's group, or not reported now
                keys = added.setdefault((rule_id, server_id), set())
                for description in descriptions:
                    if description.key not in keys and description.exists_fn(usage):
                        keys.add(description.key)
                        new_entities.append(create(server, cycle, description))
        if new_entities:
            async_add_entities(new_entities)

    sync(None)
    entry.async_on_unload(services.async_add_listener(lambda: sync(services.changed_servers)))
    # A server that appears after the cycle poll that reported it gets its sensors here.
    entry.async_on_unload(servers.async_add_listener(lambda: sync(servers.changed_servers)))


@callback
def async_track_service_entities[DescriptionT: EntityDescription](
    entry: NezhaConfigEntry,
    descriptions: Iterable[DescriptionT],
    entity_factory: Callable[
        [NezhaServicesCoordinator, ServiceStats, DescriptionT],
        NezhaEntity[NezhaServicesCoordinator],
    ],
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add each ``/service`` monitor's entities on the dashboard device, now and as they appear."""
    services = entry.runtime_data.services
    if services is None:
        return
    descriptions = tuple(descriptions)
    added: dict[int, set[str]] = {}
    """For each monitor: the keys of the entities it has."""

    def create(
        stats: ServiceStats, description: DescriptionT
    ) -> NezhaEntity[NezhaServicesCoordinator]:
        entity = entity_factory(services, stats, description)

        @callback
        def add_failed() -> None:
            added.get(stats.id, set()).discard(description.key)

        entity.on_add_failed = add_failed
        return entity

    @callback
    def sync() -> None:
        data = services.data
        for monitor_id in added.keys() - data.tracked_service_ids:
            del added[monitor_id]  # gone for good: a return creates its entities anew
        new_entities: list[NezhaEntity[NezhaServicesCoordinator]] = []
        for monitor_id, stats in data.services.items():
            keys = added.setdefault(monitor_id, set())
            for description in descriptions:
                if description.key not in keys:
                    keys.add(description.key)
                    new_entities.append(create(stats, description))
        if new_entities:
            async_add_entities(new_entities)

    sync()
    entry.async_on_unload(services.async_add_listener(sync))


@callback
def async_track_action_entities(
    entry: NezhaConfigEntry,
    items: Callable[[ActionsData], Mapping[int, Any] | None],
    entity_class: type[NezhaActionEntity],
    async_add_entities: AddConfigEntryEntitiesCallback,
    *,
    unique_id: Callable[[str, int, str], str],
    placeholder: str,
) -> None:
    """Add an entity of ``entity_class`` per object of a kind, now and as objects appear.

    Its unique id is ``unique_id(entry id, object id, its description's key)``; its name holds
    the object's name in the translation placeholder ``placeholder``. Objects that leave a read
    are forgotten here (their entities were removed from the registry by the coordinator), so
    one that comes back gets its entity anew.
    """
    coordinator = entry.runtime_data.actions
    if coordinator is None:
        return  # the option is off, or 0.x
    key = entity_class.entity_description.key
    added: set[int] = set()

    @callback
    def sync() -> None:
        if coordinator.data is None or (current := items(coordinator.data)) is None:
            return
        added.intersection_update(current)
        new_entities: list[Entity] = []
        for item_id, item in current.items():
            if item_id not in added:
                added.add(item_id)
                new_entities.append(
                    entity_class(
                        coordinator,
                        item_id,
                        unique_id(entry.entry_id, item_id, key),
                        {placeholder: item.name},
                    )
                )
        if new_entities:
            async_add_entities(new_entities)

    sync()
    entry.async_on_unload(coordinator.async_add_listener(sync))
