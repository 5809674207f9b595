"""Adding the entities of servers and monitors as they appear, and forgetting those gone.

Both trackers look only at the servers a poll changed (all of them when the coordinator says
``changed_servers is None``), so their work per poll grows with the servers and monitors in
play, never with their product. An entity Home Assistant failed to add (it logs why) is not
counted as added: the next poll that changes its server creates it anew.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from homeassistant.core import callback

if TYPE_CHECKING:
    from homeassistant.helpers.entity import EntityDescription
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .api import Monitor, Server
    from .coordinator import NezhaServerCoordinator
    from .data import NezhaConfigEntry
    from .entity import NezhaMonitorEntity, NezhaServerEntity, NezhaServerEntityDescription


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
