"""The v0 client (``custom_components.nezha.api``) against the simulated dashboard, over real HTTP.

No Home Assistant here: a plain ``aiohttp.ClientSession`` talks to ``NezhaSimulator`` (or, for
bytes the simulator cannot send, a bare TCP server in this file) on 127.0.0.1.
"""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Sequence
import dataclasses
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
import socket
import subprocess
import sys
import traceback
from types import TracebackType
from typing import Any, Self

import aiohttp
import pytest

from custom_components.nezha import api
from custom_components.nezha.api import (
    API_V0,
    SUPPORTED_APIS,
    Host,
    Monitor,
    MonitorPoint,
    NezhaAuthError,
    NezhaConnectionError,
    NezhaError,
    NezhaResponseError,
    NezhaUnsupportedVersionError,
    NezhaV0Client,
    Server,
    Status,
    Temperature,
    create_client,
)
from nezha_simulator import NEVER_ACTIVE, NezhaSimulator, dumps

from .conftest import DASHBOARD_NOW, TOKEN

pytestmark = pytest.mark.usefixtures("socket_enabled")

API_DIR = Path(__file__).resolve().parents[1] / "custom_components" / "nezha" / "api"
JSON_TYPE = "application/json; charset=utf-8"
Y2001 = 978_307_200.0
"""2001-01-01 00:00:00 UTC: a dashboard clock decades away from the real one."""
SECRET = "SeCrEtT0kEnXyZqWeRtYuIoP98765432"
"""A token that must never show up in an error message (32 letters and digits, like a real one)."""
DETAILS = "/api/v1/server/details"


def utc(seconds: float) -> datetime:
    """Unix seconds as an aware UTC datetime."""
    return datetime.fromtimestamp(seconds, UTC)


def answer_next(
    sim: NezhaSimulator, payload: Any, *, status: int = 200, path: str | None = None
) -> None:
    """Make the simulator answer its next request with this JSON."""
    sim.fail_next(
        1,
        status=status,
        body=json.dumps(payload, ensure_ascii=False),
        content_type=JSON_TYPE,
        path=path,
    )


def details_body(*items: Any) -> dict[str, Any]:
    """A successful ``/server/details`` body with these result items."""
    return {"code": 0, "message": "success", "result": list(items)}


def wire_item(sim: NezhaSimulator, server_id: int) -> Any:
    """A server entry of ``/server/details`` as the dashboard's Go encoder writes it, to edit."""
    return json.loads(dumps(sim.status_response(sim.server(server_id), with_display=True)))


def expected_server(sim: NezhaSimulator, server_id: int) -> Server:
    """What the client should make of a simulated server (unfiltered ``/server/details``).

    Empty strings and non-positive times are unknown (``None``), ``null`` lists are empty, and the
    v0 GPU figure only counts when the host reports GPU models.
    """
    server = sim.server(server_id)
    host, status = server.host, server.status
    last_active = sim.last_active(server)
    if last_active <= 0:  # never seen: its all-zero host and status are no measurements
        return Server(
            id=server.id,
            name=server.name,
            tag=server.tag,
            ipv4=host.ipv4 or None,
            ipv6=host.ipv6 or None,
            display_index=server.display_index,
        )
    return Server(
        id=server.id,
        name=server.name,
        tag=server.tag,
        last_active=utc(last_active) if last_active > 0 else None,
        ipv4=host.ipv4 or None,
        ipv6=host.ipv6 or None,
        display_index=server.display_index,
        host=Host(
            platform=host.platform or None,
            platform_version=host.platform_version or None,
            cpu_models=tuple(host.cpu_names),
            mem_total=host.mem_total,
            disk_total=host.disk_total,
            swap_total=host.swap_total,
            arch=host.arch or None,
            virtualization=host.virtualization or None,
            boot_time=utc(host.boot_time) if host.boot_time > 0 else None,
            country_code=host.country_code or None,
            agent_version=host.agent_version or None,
            gpu_models=tuple(host.gpu_names),
        ),
        status=Status(
            cpu=status.cpu,
            mem_used=status.mem_used,
            swap_used=status.swap_used,
            disk_used=status.disk_used,
            net_in_transfer=status.net_in_transfer,
            net_out_transfer=status.net_out_transfer,
            net_in_speed=status.net_in_speed,
            net_out_speed=status.net_out_speed,
            uptime=status.uptime,
            load_1=status.load1,
            load_5=status.load5,
            load_15=status.load15,
            tcp_connections=status.tcp_conn_count,
            udp_connections=status.udp_conn_count,
            processes=status.process_count,
            temperatures=tuple(Temperature(name, value) for name, value in status.temperatures),
            gpu_usage=(status.gpu,) if host.gpu_names else (),
        ),
    )


