"""The coordinators: the server list (and live frames), the ping monitors, ``/service``, actions.

One module per coordinator and ``base.py`` for what they share: together they pass the ~500
lines a single ``coordinator.py`` would keep readable. None imports an entity or the entry's
runtime data (``data.py``): they take a plain config entry and what they need.
"""

from .actions import ActionsData, NezhaActionsCoordinator, async_setup_actions
from .base import (
    ServerContext,
    ServerDispatchCoordinator,
    client_for_entry,
    entry_group,
    update_failed,
)
from .monitors import NezhaMonitorCoordinator
from .servers import NezhaServerCoordinator
from .services import NezhaServicesCoordinator

__all__ = [
    "ActionsData",
    "NezhaActionsCoordinator",
    "NezhaMonitorCoordinator",
    "NezhaServerCoordinator",
    "NezhaServicesCoordinator",
    "ServerContext",
    "ServerDispatchCoordinator",
    "async_setup_actions",
    "client_for_entry",
    "entry_group",
    "update_failed",
]
