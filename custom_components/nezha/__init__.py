"""The Nezha Monitoring integration: every server of a Nezha dashboard in Home Assistant."""

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er

from .api import NezhaServicesClient, NezhaStreamingClient
from .const import (
    CONF_LIVE_UPDATES,
    CONF_MONITOR_INTERVAL,
    DEFAULT_LIVE_UPDATES,
    DEFAULT_MONITOR_INTERVAL,
    MONITOR_ENTITY_KEYS,
)
from .coordinator import (
    NezhaMonitorCoordinator,
    NezhaServerCoordinator,
    NezhaServicesCoordinator,
    async_setup_actions,
    client_for_entry,
)
from .data import NezhaConfigEntry, NezhaRuntimeData
from .live import NezhaLiveUpdates
from .registry import (
    async_create_dashboard_device,
    dashboard_identifier,
    is_service_or_cycle_unique_id,
    server_id_from_identifier,
)
from .repair_issues import (
    ISSUE_KINDS,
    ISSUE_MISSING_SCOPE,
    ISSUE_UPGRADE_REFUSED,
    async_withdraw_issues,
)

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.SENSOR,
    Platform.SWITCH,
    Platform.UPDATE,
]


async def async_setup_entry(hass: HomeAssistant, entry: NezhaConfigEntry) -> bool:
    """Set up a Nezha dashboard from a config entry.

    Only the server list is awaited: monitors, ``/service`` (a request per server, seconds at a
    thousand servers) and the actions are read in the background, and their entities appear when
    they answer.
    """
    client = client_for_entry(hass, entry)
    servers = NezhaServerCoordinator(hass, entry, client)
    await servers.async_config_entry_first_refresh()

    monitors: NezhaMonitorCoordinator | None = None
    services: NezhaServicesCoordinator | None = None
    if entry.options.get(CONF_MONITOR_INTERVAL, DEFAULT_MONITOR_INTERVAL):
        monitors = NezhaMonitorCoordinator(hass, entry, client, servers)
        if isinstance(client, NezhaServicesClient):
            services = NezhaServicesCoordinator(hass, entry, client, servers)
    else:
        _async_remove_all_monitor_entities(hass, entry)
        # Nothing asks for monitors or /service now: a scope for them is no longer missing.
        async_withdraw_issues(hass, entry.entry_id, ISSUE_MISSING_SCOPE)

    # Created before the platforms so server devices can name it as their via device.
    dashboard = async_create_dashboard_device(hass, entry)
    entry.runtime_data = NezhaRuntimeData(
        client=client,
        servers=servers,
        monitors=monitors,
        dashboard_device_id=dashboard.id,
        services=services,
        actions=async_setup_actions(hass, entry, client),
    )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    for secondary in (monitors, services, entry.runtime_data.actions):
        if secondary is not None:
            # A failure here leaves their entities unavailable, not the entry; unload cancels it.
            entry.async_create_background_task(
                hass, secondary.async_refresh(), f"nezha first {secondary.name} refresh"
            )

    if isinstance(client, NezhaStreamingClient) and entry.options.get(
        CONF_LIVE_UPDATES, DEFAULT_LIVE_UPDATES
    ):
        entry.runtime_data.live = NezhaLiveUpdates(hass, entry, client, servers)
        entry.runtime_data.live.async_start()
    else:
        # No stream, so no proxy refusing it: a warning from when it was on has no cause left.
        async_withdraw_issues(hass, entry.entry_id, ISSUE_UPGRADE_REFUSED)
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
            entry.entry_id, entity.unique_id
        ):
            entity_registry.async_remove(entity.entity_id)


async def async_unload_entry(hass: HomeAssistant, entry: NezhaConfigEntry) -> bool:
    """Unload a config entry: the platforms first, then, if they went, its live stream."""
    if not await hass.config_entries.async_unload_platforms(entry, PLATFORMS):
        return False  # still loaded: it keeps its stream
    if (live := entry.runtime_data.live) is not None:
        await live.async_stop()
    return True


async def async_remove_entry(hass: HomeAssistant, entry: NezhaConfigEntry) -> None:
    """Withdraw the entry's repair issues when the user deletes it."""
    async_withdraw_issues(hass, entry.entry_id, *ISSUE_KINDS)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: NezhaConfigEntry, device_entry: dr.DeviceEntry
) -> bool:
    """Let the user delete a server device that left the dashboard; never a current one."""
    if dashboard_identifier(entry.entry_id) in device_entry.identifiers:
        return False
    server_ids = {
        server_id
        for identifier in device_entry.identifiers
        if (server_id := server_id_from_identifier(entry.entry_id, identifier)) is not None
    }
    if entry.state is not ConfigEntryState.LOADED:
        return True  # nothing to check against; a current server's device returns on set-up
    servers = entry.runtime_data.servers
    if server_ids & servers.data.servers.keys():
        return False
    for server_id in server_ids:
        servers.async_forget_server(server_id)
    return True