class RawDashboard:
    """A bare TCP server answering every request with the same hand-written HTTP response.

    For what aiohttp's server would not send: no ``Date`` header, odd ``Date`` values, bytes
    that are not UTF-8.
    """

    def __init__(
        self,
        body: bytes,
        *,
        status: str = "200 OK",
        headers: Sequence[tuple[str, str]] = (("Content-Type", JSON_TYPE),),
    ) -> None:
        """Answer with ``status``, ``headers`` and ``body`` (``Content-Length`` is added)."""
        self.body = body
        self.status = status
        self.headers = list(headers)
        self.requests: list[bytes] = []
        self.url = ""
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Self:
        """Listen on a free port of 127.0.0.1."""
        self._server = await asyncio.start_server(self._answer, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop listening."""
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            self.requests.append(await reader.readuntil(b"\r\n\r\n"))
            lines = [
                f"HTTP/1.1 {self.status}",
                *(f"{name}: {value}" for name, value in self.headers),
                f"Content-Length: {len(self.body)}",
                "Connection: close",
            ]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body)
            await writer.drain()
        finally:
            writer.close()


# Servers: parsing


async def test_servers_parsed_into_models(fleet: NezhaSimulator, http: aiohttp.ClientSession):
    """Every field of the three fleet servers lands in the models."""
    fleet.server(2).display_index = 4
    client = NezhaV0Client(http, fleet.url, TOKEN)

    snapshot = await client.async_get_servers()

    assert list(snapshot.servers) == [1, 2, 3]
    for server_id in (1, 2, 3):
        assert snapshot.servers[server_id] == expected_server(fleet, server_id)

    gpu_box, vps, new_node = (snapshot.servers[i] for i in (1, 2, 3))
    # The values the fleet fixture put in, spelled out.
    assert (gpu_box.name, gpu_box.tag) == ("gpu-box", "lab")
    assert (gpu_box.ipv4, gpu_box.ipv6) == ("198.51.100.7", "2001:db8::7")
    assert gpu_box.last_active == utc(DASHBOARD_NOW)
    assert gpu_box.host.platform == "ubuntu"
    assert gpu_box.host.platform_version == "24.04"
    assert gpu_box.host.agent_version == "0.20.5"
    assert gpu_box.host.cpu_models == ("AMD Ryzen 9 7950X 16-Core Processor",)
    assert gpu_box.host.gpu_models == ("NVIDIA GeForce RTX 4090",)
    assert gpu_box.host.mem_total == 68_719_476_736
    assert gpu_box.host.swap_total == 0
    assert gpu_box.host.boot_time == utc(DASHBOARD_NOW - 3 * 86400)
    assert gpu_box.status.cpu == 42.5
    assert gpu_box.status.mem_used == 17_179_869_184
    assert gpu_box.status.disk_used == 500_099_733_504
    assert gpu_box.status.load_1 == 3.21
    assert gpu_box.status.uptime == 3 * 86400
    assert gpu_box.status.gpu_usage == (37.5,)
    assert gpu_box.status.temperatures == (
        Temperature("coretemp_package_id_0", 47.0),
        Temperature("nvme_composite", 38.85),
    )
    # No GPU: host GPU is null, so the status GPU figure (always 0 in v0) means nothing.
    assert (vps.tag, vps.ipv4, vps.ipv6) == ("prod", "203.0.113.2", None)
    assert vps.display_index == 4
    assert vps.host.gpu_models == ()
    assert vps.status.gpu_usage == ()
    assert vps.status.temperatures == ()
    assert vps.host.country_code == "hk"
    # Registered, never reported: Go's zero time and an all-zero host and status, which are no
    # measurements: unknown, as 1.x/2.x's empty objects (issue 23).
    assert new_node.last_active is None
    assert new_node.never_seen
    assert (new_node.ipv4, new_node.ipv6) == (None, None)
    assert new_node.host == Host()
    assert new_node.status == Status()

    assert snapshot.dashboard_time == utc(DASHBOARD_NOW)
    request = fleet.requests[-1]
    assert (request.method, request.path_qs) == ("GET", DETAILS)
    # The raw token, no "Bearer": that is all a v0 dashboard accepts.
    assert request.authorization == TOKEN


async def test_dashboard_time_is_the_dashboard_clock(
    simulator: NezhaSimulator, http: aiohttp.ClientSession
):
    """The snapshot carries the dashboard's ``Date``, not the local clock."""
    simulator.freeze_clock(Y2001)
    simulator.add_server("old-timer")
    client = NezhaV0Client(http, simulator.url, TOKEN)

    snapshot = await client.async_get_servers()
    assert snapshot.dashboard_time == utc(Y2001)
    assert snapshot.dashboard_time is not None
    assert snapshot.dashboard_time.tzinfo is UTC
    assert abs(datetime.now(UTC) - snapshot.dashboard_time) > timedelta(days=365 * 20)
    assert snapshot.servers[1].last_active == utc(Y2001)

    simulator.advance(90.6)  # Date has whole seconds
    later = await client.async_get_servers()
    assert later.dashboard_time == utc(Y2001 + 90)
    monitors = await client.async_get_monitors(1)
    assert monitors.dashboard_time == utc(Y2001 + 90)


async def test_offline_server_keeps_last_active(fleet: NezhaSimulator, http: aiohttp.ClientSession):
    """An agent that stopped reporting keeps its last time; after a dashboard restart: never seen."""
    client = NezhaV0Client(http, fleet.url, TOKEN)
    fleet.take_offline(2)
    fleet.advance(600)

    snapshot = await client.async_get_servers()
    assert snapshot.servers[2].last_active == utc(DASHBOARD_NOW)
    assert snapshot.servers[1].last_active == utc(DASHBOARD_NOW + 600)
    assert snapshot.dashboard_time == utc(DASHBOARD_NOW + 600)

    fleet.restart_dashboard()
    snapshot = await client.async_get_servers()
    assert snapshot.servers[2].last_active is None
    assert snapshot.servers[2].host.platform is None
    assert snapshot.servers[1].last_active == utc(DASHBOARD_NOW + 600)


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        pytest.param(None, None, id="missing"),
        pytest.param("", None, id="empty"),
        pytest.param("yesterday at noon", None, id="garbled"),
        pytest.param("Mon, 32 Jan 2001 00:00:00 GMT", None, id="impossible-day"),
        pytest.param("Mon, 01 Jan 2001 00:00:00 GMT", utc(Y2001), id="gmt"),
        pytest.param("Mon, 01 Jan 2001 08:00:00 +0800", utc(Y2001), id="offset"),
        pytest.param("Mon, 01 Jan 2001 00:00:00 -0000", utc(Y2001), id="no-zone"),
    ],
)
async def test_date_header(
    http: aiohttp.ClientSession, date: str | None, expected: datetime | None
):
    """A usable ``Date`` becomes an aware UTC time; a missing or broken one is ``None``."""
    headers = [("Content-Type", JSON_TYPE)]
    if date is not None:
        headers.append(("Date", date))
    body = details_body({"id": 7, "name": "seven", "last_active": int(Y2001)})
    async with RawDashboard(json.dumps(body).encode(), headers=headers) as raw:
        snapshot = await NezhaV0Client(http, raw.url, TOKEN).async_get_servers()

    assert snapshot.dashboard_time == expected
    if expected is not None:
        assert snapshot.dashboard_time is not None
        assert snapshot.dashboard_time.tzinfo is UTC
    # The body is used whatever the Date header says.
    assert list(snapshot.servers) == [7]
    assert snapshot.servers[7].last_active == utc(Y2001)
    assert raw.requests[0].startswith(b"GET /api/v1/server/details HTTP/1.1\r\n")


async def test_servers_sorted_by_id(simulator: NezhaSimulator, http: aiohttp.ClientSession):
    """The dashboard's random order does not matter: servers come back by id."""
    items = [{"id": i, "name": f"s{i}"} for i in (3, 1, 20, 2)]
    answer_next(simulator, details_body(*items))
    snapshot = await NezhaV0Client(http, simulator.url, TOKEN).async_get_servers()
    assert list(snapshot.servers) == [1, 2, 3, 20]
    assert [server.name for server in snapshot.servers.values()] == ["s1", "s2", "s3", "s20"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(details_body(), id="empty-list"),
        pytest.param({"code": 0, "message": "success", "result": None}, id="null"),
        pytest.param({"code": 0, "message": "success"}, id="missing"),
    ],
)
async def test_empty_result(
    simulator: NezhaSimulator, http: aiohttp.ClientSession, body: dict[str, Any]
):
    """No servers is not an error."""
    simulator.freeze_clock(Y2001)
    answer_next(simulator, body)
    snapshot = await NezhaV0Client(http, simulator.url, TOKEN).async_get_servers()
    assert snapshot.servers == {}
    assert snapshot.dashboard_time == utc(Y2001)


