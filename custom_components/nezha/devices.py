"""Device-registry identity and information for the dashboard and its servers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo

from .const import DOMAIN, MANUFACTURER

if TYPE_CHECKING:
    from .api import Server
    from .coordinator import NezhaConfigEntry


def dashboard_identifier(entry: NezhaConfigEntry) -> tuple[str, str]:
    """The dashboard device's identifier."""
    return (DOMAIN, entry.entry_id)


def server_identifier(entry: NezhaConfigEntry, server_id: int) -> tuple[str, str]:
    """A server device's identifier (stable: Nezha never reuses a server id)."""
    return (DOMAIN, f"{entry.entry_id}_{server_id}")


def server_id_from_identifier(entry: NezhaConfigEntry, identifier: tuple[str, str]) -> int | None:
    """The server id in a server device's identifier, or None for any other device."""
    domain, value = identifier
    prefix = f"{entry.entry_id}_"
    if domain != DOMAIN or not value.startswith(prefix):
        return None
    server_id = value.removeprefix(prefix)
    return int(server_id) if server_id.isdecimal() else None


def server_model(server: Server) -> str | None:
    """Platform with a capital first letter and its version, e.g. "Debian 12.7"."""
    platform = server.host.platform
    if not platform:
        return None
    name = platform[:1].upper() + platform[1:]
    version = server.host.platform_version
    return f"{name} {version}" if version else name


def server_device_info(
    entry: NezhaConfigEntry, server: Server, dashboard_device_id: str
) -> DeviceInfo:
    """What the device registry shows for one server."""
    return DeviceInfo(
        identifiers={server_identifier(entry, server.id)},
        name=server.name,
        manufacturer=MANUFACTURER,
        model=server_model(server),
        sw_version=server.host.agent_version,
        hw_version=server.host.arch,
        configuration_url=entry.data[CONF_URL],
        via_device_id=dashboard_device_id,
    )


def dashboard_device_info(entry: NezhaConfigEntry) -> DeviceInfo:
    """Links an entity to the dashboard device (created by ``async_create_dashboard_device``)."""
    return DeviceInfo(identifiers={dashboard_identifier(entry)})


@callback
def async_create_dashboard_device(hass: HomeAssistant, entry: NezhaConfigEntry) -> dr.DeviceEntry:
    """Create or update the dashboard's device, which the server devices link to."""
    return dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={dashboard_identifier(entry)},
        name=entry.title,
        manufacturer=MANUFACTURER,
        model="Dashboard",
        entry_type=dr.DeviceEntryType.SERVICE,
        configuration_url=entry.data[CONF_URL],
    )
