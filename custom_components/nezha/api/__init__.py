"""Async clients for Nezha Monitoring dashboards.

This package never imports Home Assistant. Each dashboard generation has its own client (``v0``
for 0.x; ``v1`` for 1.x and 2.x) that returns the same version-neutral models; ``async_detect``
says from a URL alone which one a dashboard needs.
"""

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import aiohttp

from .auth import API_TOKEN_SHAPE, PAT_SHAPE, Login
from .billing import parse_billing
from .detect import Detection, async_detect
from .errors import (
    NezhaAuthError,
    NezhaBlockedError,
    NezhaCertificateError,
    NezhaConnectionError,
    NezhaError,
    NezhaPermissionError,
    NezhaRealIpHeaderError,
    NezhaResponseError,
    NezhaSchemeError,
    NezhaUnsupportedVersionError,
)
from .models import (
    AlertRule,
    Billing,
    CycleUsage,
    Host,
    Monitor,
    MonitorPoint,
    MonitorsSnapshot,
    Server,
    ServersSnapshot,
    ServicesSnapshot,
    ServiceStats,
    Status,
    Temperature,
    TrafficCycle,
)
from .stream import NezhaServerStream, NezhaStreamError, NezhaStreamHandshakeError, StreamFrame
from .v0 import NezhaV0Client
from .v1 import API_V1, API_V2, NezhaV1Client


class NezhaClient(Protocol):
    """What every dashboard generation's client offers."""

    api_version: str
    """The generation spoken; a 1.x client that meets a 2.x dashboard changes it to ``"v2"``."""

    async def async_get_servers(self, group: Any = None, /) -> ServersSnapshot:
        """Return every server in scope with live status, or only one group's.

        ``group`` is a key of ``async_get_groups``: a tag name (``str``) on 0.x, a server-group
        id (``int``) on 1.x and 2.x.
        """

    async def async_get_groups(self) -> Mapping[Any, str]:
        """Return the server groups to choose from: key to display name."""

    async def async_get_monitors(self, server_id: int, /) -> MonitorsSnapshot:
        """Return one server's ping monitors: each one's newest round and series size."""


@runtime_checkable
class NezhaStreamingClient(Protocol):
    """A client whose dashboard streams its servers live (1.x and 2.x; 0.x has no stream)."""

    async def async_open_stream(self) -> NezhaServerStream:
        """Open the stream of every visible server's full state, a frame every ~2 s."""


@runtime_checkable
class NezhaServicesClient(Protocol):
    """A client of a dashboard with ``/service`` (1.x and 2.x; 0.x has none).

    The integration asks ``isinstance(client, NezhaServicesClient)`` rather than the generation.
    """

    async def async_get_services(self) -> ServicesSnapshot:
        """Return every visible monitor's 30-day summary and every traffic cycle."""

    async def async_get_alert_rules(self) -> Mapping[int, AlertRule]:
        """Return the alert rules (what each traffic cycle counts: in, out or both)."""


API_V0 = NezhaV0Client.api_version
SUPPORTED_APIS = (API_V0, API_V1, API_V2)


def create_client(
    api: str, session: aiohttp.ClientSession, url: str, credential: str | Login
) -> NezhaClient:
    """Return the client for dashboard generation ``api`` (one of ``SUPPORTED_APIS``).

    ``credential``: the API token (0.x), a ``Login`` (1.x, 2.x) or an access token (2.x).
    """
    if api == API_V0 and isinstance(credential, str):
        return NezhaV0Client(session, url, credential)
    if api in (API_V1, API_V2):
        return NezhaV1Client(session, url, credential, api_version=api)
    raise ValueError(f"unsupported Nezha API generation or credential: {api}")


__all__ = [
    "API_TOKEN_SHAPE",
    "API_V0",
    "API_V1",
    "API_V2",
    "PAT_SHAPE",
    "SUPPORTED_APIS",
    "AlertRule",
    "Billing",
    "CycleUsage",
    "Detection",
    "Host",
    "Login",
    "Monitor",
    "MonitorPoint",
    "MonitorsSnapshot",
    "NezhaAuthError",
    "NezhaBlockedError",
    "NezhaCertificateError",
    "NezhaClient",
    "NezhaConnectionError",
    "NezhaError",
    "NezhaPermissionError",
    "NezhaRealIpHeaderError",
    "NezhaResponseError",
    "NezhaSchemeError",
    "NezhaServerStream",
    "NezhaServicesClient",
    "NezhaStreamError",
    "NezhaStreamHandshakeError",
    "NezhaStreamingClient",
    "NezhaUnsupportedVersionError",
    "NezhaV0Client",
    "NezhaV1Client",
    "Server",
    "ServersSnapshot",
    "ServiceStats",
    "ServicesSnapshot",
    "Status",
    "StreamFrame",
    "Temperature",
    "TrafficCycle",
    "async_detect",
    "create_client",
    "parse_billing",
]