# Authentication


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("WrongTokenWrongTokenWrongToken00", id="wrong"),
        pytest.param(f"Bearer {TOKEN}", id="bearer-prefix"),
        pytest.param(TOKEN.lower(), id="wrong-case"),
        pytest.param("", id="empty"),
    ],
)
async def test_refused_token(simulator: NezhaSimulator, http: aiohttp.ClientSession, token: str):
    """HTTP 200 with ``{"code":403}`` is an auth error, for servers and for monitors."""
    simulator.add_server("hidden", hide_for_guest=True)
    client = NezhaV0Client(http, simulator.url, token)

    with pytest.raises(NezhaAuthError, match="refused the API token"):
        await client.async_get_servers()
    assert simulator.requests[-1].authorization == token

    # /monitor treats a bad token as a guest; a guest may not see a hidden server.
    with pytest.raises(NezhaAuthError):
        await client.async_get_monitors(1)


async def test_revoked_token(fleet: NezhaSimulator, http: aiohttp.ClientSession):
    """A token that worked stops working once it is deleted in the admin UI."""
    client = NezhaV0Client(http, fleet.url, TOKEN)
    assert len((await client.async_get_servers()).servers) == 3

    fleet.revoke_token()
    with pytest.raises(NezhaAuthError):
        await client.async_get_servers()


async def test_non_ascii_token(fleet: NezhaSimulator, http: aiohttp.ClientSession):
    """A token no v0 dashboard makes is refused before anything is sent."""
    token = "0123456789abcdefABCDEFghijklmnö€"
    client = NezhaV0Client(http, fleet.url, token)

    with pytest.raises(NezhaAuthError) as err:
        await client.async_get_servers()
    with pytest.raises(NezhaAuthError):
        await client.async_get_monitors(1)

    assert fleet.requests == []
    assert token not in str(err.value)
    assert "€" not in str(err.value)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("0123456789abcdef\nABCDEFghijklmno", id="newline"),
        pytest.param(TOKEN + "\r\n", id="trailing-crlf"),
        pytest.param("0123456789abcdef\x00ABCDEFghijklmno", id="nul"),
    ],
)
async def test_control_character_token(
    fleet: NezhaSimulator, http: aiohttp.ClientSession, token: str
):
    """A token that cannot be a header value is an auth error, like a non-ASCII one."""
    client = NezhaV0Client(http, fleet.url, token)
    with pytest.raises(NezhaAuthError):
        await client.async_get_servers()
    assert fleet.requests == []


# Answers that are not a v0 dashboard's


@pytest.mark.parametrize(
    ("status", "body", "content_type", "error", "message"),
    [
        pytest.param(502, None, "text/html", NezhaConnectionError, "HTTP 502", id="502-page"),
        pytest.param(
            503,
            '{"code":0,"result":[]}',
            JSON_TYPE,
            NezhaConnectionError,
            "HTTP 503",
            id="503-json",
        ),
        pytest.param(
            200,
            '{"code":0,"message":"success","result":[{"id":1,"name":"',
            JSON_TYPE,
            NezhaResponseError,
            "HTTP 200: not JSON",
            id="broken-json",
        ),
        pytest.param(
            200, "[]", JSON_TYPE, NezhaResponseError, r"another shape \(list\)", id="list"
        ),
        pytest.param(
            200, '"success"', JSON_TYPE, NezhaResponseError, r"another shape \(str\)", id="string"
        ),
        pytest.param(200, "{}", JSON_TYPE, NezhaResponseError, "without a Nezha result", id="{}"),
        pytest.param(
            200,
            '{"code":"0","result":[]}',
            JSON_TYPE,
            NezhaResponseError,
            "without a Nezha result",
            id="code-string",
        ),
        pytest.param(
            200,
            '{"code":false,"result":[]}',
            JSON_TYPE,
            NezhaResponseError,
            "without a Nezha result",
            id="code-bool",
        ),
        pytest.param(
            200,
            '{"code":500,"message":"database is locked","result":null}',
            JSON_TYPE,
            NezhaResponseError,
            "HTTP 200: Nezha result code 500",
            id="code-500",
        ),
        pytest.param(
            200,
            '{"code":404,"message":"id不存在"}',
            JSON_TYPE,
            NezhaResponseError,
            "result code 404",
            id="code-404-on-details",
        ),
        pytest.param(
            400,
            '{"code":400,"message":"id参数错误"}',
            JSON_TYPE,
            NezhaResponseError,
            "HTTP 400: Nezha result code 400",
            id="code-400",
        ),
        pytest.param(
            200,
            '{"code":0,"message":"success","result":{"1":{"id":1}}}',
            JSON_TYPE,
            NezhaResponseError,
            "result is dict, not a list",
            id="result-object",
        ),
    ],
)
async def test_bad_answers(
    simulator: NezhaSimulator,
    http: aiohttp.ClientSession,
    status: int,
    body: str | None,
    content_type: str,
    error: type[NezhaError],
    message: str,
):
    """Each misbehaviour maps to its error type, and the client recovers on the next poll."""
    simulator.add_server("only")
    if body is None:
        simulator.fail_next(1, status=status, content_type=content_type)
    else:
        simulator.fail_next(1, status=status, body=body, content_type=content_type)
    client = NezhaV0Client(http, simulator.url, TOKEN)

    with pytest.raises(error, match=message):
        await client.async_get_servers()
    assert list((await client.async_get_servers()).servers) == [1]


async def test_login_page(simulator: NezhaSimulator, http: aiohttp.ClientSession):
    """An SSO proxy's HTTP 200 login page is not JSON."""
    simulator.html_next()
    with pytest.raises(NezhaResponseError, match=r"HTTP 200: not JSON \('<!DOCTYPE html>"):
        await NezhaV0Client(http, simulator.url, TOKEN).async_get_servers()


@pytest.mark.parametrize("sub_path", ["/nezha", "/nezha/", "/api"])
async def test_wrong_path_is_html_404(
    simulator: NezhaSimulator, http: aiohttp.ClientSession, sub_path: str
):
    """A base URL with a path the dashboard does not serve gets its HTML 404 page."""
    client = NezhaV0Client(http, simulator.url + sub_path, TOKEN)
    with pytest.raises(NezhaResponseError, match="HTTP 404: not JSON"):
        await client.async_get_servers()
    assert simulator.requests[-1].path_qs == sub_path.rstrip("/") + DETAILS

    # Not the "unknown server" 404 of /monitor either: that one is JSON.
    with pytest.raises(NezhaResponseError, match="HTTP 404: not JSON"):
        await client.async_get_monitors(1)


