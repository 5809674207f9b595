"""What a loaded entry holds: its client, coordinators and live stream, and the typed entry.

Imports the coordinators and the live stream one way: nothing they import imports this module,
so every module above them (entities, platforms, diagnostics) can name ``NezhaConfigEntry``.
"""

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry

from .api import NezhaClient
from .coordinator import (
    NezhaActionsCoordinator,
    NezhaMonitorCoordinator,
    NezhaServerCoordinator,
    NezhaServicesCoordinator,
)
from .live import NezhaLiveUpdates


@dataclass(slots=True)
class NezhaRuntimeData:
    """Everything a loaded entry holds."""

    client: NezhaClient
    servers: NezhaServerCoordinator
    monitors: NezhaMonitorCoordinator | None
    dashboard_device_id: str
    live: NezhaLiveUpdates | None = None
    """The dashboard's live stream (1.x/2.x, unless turned off in the options)."""
    services: NezhaServicesCoordinator | None = None
    """``/service`` (1.x/2.x): availability and traffic cycles; None on 0.x or when turned off."""
    actions: NezhaActionsCoordinator | None = None
    """What the action entities act on (1.x/2.x, option ``actions``); None when off."""


type NezhaConfigEntry = ConfigEntry[NezhaRuntimeData]
