"""Client for the Nezha v0 dashboard token API (Nezha 0.x, last release v0.20.13).

Real dashboards differ from their documentation (see NEZHA_API.md Part A): a bad token is HTTP 200
with ``{"code": 403}``; empty lists are ``null`` in places; ``host``/``status`` keys are PascalCase;
the order of servers is random; ``last_active`` is ``-62135596800`` for a server never seen.
"""

import asyncio
from collections.abc import Mapping
from datetime import datetime
import logging
from typing import Any

import aiohttp
from yarl import URL

from .errors import NezhaAuthError, NezhaResponseError, NezhaUnsupportedVersionError
from .models import Host, MonitorsSnapshot, Server, ServersSnapshot, Status
from .parsing import (
    decode_json_object,
    has_report,
    integer,
    mapping,
    monitors_snapshot,
    number,
    objects,
    temperatures,
    text,
    text_tuple,
    unix_seconds,
    unsigned,
)
from .transport import DEFAULT_TIMEOUT, MAX_CONCURRENT_REQUESTS, fetch

_LOGGER = logging.getLogger(__name__)

_CODE_OK = 0
_CODE_FORBIDDEN = 403
_CODE_NOT_FOUND = 404


class NezhaV0Client:
    """Reads servers and ping monitors from a Nezha v0 dashboard with an API token."""

    api_version = "v0"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        token: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_concurrent: int = MAX_CONCURRENT_REQUESTS,
    ) -> None:
        """Use ``session`` (shared, owned by the caller) for a dashboard at ``url``.

        At most ``max_concurrent`` requests of this client are in flight at once, whichever
        method sends them; the others wait their turn (the timeout starts when one is sent).
        """
        self._session = session
        self._base = URL(url.rstrip("/"))
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._limit = asyncio.Semaphore(max_concurrent)

    async def async_get_servers(self, tag: str | None = None) -> ServersSnapshot:
        """Return every server in scope (one tag, or all when ``tag`` is empty) with live status."""
        params = {"tag": tag} if tag else {}
        payload, dashboard_time = await self._request("server/details", params)
        servers: dict[int, Server] = {}
        for item in objects(payload.get("result"), "result"):
            if (server := _parse_server(item)) is not None:
                servers[server.id] = server
        return ServersSnapshot(servers=dict(sorted(servers.items())), dashboard_time=dashboard_time)

    async def async_get_groups(self) -> dict[str, str]:
        """The tags servers have now: v0's server groups, each its own name."""
        snapshot = await self.async_get_servers()
        return {tag: tag for tag in sorted({s.tag for s in snapshot.servers.values() if s.tag})}

    async def async_get_monitors(self, server_id: int) -> MonitorsSnapshot:
        """Return the ping monitors of one server, each with its newest point.

        A server the dashboard no longer knows has no monitors (it was deleted between two polls).
        """
        payload, dashboard_time = await self._request(f"monitor/{server_id}", {}, missing_ok=True)
        # Code 404: the dashboard no longer knows the server (deleted between two polls).
        items = (
            []
            if payload.get("code") == _CODE_NOT_FOUND
            else objects(payload.get("result"), "result")
        )
        return monitors_snapshot(items, server_id, dashboard_time)

    async def _request(
        self, path: str, params: Mapping[str, str], *, missing_ok: bool = False
    ) -> tuple[dict[str, Any], datetime | None]:
        """GET ``/api/v1/<path>`` and return the checked JSON body and the dashboard's clock."""
        if not (self._token.isascii() and self._token.isprintable()):
            # v0 tokens are 32 ASCII letters and digits; anything else (a non-ASCII letter, a line
            # break pasted inside) cannot be a header value, and aiohttp would raise a bare error.
            raise NezhaAuthError("the API token contains characters a v0 token never has")
        async with self._limit:
            reply = await fetch(
                self._session,
                "GET",
                self._base / "api/v1" / path,
                limits=self._timeout,
                headers={"Authorization": self._token},
                params=params,
            )
        status, dashboard_time = reply.status, reply.dashboard_time
        payload = decode_json_object(reply.body, status, (self._token,))
        if "error" in payload or "success" in payload:
            raise NezhaUnsupportedVersionError(
                "the dashboard answers like Nezha 1.x or 2.x, which has no v0 API"
            )
        code = payload.get("code")
        if not isinstance(code, int) or isinstance(code, bool):
            raise NezhaResponseError(f"HTTP {status}: JSON without a Nezha result code")
        if code == _CODE_FORBIDDEN:
            raise NezhaAuthError("the dashboard refused the API token")
        if code == _CODE_NOT_FOUND and missing_ok:
            return payload, dashboard_time
        if code != _CODE_OK:
            raise NezhaResponseError(f"HTTP {status}: Nezha result code {code}")
        return payload, dashboard_time


