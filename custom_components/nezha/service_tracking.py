"""Adding the entities of traffic cycles and ``/service`` monitors as they appear.

Like tracking.py for servers and monitors: what a poll reports gets entities, what the coordinator
removed as gone for good is forgotten (so a return creates it anew), and an outage removes
nothing. Cycle sensors are created only for servers the server coordinator has, so they follow
the entry's server group. An entity Home Assistant failed to add is not counted as added: the
next poll creates it anew.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import TYPE_CHECKING

from homeassistant.core import callback

if TYPE_CHECKING:
    from homeassistant.helpers.entity import EntityDescription
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .api import Server, ServiceStats, TrafficCycle
    from .coordinator import NezhaServicesCoordinator
    from .data import NezhaConfigEntry
    from .entity import NezhaEntity
    from .service_entities import NezhaCycleSensorEntityDescription
    from .state import CycleKey


@callback
def async_track_cycle_entities(
    entry: NezhaConfigEntry,
    descriptions: Iterable[NezhaCycleSensorEntityDescription],
    entity_factory: Callable[
        [NezhaServicesCoordinator, Server, TrafficCycle, NezhaCycleSensorEntityDescription],
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
        server: Server, cycle: TrafficCycle, description: NezhaCycleSensorEntityDescription
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
