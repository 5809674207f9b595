"""Adding the entities of traffic cycles and ``/service`` monitors as they appear.

Like tracking.py for servers and monitors: what a poll reports gets entities, what the coordinator
removed as gone for good is forgotten (so a return creates it anew), and an outage removes
nothing. Cycle sensors are created only for servers the server coordinator has, so they follow
the entry's server group.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import TYPE_CHECKING

from homeassistant.core import callback

if TYPE_CHECKING:
    from homeassistant.helpers.entity import Entity, EntityDescription
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .api import Server, ServiceStats, TrafficCycle
    from .coordinator import NezhaConfigEntry
    from .service_entities import NezhaCycleSensorEntityDescription
    from .services import CycleKey, NezhaServicesCoordinator


@callback
def async_track_cycle_entities(
    entry: NezhaConfigEntry,
    descriptions: Iterable[NezhaCycleSensorEntityDescription],
    entity_factory: Callable[
        [NezhaServicesCoordinator, Server, TrafficCycle, NezhaCycleSensorEntityDescription],
        Entity,
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
        new_entities: list[Entity] = []
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
                        new_entities.append(entity_factory(services, server, cycle, description))
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
    entity_factory: Callable[[NezhaServicesCoordinator, ServiceStats, DescriptionT], Entity],
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add each ``/service`` monitor's entities on the dashboard device, now and as they appear."""
    services = entry.runtime_data.services
    if services is None:
        return
    descriptions = tuple(descriptions)
    added: set[int] = set()

    @callback
    def sync() -> None:
        data = services.data
        added.intersection_update(data.tracked_service_ids)
        new_entities: list[Entity] = []
        for monitor_id, stats in data.services.items():
            if monitor_id not in added:
                added.add(monitor_id)
                new_entities.extend(entity_factory(services, stats, d) for d in descriptions)
        if new_entities:
            async_add_entities(new_entities)

    sync()
    entry.async_on_unload(services.async_add_listener(sync))
