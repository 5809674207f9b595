"""Async clients for Nezha Monitoring dashboards.

This package never imports Home Assistant. Each dashboard generation has its own module
(``v0`` today; ``v1``/``v2`` later) that returns the same version-neutral models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from .errors import (
    NezhaAuthError,
    NezhaConnectionError,
    NezhaError,
    NezhaResponseError,
    NezhaUnsupportedVersionError,
)
from .models import (
    Host,
    Monitor,
    MonitorPoint,
    MonitorsSnapshot,
    Server,
    ServersSnapshot,
    Status,
    Temperature,
)
from .v0 import NezhaV0Client

if TYPE_CHECKING:
    import aiohttp


class NezhaClient(Protocol):
    """What every dashboard generation's client offers."""

    api_version: str

    async def async_get_servers(self, tag: str | None = None) -> ServersSnapshot:
        """Return every server in scope with live status."""

    async def async_get_monitors(self, server_id: int) -> MonitorsSnapshot:
        """Return one server's ping monitors with their recent points."""


API_V0 = "v0"
SUPPORTED_APIS = (API_V0,)


def create_client(api: str, session: aiohttp.ClientSession, url: str, token: str) -> NezhaClient:
    """Return the client for dashboard generation ``api`` (one of ``SUPPORTED_APIS``)."""
    if api == API_V0:
        return NezhaV0Client(session, url, token)
    raise ValueError(f"unsupported Nezha API generation: {api}")


__all__ = [
    "API_V0",
    "SUPPORTED_APIS",
    "Host",
    "Monitor",
    "MonitorPoint",
    "MonitorsSnapshot",
    "NezhaAuthError",
    "NezhaClient",
    "NezhaConnectionError",
    "NezhaError",
    "NezhaResponseError",
    "NezhaUnsupportedVersionError",
    "NezhaV0Client",
    "Server",
    "ServersSnapshot",
    "Status",
    "Temperature",
    "create_client",
]