async def test_trailing_slash_in_url(fleet: NezhaSimulator, http: aiohttp.ClientSession):
    """``http://host:port/`` and ``http://host:port`` are the same dashboard."""
    snapshot = await NezhaV0Client(http, fleet.url + "/", TOKEN).async_get_servers()
    assert list(snapshot.servers) == [1, 2, 3]
    assert fleet.requests[-1].path_qs == DETAILS


async def test_body_not_utf8(http: aiohttp.ClientSession):
    """Bytes that are not UTF-8 are a response error, not a UnicodeDecodeError."""
    async with RawDashboard(b'{"code":0,"message":"\x80\xff"}') as raw:
        with pytest.raises(NezhaResponseError, match="not JSON"):
            await NezhaV0Client(http, raw.url, TOKEN).async_get_servers()


async def test_deeply_nested_json(simulator: NezhaSimulator, http: aiohttp.ClientSession):
    """Pathological JSON is a response error like any other unusable body."""
    simulator.fail_next(1, status=200, body="[" * 100_000, content_type=JSON_TYPE)
    with pytest.raises(NezhaResponseError):
        await NezhaV0Client(http, simulator.url, TOKEN).async_get_servers()


async def test_newer_dashboard(http: aiohttp.ClientSession):
    """A 1.5+/2.x dashboard has no token API: its JSON 404 says so."""
    async with NezhaSimulator(token=TOKEN, generation="v1") as sim:
        client = NezhaV0Client(http, sim.url, TOKEN)
        with pytest.raises(NezhaUnsupportedVersionError, match=r"Nezha 1\.x or 2\.x"):
            await client.async_get_servers()
        with pytest.raises(NezhaUnsupportedVersionError):
            await client.async_get_monitors(1)
        assert [request.path_qs for request in sim.requests] == [DETAILS, "/api/v1/monitor/1"]


@pytest.mark.parametrize(
    ("status", "payload"),
    [
        pytest.param(200, {"success": True, "data": []}, id="v1-success"),
        pytest.param(200, {"success": False, "error": "ApiErrorUnauthorized"}, id="v1.0-error"),
        pytest.param(200, {"error": "token is expired"}, id="v1-error-only"),
        pytest.param(401, {"error": "ApiErrorUnauthorized: invalid api token"}, id="v2-pat-401"),
        pytest.param(404, {"error": "404 Not Found"}, id="v1.5-404"),
    ],
)
async def test_newer_dashboard_bodies(
    simulator: NezhaSimulator, http: aiohttp.ClientSession, status: int, payload: dict[str, Any]
):
    """Any ``success``/``error`` envelope means 1.x or 2.x, even with an HTTP error status."""
    answer_next(simulator, payload, status=status)
    with pytest.raises(NezhaUnsupportedVersionError):
        await NezhaV0Client(http, simulator.url, TOKEN).async_get_servers()


# Connection problems