def _parse_server(item: Mapping[str, Any]) -> Server | None:
    server_id = unsigned(item, "id")
    if server_id is None:
        _LOGGER.debug("Skipping a server entry without a numeric id")
        return None
    seconds = integer(item, "last_active")
    last_active = unix_seconds(seconds)
    host_data, status_data = mapping(item, "host"), mapping(item, "status")
    # Never seen since the dashboard started: every host and status value is zero or empty,
    # which are no measurements (the same as 1.x/2.x's empty objects).
    reported = has_report(status_data)
    host = _parse_host(host_data) if last_active or has_report(host_data) else Host()
    # 0.x keeps the time of a stopped agent's last report; a zero time with a report kept means
    # what it means on 2.x (models.Server.disconnected).
    disconnected = seconds is not None and seconds <= 0 and reported
    return Server(
        id=server_id,
        name=text(item, "name") or f"#{server_id}",
        tag=text(item, "tag") or "",
        last_active=last_active,
        disconnected=disconnected,
        ipv4=text(item, "ipv4"),
        ipv6=text(item, "ipv6"),
        display_index=integer(item, "display_index") or 0,
        host=host,
        status=_parse_status(status_data, has_gpu=bool(host.gpu_models))
        if last_active or reported
        else Status(),
    )


def _parse_host(data: Mapping[str, Any]) -> Host:
    return Host(
        platform=text(data, "Platform"),
        platform_version=text(data, "PlatformVersion"),
        cpu_models=text_tuple(data, "CPU"),
        mem_total=unsigned(data, "MemTotal"),
        disk_total=unsigned(data, "DiskTotal"),
        swap_total=unsigned(data, "SwapTotal"),
        arch=text(data, "Arch"),
        virtualization=text(data, "Virtualization"),
        boot_time=unix_seconds(integer(data, "BootTime")),
        country_code=text(data, "CountryCode"),
        agent_version=text(data, "Version"),
        gpu_models=text_tuple(data, "GPU"),
    )


def _parse_status(data: Mapping[str, Any], *, has_gpu: bool) -> Status:
    gpu = number(data, "GPU")
    return Status(
        cpu=number(data, "CPU"),
        mem_used=unsigned(data, "MemUsed"),
        swap_used=unsigned(data, "SwapUsed"),
        disk_used=unsigned(data, "DiskUsed"),
        net_in_transfer=unsigned(data, "NetInTransfer"),
        net_out_transfer=unsigned(data, "NetOutTransfer"),
        net_in_speed=unsigned(data, "NetInSpeed"),
        net_out_speed=unsigned(data, "NetOutSpeed"),
        uptime=unsigned(data, "Uptime"),
        load_1=number(data, "Load1"),
        load_5=number(data, "Load5"),
        load_15=number(data, "Load15"),
        tcp_connections=unsigned(data, "TcpConnCount"),
        udp_connections=unsigned(data, "UdpConnCount"),
        processes=unsigned(data, "ProcessCount"),
        temperatures=temperatures(data.get("Temperatures")),
        # v0 always sends a GPU figure (0 without a GPU); it means something only with GPU models.
        gpu_usage=(gpu,) if has_gpu and gpu is not None else (),
    )
