"""The Nezha Monitoring integration: every server of a Nezha dashboard in Home Assistant."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)

from .actions_coordinator import ISSUE_ACTIONS_SCOPES, async_setup_actions
from .api import NezhaServicesClient, NezhaStreamingClient
from .const import (
    CONF_LIVE_UPDATES,
    CONF_MONITOR_INTERVAL,
    DEFAULT_LIVE_UPDATES,
    DEFAULT_MONITOR_INTERVAL,
    DOMAIN,
    MONITOR_ENTITY_KEYS,
)
from .coordinator import (
    ISSUE_KINDS,
    NezhaConfigEntry,
    NezhaRuntimeData,
    NezhaServerCoordinator,
    client_for_entry,
    issue_id,
)
from .devices import (
    async_create_dashboard_device,
    dashboard_identifier,
    is_service_or_cycle_unique_id,
    server_id_from_identifier,
)
from .live import NezhaLiveUpdates
from .monitors import NezhaMonitorCoordinator
from .services import NezhaServicesCoordinator, async_withdraw_missing_scope

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.SENSOR,
    Platform.SWITCH,
    Platform.UPDATE,
]


async def async_setup_entry(hass: HomeAssistant, entry: NezhaConfigEntry) -> bool:
    """Set up a Nezha dashboard from a config entry."""
    client = client_for_entry(hass, entry)
    servers = NezhaServerCoordinator(hass, entry, client)
    await servers.async_config_entry_first_refresh()

    monitors: NezhaMonitorCoordinator | None = None
    services: NezhaServicesCoordinator | None = None
    if entry.options.get(CONF_MONITOR_INTERVAL, DEFAULT_MONITOR_INTERVAL):
        monitors = NezhaMonitorCoordinator(hass, entry, client, servers)
        # Monitors are secondary: a failure here leaves their entities unavailable, not the entry.
        await monitors.async_refresh()
        if isinstance(client, NezhaServicesClient):
            services = NezhaServicesCoordinator(hass, entry, client, servers)
            await services.async_refresh()
    else:
        _async_remove_all_monitor_entities(hass, entry)
        # Nothing asks for monitors or /service now: a scope for them is no longer missing.
        async_withdraw_missing_scope(hass, entry)

    # Created before the platforms so server devices can name it as their via device.
    dashboard = async_create_dashboard_device(hass, entry)
    entry.runtime_data = NezhaRuntimeData(
        client=client,
        servers=servers,
        monitors=monitors,
        dashboard_device_id=dashboard.id,
        services=services,
        actions=await async_setup_actions(hass, entry, client),
    )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)

    if isinstance(client, NezhaStreamingClient) and entry.options.get(
        CONF_LIVE_UPDATES, DEFAULT_LIVE_UPDATES
    ):
        entry.runtime_data.live = NezhaLiveUpdates(hass, entry, client, servers)
        entry.runtime_data.live.async_start()
    return True


@callback
def _async_remove_all_monitor_entities(hass: HomeAssistant, entry: NezhaConfigEntry) -> None:
    """Monitors were turned off in the options: drop their entities rather than leave them dead.

    ``/service`` (availability, traffic cycles) follows the same option, so its entities go too.
    """
    entity_registry = er.async_get(hass)
    suffixes = tuple(f"_{key}" for key in MONITOR_ENTITY_KEYS.values())
    for entity in er.async_entries_for_config_entry(entity_registry, entry.entry_id):
        if entity.unique_id.endswith(suffixes) or is_service_or_cycle_unique_id(
            entry, entity.unique_id
        ):
            entity_registry.async_remove(entity.entity_id)


async def async_unload_entry(hass: HomeAssistant, entry: NezhaConfigEntry) -> bool:
    """Unload a config entry; its live stream is closed first, at once."""
    if (live := entry.runtime_data.live) is not None:
        await live.async_stop()
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: NezhaConfigEntry) -> None:
    """Withdraw the entry's repair issues when the user deletes it."""
    for kind in (*ISSUE_KINDS, ISSUE_ACTIONS_SCOPES):
        ir.async_delete_issue(hass, DOMAIN, issue_id(kind, entry))


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: NezhaConfigEntry, device_entry: dr.DeviceEntry
) -> bool:
    """Let the user delete a server device that left the dashboard; never a current one."""
    if dashboard_identifier(entry) in device_entry.identifiers:
        return False
    server_ids = {
        server_id
        for identifier in device_entry.identifiers
        if (server_id := server_id_from_identifier(entry, identifier)) is not None
    }
    if entry.state is not ConfigEntryState.LOADED:
        return True  # nothing to check against; a current server's device returns on set-up
    servers = entry.runtime_data.servers
    if server_ids & servers.data.servers.keys():
        return False
    for server_id in server_ids:
        servers.async_forget_server(server_id)
    return True