async def test_connection_refused(http: aiohttp.ClientSession):
    """Nothing listening on the port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = NezhaV0Client(http, f"http://127.0.0.1:{port}", TOKEN)

    with pytest.raises(NezhaConnectionError, match="ClientConnectorError") as err:
        await client.async_get_servers()
    assert isinstance(err.value.__cause__, aiohttp.ClientConnectorError)
    with pytest.raises(NezhaConnectionError):
        await client.async_get_monitors(1)


async def test_invalid_url(http: aiohttp.ClientSession):
    """A URL without a scheme never leaves the client, and is still a NezhaError."""
    client = NezhaV0Client(http, "dashboard.example", TOKEN)
    with pytest.raises(NezhaConnectionError, match="InvalidUrlClientError"):
        await client.async_get_servers()


async def test_dropped_connection(fleet: NezhaSimulator, http: aiohttp.ClientSession):
    """aiohttp retries a GET once after a disconnect; the second drop is a connection error."""
    client = NezhaV0Client(http, fleet.url, TOKEN)

    fleet.disconnect_next(1)
    assert list((await client.async_get_servers()).servers) == [1, 2, 3]
    assert len(fleet.requests) == 2

    fleet.disconnect_next(2)
    with pytest.raises(NezhaConnectionError, match="ServerDisconnectedError") as err:
        await client.async_get_servers()
    assert isinstance(err.value.__cause__, aiohttp.ServerDisconnectedError)
    assert fleet.pending_faults == 0
    assert len(fleet.requests) == 4

    assert list((await client.async_get_servers()).servers) == [1, 2, 3]


async def test_timeout(fleet: NezhaSimulator, http: aiohttp.ClientSession):
    """The ``timeout`` argument bounds the whole request."""
    client = NezhaV0Client(http, fleet.url, TOKEN, timeout=0.2)

    fleet.slow_next(1.0)
    with pytest.raises(NezhaConnectionError, match=r"^timed out after 0\.2 s$") as err:
        await client.async_get_servers()
    assert isinstance(err.value.__cause__, TimeoutError)

    fleet.slow_next(1.0, path="/api/v1/monitor/")
    with pytest.raises(NezhaConnectionError, match="timed out"):
        await client.async_get_monitors(1)

    # A dashboard that answers within the limit is fine.
    fleet.slow_next(0.05)
    assert list((await client.async_get_servers()).servers) == [1, 2, 3]


# Odd server entries


async def _parse_one(sim: NezhaSimulator, http: aiohttp.ClientSession, item: Any) -> Server:
    """Serve one server entry and return what the client made of it."""
    answer_next(sim, details_body(item))
    snapshot = await NezhaV0Client(http, sim.url, TOKEN).async_get_servers()
    assert len(snapshot.servers) == 1
    return next(iter(snapshot.servers.values()))


async def test_null_host_and_status(fleet: NezhaSimulator, http: aiohttp.ClientSession):
    """``host``/``status`` ``null`` (never in v0.20.13, but cheap to survive): all unknown."""
    item = wire_item(fleet, 1)
    item["host"] = None
    item["status"] = None
    server = await _parse_one(fleet, http, item)
    assert server.host == Host()
    assert server.status == Status()
    assert server.name == "gpu-box"
    assert server.ipv4 == "198.51.100.7"


async def test_null_slices(fleet: NezhaSimulator, http: aiohttp.ClientSession):
    """Go nil slices are ``null``: no CPU/GPU models, no temperatures, so no GPU usage."""
    baseline = expected_server(fleet, 1)
    item = wire_item(fleet, 1)
    item["host"]["CPU"] = None
    item["host"]["GPU"] = None
    item["status"]["Temperatures"] = None
    server = await _parse_one(fleet, http, item)
    assert server.host == dataclasses.replace(baseline.host, cpu_models=(), gpu_models=())
    assert server.status == dataclasses.replace(baseline.status, temperatures=(), gpu_usage=())


async def test_missing_fields(fleet: NezhaSimulator, http: aiohttp.ClientSession):
    """Fields left out are unknown; the name falls back to the id."""
    baseline = expected_server(fleet, 1)
    item = wire_item(fleet, 1)
    for key in ("name", "tag", "last_active", "ipv4", "display_index"):
        del item[key]
    del item["host"]["MemTotal"]
    del item["status"]["CPU"]
    del item["status"]["GPU"]
    server = await _parse_one(fleet, http, item)
    assert server == dataclasses.replace(
        baseline,
        name="#1",
        tag="",
        last_active=None,
        ipv4=None,
        display_index=0,
        host=dataclasses.replace(baseline.host, mem_total=None),
        status=dataclasses.replace(baseline.status, cpu=None, gpu_usage=()),
    )


async def test_extra_fields_ignored(fleet: NezhaSimulator, http: aiohttp.ClientSession):
    """Fields a later dashboard might add change nothing."""
    item = wire_item(fleet, 1)
    item["geoip"] = {"country_code": "de"}
    item["note"] = "rack 4"
    item["host"]["NewField"] = [1, 2]
    item["status"]["GPU2"] = [12.5]
    item["status"]["Temperatures"].append({"Name": "x", "Temperature": 50, "Crit": 90})
    server = await _parse_one(fleet, http, item)
    expected = expected_server(fleet, 1)
    assert server == dataclasses.replace(
        expected,
        status=dataclasses.replace(
            expected.status,
            temperatures=(*expected.status.temperatures, Temperature("x", 50.0)),
        ),
    )


@pytest.mark.parametrize(
    ("section", "key", "value", "attribute"),
    [
        pytest.param("status", "CPU", "42.5", "cpu", id="status-cpu-string"),
        pytest.param("status", "MemUsed", 1.5, "mem_used", id="status-memused-fraction"),
        pytest.param("status", "Load1", True, "load_1", id="status-load1-bool"),
        pytest.param("status", "Uptime", [1], "uptime", id="status-uptime-list"),
        pytest.param("status", "NetInSpeed", None, "net_in_speed", id="status-speed-null"),
        pytest.param("host", "MemTotal", "64G", "mem_total", id="host-memtotal-string"),
        pytest.param("host", "Platform", 7, "platform", id="host-platform-number"),
        pytest.param("host", "Version", {"v": 1}, "agent_version", id="host-version-object"),
        pytest.param("host", "BootTime", "yesterday", "boot_time", id="host-boottime-string"),
        pytest.param("host", "BootTime", 10**20, "boot_time", id="host-boottime-overflow"),
        pytest.param(None, "ipv6", 6, "ipv6", id="ipv6-number"),
        pytest.param(None, "last_active", "now", "last_active", id="last-active-string"),
    ],
)
async def test_wrong_type_in_one_field(
    fleet: NezhaSimulator,
    http: aiohttp.ClientSession,
    section: str | None,
    key: str,
    value: Any,
    attribute: str,
):
    """One value of the wrong type is unknown; everything else of the server is kept."""
    baseline = expected_server(fleet, 1)
    item = wire_item(fleet, 1)
    (item if section is None else item[section])[key] = value

    server = await _parse_one(fleet, http, item)

    unknown: dict[str, Any] = {attribute: None}
    if section is None:
        assert getattr(server, attribute) is None
        assert server == dataclasses.replace(baseline, **unknown)
    else:
        assert getattr(getattr(server, section), attribute) is None
        changed: dict[str, Any] = {
            section: dataclasses.replace(getattr(baseline, section), **unknown)
        }
        assert server == dataclasses.replace(baseline, **changed)


async def test_wrong_types_inside_lists(fleet: NezhaSimulator, http: aiohttp.ClientSession):
    """Bad list entries are skipped, good ones kept; a wrong GPU figure means no GPU usage."""
    item = wire_item(fleet, 1)
    item["host"]["CPU"] = ["EPYC", 4, "", None, "Xeon"]
    item["host"]["GPU"] = "RTX 4090"
    item["status"]["GPU"] = "37.5"
    item["status"]["Temperatures"] = [
        {"Name": "cpu", "Temperature": "hot"},
        {"Temperature": 30},
        "nvme",
        None,
        {"Name": "nvme", "Temperature": 41.5},
        {"Name": "bool", "Temperature": True},
    ]
    server = await _parse_one(fleet, http, item)
    assert server.host.cpu_models == ("EPYC", "Xeon")
    assert server.host.gpu_models == ()
    assert server.status.gpu_usage == ()
    assert server.status.temperatures == (Temperature("", 30.0), Temperature("nvme", 41.5))


async def test_gpu_figure_needs_gpu_models(fleet: NezhaSimulator, http: aiohttp.ClientSession):
    """With GPU models, even 0 % is a reading; an integral JSON number is accepted as a float."""
    item = wire_item(fleet, 1)
    item["status"]["GPU"] = 0
    item["status"]["CPU"] = 3
    item["status"]["MemUsed"] = 1024.0  # an integral float still reads as an int
    server = await _parse_one(fleet, http, item)
    assert server.status.gpu_usage == (0.0,)
    assert server.status.cpu == 3.0
    assert isinstance(server.status.cpu, float)
    assert server.status.mem_used == 1024
    assert isinstance(server.status.mem_used, int)


@pytest.mark.parametrize(
    ("last_active", "expected"),
    [
        pytest.param(NEVER_ACTIVE, None, id="go-zero-time"),
        pytest.param(0, None, id="zero"),
        pytest.param(-1, None, id="negative"),
        pytest.param(10**20, None, id="overflow"),
        pytest.param(1.5, None, id="fraction"),
        pytest.param(None, None, id="null"),
        pytest.param(int(Y2001), utc(Y2001), id="2001"),
        pytest.param(float(DASHBOARD_NOW), utc(DASHBOARD_NOW), id="integral-float"),
    ],
)
async def test_last_active(
    simulator: NezhaSimulator, http: aiohttp.ClientSession, last_active: Any, expected: Any
):
    """``last_active <= 0`` (Go's zero time is -62135596800) means never seen; the server stays."""
    server = await _parse_one(
        simulator, http, {"id": 5, "name": "five", "last_active": last_active}
    )
    assert server.id == 5
    assert server.name == "five"
    assert server.last_active == expected


async def test_entries_without_usable_id_dropped(
    simulator: NezhaSimulator, http: aiohttp.ClientSession
):
    """Entries without a numeric id, and items that are not objects, are skipped."""
    answer_next(
        simulator,
        details_body(
            {"name": "no-id"},
            {"id": None, "name": "null-id"},
            {"id": "7", "name": "string-id"},
            {"id": True, "name": "bool-id"},
            {"id": 2.5, "name": "fraction-id"},
            1,
            "server",
            None,
            [{"id": 9}],
            {"id": 4.0, "name": "float-id"},
            {"id": 5, "name": "good"},
        ),
    )
    snapshot = await NezhaV0Client(http, simulator.url, TOKEN).async_get_servers()
    assert {server_id: server.name for server_id, server in snapshot.servers.items()} == {
        4: "float-id",
        5: "good",
    }


# Tags


async def test_tag_filter(fleet: NezhaSimulator, http: aiohttp.ClientSession):
    """The tag goes to the dashboard, which answers with that group only."""
    client = NezhaV0Client(http, fleet.url, TOKEN)

    lab = await client.async_get_servers("lab")
    assert list(lab.servers) == [1]
    assert fleet.requests[-1].path_qs == DETAILS + "?tag=lab"

    prod = await client.async_get_servers(tag="prod")
    assert list(prod.servers) == [2, 3]
    assert {server.tag for server in prod.servers.values()} == {"prod"}

    assert (await client.async_get_servers("Prod")).servers == {}  # case-sensitive
    unknown = await client.async_get_servers("no-such-tag")
    assert unknown.servers == {}
    assert unknown.dashboard_time == utc(DASHBOARD_NOW)


@pytest.mark.parametrize("tag", [None, ""])
async def test_no_tag_means_all(fleet: NezhaSimulator, http: aiohttp.ClientSession, tag: Any):
    """No tag (or an empty one) sends no ``tag`` parameter and gets every server."""
    snapshot = await NezhaV0Client(http, fleet.url, TOKEN).async_get_servers(tag)
    assert list(snapshot.servers) == [1, 2, 3]
    assert fleet.requests[-1].path_qs == DETAILS


async def test_groups_are_tags(fleet: NezhaSimulator, http: aiohttp.ClientSession):
    """v0's server groups are the tags servers have now, each named as itself."""
    fleet.add_server("untagged")
    assert await NezhaV0Client(http, fleet.url, TOKEN).async_get_groups() == {
        "lab": "lab",
        "prod": "prod",
    }


async def test_tag_with_special_characters(fleet: NezhaSimulator, http: aiohttp.ClientSession):
    """A tag with spaces, ``&``, ``/``, ``#`` and Chinese is encoded, not cut short."""
    tag = "香港 & Co/1#a=b"
    fleet.set_tag(2, tag)
    fleet.set_tag(3, "香港")
    snapshot = await NezhaV0Client(http, fleet.url, TOKEN).async_get_servers(tag)
    assert list(snapshot.servers) == [2]
    assert snapshot.servers[2].tag == tag


# Monitors


async def test_monitors_parsed(fleet: NezhaSimulator, http: aiohttp.ClientSession):
    """Per monitor the newest point (ms timestamps as datetimes) and the series size."""
    client = NezhaV0Client(http, fleet.url, TOKEN)

    snapshot = await client.async_get_monitors(1)

    assert fleet.requests[-1].path_qs == "/api/v1/monitor/1"
    assert fleet.requests[-1].authorization == TOKEN
    assert snapshot.server_id == 1
    assert snapshot.dashboard_time == utc(DASHBOARD_NOW)
    assert list(snapshot.monitors) == [1, 2]
    ping, tcp = snapshot.monitors[1], snapshot.monitors[2]
    assert ping == Monitor(
        id=1,
        server_id=1,
        name="Ping 1.1.1.1",
        latest=MonitorPoint(utc(DASHBOARD_NOW - 60), 13.5),
        point_count=3,
    )
    assert tcp.name == "TCP example.com:443"
    assert tcp.latest == MonitorPoint(utc(DASHBOARD_NOW - 60), 0.0)  # the failed round counts
    assert tcp.point_count == 1

    other = await client.async_get_monitors(2)
    assert other.server_id == 2
    assert other.monitors[1].latest == MonitorPoint(utc(DASHBOARD_NOW - 60), 36.25)
    assert other.monitors[2].latest == MonitorPoint(utc(DASHBOARD_NOW - 60), 80.0)
    assert {monitor.server_id for monitor in other.monitors.values()} == {2}


async def test_monitor_points_truncated_to_minutes(
    fleet: NezhaSimulator, http: aiohttp.ClientSession
):
    """The dashboard sends minute-truncated milliseconds; points outside 24 h are gone."""
    monitor = fleet.add_monitor("Ping 8.8.8.8")
    fleet.add_point(monitor, 2, 1500.0, at=DASHBOARD_NOW - 30.5)  # capped at 1000 ms
    fleet.add_point(monitor, 2, 9.0, at=DASHBOARD_NOW - 25 * 3600)  # out of the window
    snapshot = await NezhaV0Client(http, fleet.url, TOKEN).async_get_monitors(2)
    assert snapshot.monitors[monitor].latest == MonitorPoint(utc(DASHBOARD_NOW - 60), 1000.0)
    assert snapshot.monitors[monitor].point_count == 1


async def test_a_day_of_points_is_counted_not_kept(
    fleet: NezhaSimulator, http: aiohttp.ClientSession
):
    """Of a day of points only the newest is kept, and how many there were."""
    monitor = fleet.add_monitor("Ping 9.9.9.9")
    for minutes_ago in range(1, 24 * 60, 10):
        fleet.add_point(monitor, 2, 20.0 + minutes_ago, at=DASHBOARD_NOW - 60 * minutes_ago)
    snapshot = await NezhaV0Client(http, fleet.url, TOKEN).async_get_monitors(2)
    assert snapshot.monitors[monitor] == Monitor(
        id=monitor,
        server_id=2,
        name="Ping 9.9.9.9",
        latest=MonitorPoint(utc(DASHBOARD_NOW - 60), 21.0),
        point_count=144,
    )


async def test_monitors_result_null(fleet: NezhaSimulator, http: aiohttp.ClientSession):
    """A server without history in the last 24 h: ``result: null`` means no monitors."""
    snapshot = await NezhaV0Client(http, fleet.url, TOKEN).async_get_monitors(3)
    assert snapshot.monitors == {}
    assert snapshot.server_id == 3
    assert snapshot.dashboard_time == utc(DASHBOARD_NOW)


async def test_monitors_unknown_server(fleet: NezhaSimulator, http: aiohttp.ClientSession):
    """HTTP 404 ``{"code":404}``: a server deleted between two polls has no monitors."""
    snapshot = await NezhaV0Client(http, fleet.url, TOKEN).async_get_monitors(999)
    assert snapshot.monitors == {}
    assert snapshot.server_id == 999
    assert snapshot.dashboard_time == utc(DASHBOARD_NOW)
    assert fleet.requests[-1].path_qs == "/api/v1/monitor/999"


async def test_monitors_bad_server_id(fleet: NezhaSimulator, http: aiohttp.ClientSession):
    """An id the dashboard cannot parse is HTTP 400 ``{"code":400}``: a response error."""
    with pytest.raises(NezhaResponseError, match="HTTP 400: Nezha result code 400"):
        await NezhaV0Client(http, fleet.url, TOKEN).async_get_monitors(-1)


async def test_monitors_hidden_server(fleet: NezhaSimulator, http: aiohttp.ClientSession):
    """HideForGuest: HTTP 403 for a guest (bad token), monitors for a valid token."""
    fleet.server(1).hide_for_guest = True
    guest = NezhaV0Client(http, fleet.url, "WrongTokenWrongTokenWrongToken00")

    with pytest.raises(NezhaAuthError):
        await guest.async_get_monitors(1)
    # /monitor never demands a token: a visible server's history is open to guests.
    assert list((await guest.async_get_monitors(2)).monitors) == [1, 2]

    snapshot = await NezhaV0Client(http, fleet.url, TOKEN).async_get_monitors(1)
    assert list(snapshot.monitors) == [1, 2]


async def test_monitors_view_password(fleet: NezhaSimulator, http: aiohttp.ClientSession):
    """A site view password: HTTP 200 ``{"code":403,"message":"访问受限"}`` without a token."""
    fleet.view_password = "let-me-see"
    with pytest.raises(NezhaAuthError):
        await NezhaV0Client(http, fleet.url, "").async_get_monitors(2)
    snapshot = await NezhaV0Client(http, fleet.url, TOKEN).async_get_monitors(2)
    assert list(snapshot.monitors) == [1, 2]


@pytest.mark.parametrize(
    ("delays", "latest", "count"),
    [
        ([10**400, 5], 5.0, 1),  # an int no float holds: no delay
        ([1e308, 1e308], 1e308, 2),  # each finite, their sum not: both count
    ],
)
async def test_a_series_too_big_to_sum_is_read_point_by_point(
    simulator: NezhaSimulator,
    http: aiohttp.ClientSession,
    delays: list[float],
    latest: float,
    count: int,
) -> None:
    """A series that looks clean but whose delays overflow a float sum takes the careful path."""
    simulator.freeze_clock(Y2001)
    t0 = int(Y2001) * 1000
    answer_next(
        simulator,
        {
            "code": 0,
            "message": "success",
            "result": [
                {
                    "monitor_id": 4,
                    "monitor_name": "big",
                    "created_at": [t0, t0 + 60_000],
                    "avg_delay": delays,
                }
            ],
        },
    )
    snapshot = await NezhaV0Client(http, simulator.url, TOKEN).async_get_monitors(3)
    assert snapshot.monitors[4] == Monitor(
        id=4,
        server_id=3,
        name="big",
        latest=MonitorPoint(utc(Y2001 + 60), latest),
        point_count=count,
    )


async def test_monitor_entries_robust(simulator: NezhaSimulator, http: aiohttp.ClientSession):
    """Bad points are skipped, the rest sorted; monitors without a usable id are dropped."""
    simulator.freeze_clock(Y2001)
    t0 = int(Y2001) * 1000
    minute = 60_000
    answer_next(
        simulator,
        {
            "code": 0,
            "message": "success",
            "result": [
                {
                    "monitor_id": 4,
                    "server_id": 99,  # the client files it under the server it asked for
                    "monitor_name": "unsorted",
                    "server_name": "x",
                    "created_at": [t0 + 2 * minute, t0, t0 + minute],
                    "avg_delay": [3, 1.5, 2],
                },
                {
                    "monitor_id": 5,
                    "monitor_name": "bad points",
                    "created_at": [True, "x", -minute, t0, t0 + minute, t0 + 2 * minute, 1.5e12],
                    "avg_delay": [1, 2, 3, None, 5.5, False, 7],
                },
                {
                    "monitor_id": 6,
                    "created_at": [t0, t0 + minute, t0 + 2 * minute],
                    "avg_delay": [10],
                },
                {"monitor_id": 7, "monitor_name": "no series", "created_at": None},
                {"monitor_id": 8, "monitor_name": "series not lists", "avg_delay": {"a": 1}},
                {"monitor_id": "9", "monitor_name": "string id"},
                {"monitor_name": "no id", "created_at": [t0], "avg_delay": [1]},
                "monitor",
                None,
            ],
        },
    )
    snapshot = await NezhaV0Client(http, simulator.url, TOKEN).async_get_monitors(3)

    assert list(snapshot.monitors) == [4, 5, 6, 7, 8]
    # Unsorted: the newest is the latest time, wherever it is in the series.
    assert snapshot.monitors[4] == Monitor(
        id=4,
        server_id=3,
        name="unsorted",
        latest=MonitorPoint(utc(Y2001 + 120), 3.0),
        point_count=3,
    )
    # Only a whole-number time with a number delay makes a point (a float time does not).
    assert snapshot.monitors[5].latest == MonitorPoint(utc(Y2001 + 60), 5.5)
    # Usable points only, as on every generation (models.Monitor.point_count); 0.x counted pairs.
    assert snapshot.monitors[5].point_count == 1
    # Parallel arrays of different lengths: only complete pairs.
    assert snapshot.monitors[6] == Monitor(
        id=6, server_id=3, name="#6", latest=MonitorPoint(utc(Y2001), 10.0), point_count=1
    )
    assert snapshot.monitors[7] == Monitor(id=7, server_id=3, name="no series")
    assert snapshot.monitors[8].latest is None
    assert snapshot.monitors[8].point_count == 0


@pytest.mark.parametrize(
    ("payload", "error", "message"),
    [
        pytest.param(
            {"code": 0, "message": "success", "result": {"monitor_id": 1}},
            NezhaResponseError,
            "result is dict",
            id="result-object",
        ),
        pytest.param(
            {"code": 500, "message": "database is locked", "result": None},
            NezhaResponseError,
            "result code 500",
            id="db-error",
        ),
        pytest.param({"monitor": []}, NezhaResponseError, "without a Nezha result", id="no-code"),
        pytest.param(
            {"success": True, "data": []}, NezhaUnsupportedVersionError, "Nezha 1.x", id="v1"
        ),
    ],
)
async def test_monitor_bad_answers(
    fleet: NezhaSimulator,
    http: aiohttp.ClientSession,
    payload: dict[str, Any],
    error: type[NezhaError],
    message: str,
):
    """The monitor endpoint maps bad answers like the server endpoint."""
    answer_next(fleet, payload)
    with pytest.raises(error, match=message):
        await NezhaV0Client(http, fleet.url, TOKEN).async_get_monitors(1)


# Secrets


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.parametrize(
    ("scenario", "error"),
    [
        ("refused-token", NezhaAuthError),
        ("non-ascii-token", NezhaAuthError),
        ("monitor-hidden", NezhaAuthError),
        ("html", NezhaResponseError),
        ("broken-json", NezhaResponseError),
        ("echoing-json", NezhaResponseError),
        ("newer-dashboard", NezhaUnsupportedVersionError),
        ("bad-gateway", NezhaConnectionError),
        ("refused-connection", NezhaConnectionError),
        ("dropped-connection", NezhaConnectionError),
        ("timeout", NezhaConnectionError),
    ],
)
async def test_errors_never_contain_the_token(
    http: aiohttp.ClientSession, scenario: str, error: type[NezhaError]
):
    """Neither the error, its cause, its traceback text nor the client shows the token."""
    async with NezhaSimulator(token=SECRET, now=Y2001) as sim:
        sim.add_server("hidden", hide_for_guest=True)
        url, token, timeout = sim.url, SECRET, 10.0
        match scenario:
            case "refused-token":
                sim.revoke_token()
            case "non-ascii-token":
                token = SECRET + "é"
            case "monitor-hidden":
                sim.view_password = "x"
                sim.token = "SomethingElse"
            case "html":
                sim.html_next()
            case "broken-json":
                sim.broken_json_next()
            case "echoing-json":  # a proxy that echoes the request headers back
                answer_next(sim, {"headers": {"Authorization": SECRET}})
            case "newer-dashboard":
                sim.generation = "v1"
            case "bad-gateway":
                sim.fail_next()
            case "refused-connection":
                url = _closed_port_url()
            case "dropped-connection":
                sim.disconnect_next(2)
            case "timeout":
                sim.slow_next(1.0)
                timeout = 0.2
        client = NezhaV0Client(http, url, token, timeout=timeout)
        call = (
            client.async_get_monitors(1)
            if scenario == "monitor-hidden"
            else client.async_get_servers()
        )
        with pytest.raises(error) as caught:
            await call

    err = caught.value
    texts = [
        str(err),
        repr(err),
        "".join(traceback.format_exception(err)),
        str(err.args),
        repr(client),
        str(client),
    ]
    assert str(err)  # every error says something
    for text in texts:
        assert SECRET not in text
        assert SECRET[:12] not in text


async def test_echoed_token_not_in_message(simulator: NezhaSimulator, http: aiohttp.ClientSession):
    """A body that repeats the token back must not carry it into the error message."""
    simulator.fail_next(1, status=401, body=f"token={SECRET}\n", content_type="text/plain")
    with pytest.raises(NezhaResponseError, match="HTTP 401: not JSON") as caught:
        await NezhaV0Client(http, simulator.url, SECRET).async_get_servers()
    assert SECRET not in str(caught.value)


# The package


async def test_create_client(fleet: NezhaSimulator, http: aiohttp.ClientSession):
    """``create_client`` builds a working v0 client and refuses generations it lacks."""
    assert SUPPORTED_APIS == (API_V0, "v1", "v2")
    client = create_client(API_V0, http, fleet.url, TOKEN)
    assert isinstance(client, NezhaV0Client)
    assert client.api_version == API_V0 == "v0"
    assert list((await client.async_get_servers()).servers) == [1, 2, 3]
    assert list((await client.async_get_monitors(1)).monitors) == [1, 2]

    with pytest.raises(ValueError, match="unsupported Nezha API generation or credential: v9"):
        create_client("v9", http, fleet.url, TOKEN)
    with pytest.raises(ValueError, match=r"access tokens exist only on Nezha 2\.x"):
        create_client("v1", http, fleet.url, TOKEN)


def test_exports_and_error_hierarchy():
    """Everything in ``__all__`` exists, and every client error is a ``NezhaError``."""
    missing = [name for name in api.__all__ if not hasattr(api, name)]
    assert missing == []
    for error in (
        NezhaAuthError,
        NezhaConnectionError,
        NezhaResponseError,
        NezhaUnsupportedVersionError,
        api.NezhaPermissionError,
        api.NezhaBlockedError,
        api.NezhaRealIpHeaderError,
    ):
        assert issubclass(error, NezhaError)
    assert issubclass(NezhaError, Exception)
    assert Monitor(id=1, server_id=1, name="m").latest is None


def _imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def test_api_imports_no_home_assistant_ast():
    """No module of the package imports Home Assistant, even under TYPE_CHECKING."""
    files = sorted(API_DIR.glob("*.py"))
    assert {path.name for path in files} >= {"__init__.py", "errors.py", "models.py", "v0.py"}
    imports = {path.name: _imported_modules(path) for path in files}
    assert "aiohttp" in imports["v0.py"]  # the walker does see imports
    offenders = {
        name: sorted(m for m in modules if m.split(".")[0] == "homeassistant")
        for name, modules in imports.items()
    }
    assert {name: found for name, found in offenders.items() if found} == {}


_BLOCKED_IMPORT = """
import importlib.abc, importlib.util, sys

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "homeassistant":
            raise ImportError(f"blocked: {name}")
        return None

sys.meta_path.insert(0, Blocker())
api_dir = sys.argv[1]
spec = importlib.util.spec_from_file_location(
    "nezha_api", api_dir + "/__init__.py", submodule_search_locations=[api_dir]
)
module = importlib.util.module_from_spec(spec)
sys.modules["nezha_api"] = module
spec.loader.exec_module(module)
assert not [name for name in sys.modules if name.split(".")[0] == "homeassistant"]
print(module.NezhaV0Client.api_version, sorted(module.__all__) == sorted(set(module.__all__)))
"""


def test_api_imports_without_home_assistant():
    """The package imports and works with Home Assistant made unimportable."""
    result = subprocess.run(
        [sys.executable, "-c", _BLOCKED_IMPORT, str(API_DIR)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["v0", "True"]
