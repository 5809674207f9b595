"""The 1.x/2.x client's parsing and edge cases against a fake dashboard (``fake_dashboard.py``).

Exact models from v2.3.7-shaped bodies, and the answers the simulator never sends: oversized
bodies, pages echoing credentials, a 2.0.x dashboard without access tokens. What a dashboard
does (logins, expiry, the WAF, scopes) is tested against the simulator in ``test_api_v1_sim.py``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
import socket
from typing import Any

import aiohttp
import pytest

from custom_components.nezha.api import (
    Detection,
    Host,
    Login,
    Monitor,
    MonitorPoint,
    NezhaAuthError,
    NezhaConnectionError,
    NezhaPermissionError,
    NezhaResponseError,
    NezhaV1Client,
    Server,
    Status,
    Temperature,
    async_detect,
    create_client,
)
from custom_components.nezha.api.transport import MAX_BODY_BYTES

from .fake_dashboard import (
    GROUPS,
    JWT,
    NEVER_REPORTED,
    PASSWORD,
    PAT,
    SERIES,
    SERVER,
    SIGNED_IN,
    Chunked,
    FakeDashboard,
)

CST = timezone(timedelta(hours=8))


def ok(data: Any) -> tuple[int, Any]:
    """A success envelope (``data`` left out when ``None``, as Go's omitempty does)."""
    return 200, {"success": True} if data is None else {"success": True, "data": data}


def login_client(
    fake: FakeDashboard, http: aiohttp.ClientSession, api: str = "v1"
) -> NezhaV1Client:
    """A client signing in as admin; the fake accepts the login."""
    fake.answers["login"] = SIGNED_IN
    return NezhaV1Client(http, fake.url, Login("admin", PASSWORD), api_version=api)


async def test_servers_parsed_into_models(fake: FakeDashboard, http: aiohttp.ClientSession):
    """A reported server: omitted zeros are 0, per-GPU usage, geoip; a new one is all unknown."""
    fake.answers["server"] = ok([SERVER, NEVER_REPORTED])
    snapshot = await login_client(fake, http).async_get_servers()

    assert list(snapshot.servers) == [3, 4]
    assert snapshot.servers[3] == Server(
        id=3,
        name="hk-01",
        last_active=datetime(2026, 8, 17, 11, 40, 0, 123456, tzinfo=CST),
        ipv4="203.0.113.3",
        ipv6="2001:db8::3",
        display_index=10,
        host=Host(
            platform="ubuntu",
            platform_version="24.04",
            cpu_models=("AMD EPYC 7B13 2 Virtual Core",),
            mem_total=4109926400,
            disk_total=42006183936,
            swap_total=1073737728,
            arch="x86_64",
            virtualization="kvm",
            boot_time=datetime.fromtimestamp(1785542400, UTC),
            country_code="hk",
            agent_version="2.3.3",
            gpu_models=("NVIDIA A10", "NVIDIA A10"),
        ),
        status=Status(
            cpu=3.01,
            mem_used=1022361600,
            swap_used=0,  # omitempty
            disk_used=9126805504,
            net_in_transfer=123456789,
            net_out_transfer=987654321,
            net_in_speed=2048,
            net_out_speed=4096,
            uptime=1395600,
            load_1=0.12,
            load_5=0.0,
            load_15=0.0,
            tcp_connections=42,
            udp_connections=0,
            processes=131,
            temperatures=(Temperature("coretemp_package_id_0", 47.0),),
            gpu_usage=(12.5, 80.0),
        ),
        public_note='{"billingDataMod":{}}',
    )
    assert snapshot.servers[4] == Server(id=4, name="clever-heron")
    assert snapshot.dashboard_time is not None


async def test_omitted_host_totals_are_unknown(fake: FakeDashboard, http: aiohttp.ClientSession):
    """A left-out host total (no swap) is unknown, while a left-out state figure is 0."""
    host = {key: value for key, value in SERVER["host"].items() if key != "swap_total"}
    fake.answers["server"] = ok([SERVER | {"host": host, "state": {}}])
    server = (await login_client(fake, http).async_get_servers()).servers[3]
    assert server.host.swap_total is None
    assert server.status.cpu == 0.0
    assert server.status.swap_used == 0
    assert server.status.gpu_usage == ()


async def test_odd_values_stay_unknown(fake: FakeDashboard, http: aiohttp.ClientSession):
    """A state figure of the wrong type is unknown, not 0; a bad time is never."""
    state = SERVER["state"] | {"cpu": "high", "mem_used": -1, "gpu": [1, "x", None, 2.5]}
    fake.answers["server"] = ok(
        [SERVER | {"state": state}, SERVER | {"id": 7, "last_active": "soon"}]
    )
    servers = (await login_client(fake, http).async_get_servers()).servers
    assert (servers[3].status.cpu, servers[3].status.mem_used) == (None, None)
    assert servers[3].status.gpu_usage == (1.0, 2.5)
    assert servers[7].last_active is None
    assert servers[7].status == Status()


async def test_empty_list_is_left_out(fake: FakeDashboard, http: aiohttp.ClientSession):
    """``{"success":true}`` without ``data`` is an empty list."""
    fake.answers["server"] = ok(None)
    assert (await login_client(fake, http).async_get_servers()).servers == {}


@pytest.mark.parametrize(("owner", "api"), [(True, "v2"), (False, "v1")])
async def test_owner_marks_a_2x_dashboard(
    fake: FakeDashboard, http: aiohttp.ClientSession, owner: bool, api: str
):
    """A 1.x client seeing ``owner`` (v2.0.13+) on server items speaks 2.x from then on."""
    item = SERVER if owner else {key: v for key, v in SERVER.items() if key != "owner"}
    fake.answers["server"] = ok([item])
    client = login_client(fake, http)
    await client.async_get_servers()
    assert client.api_version == api


async def test_groups_and_group_filter(fake: FakeDashboard, http: aiohttp.ClientSession):
    """Groups by id; a group's servers are its members; a gone group selects none."""
    fake.answers |= {"server-group": ok(GROUPS), "server": ok([SERVER, NEVER_REPORTED])}
    fake.answers["alert-rule"] = ok([])  # proves the login took the JWT the groups were read with
    client = login_client(fake, http, "v2")
    assert await client.async_get_groups() == {1: "prod", 2: "empty"}
    assert list((await client.async_get_servers(1)).servers) == [3]
    assert (await client.async_get_servers(2)).servers == {}
    assert (await client.async_get_servers(9)).servers == {}
    assert list((await client.async_get_servers()).servers) == [3, 4]


async def test_monitor_newest_round_and_count(fake: FakeDashboard, http: aiohttp.ClientSession):
    """The newest point (in any order) and the series size; a 0 ms round is a failed one."""
    failed = SERIES[0] | {"monitor_id": 2, "created_at": [1786938120000, 1786938000000]}
    failed |= {"avg_delay": [0, 9.5], "monitor_name": "TCP"}
    fake.answers["service"] = ok([SERIES[0], failed])
    snapshot = await login_client(fake, http).async_get_monitors(3)

    assert fake.requests[-1][:2] == ("GET", "/api/v1/service/3")
    newest = datetime.fromtimestamp(1786938120, UTC)
    assert snapshot.monitors == {
        1: Monitor(1, 3, "Ping 1.1.1.1", latest=MonitorPoint(newest, 13.25), point_count=3),
        2: Monitor(2, 3, "TCP", latest=MonitorPoint(newest, 0.0), point_count=2),
    }


async def test_2x_monitor_route(fake: FakeDashboard, http: aiohttp.ClientSession):
    """2.x reads ``/server/:id/service?period=1d``; no points at all is no monitors."""
    fake.answers["server-service"] = ok(None)
    snapshot = await login_client(fake, http, "v2").async_get_monitors(3)
    assert fake.requests[-1][:2] == ("GET", "/api/v1/server/3/service?period=1d")
    assert snapshot.monitors == {}


async def test_1x_client_follows_an_upgrade(fake: FakeDashboard, http: aiohttp.ClientSession):
    """The 1.x route gone (2.x's JSON 404): the 2.x route, and ``api_version`` says v2."""
    fake.answers["server-service"] = ok(SERIES)
    client = login_client(fake, http)
    snapshot = await client.async_get_monitors(3)
    assert [path for _, path, _ in fake.requests[1:]] == [
        "/api/v1/service/3",
        "/api/v1/server/3/service?period=1d",
    ]
    assert list(snapshot.monitors) == [1]
    assert client.api_version == "v2"
    await client.async_get_monitors(3)
    assert fake.requests[-1][1] == "/api/v1/server/3/service?period=1d"


async def test_unknown_route_elsewhere_is_a_response_error(
    fake: FakeDashboard, http: aiohttp.ClientSession
):
    """``{"error":"404 Not Found"}`` on ``/server``: not a dashboard this client speaks to."""
    with pytest.raises(NezhaResponseError, match="HTTP 404: the dashboard has no such route"):
        await login_client(fake, http).async_get_servers()


@pytest.mark.parametrize("body", [b" " * (MAX_BODY_BYTES + 1), Chunked(MAX_BODY_BYTES + 2**20)])
async def test_oversized_body_refused(
    fake: FakeDashboard, http: aiohttp.ClientSession, body: bytes | Chunked
):
    """Over 16 MiB, announced or streamed, is refused before it is read whole."""
    fake.answers["server"] = (200, body)
    with pytest.raises(NezhaResponseError, match="larger than 16 MiB"):
        await login_client(fake, http).async_get_servers()


async def test_access_token_on_2_0(fake: FakeDashboard, http: aiohttp.ClientSession):
    """2.0.x reads the token as a JWT and refuses it plainly: say so, and never ask again."""
    fake.answers["server"] = (200, {"error": "ApiErrorUnauthorized"})
    client = NezhaV1Client(http, fake.url, PAT, api_version="v2")
    for _ in range(3):
        with pytest.raises(NezhaAuthError, match=r"before 2\.1\.0 it has no access tokens"):
            await client.async_get_servers()
    assert fake.requests == [("GET", "/api/v1/server", f"Bearer {PAT}")]


@pytest.mark.parametrize(
    "token", ["not-a-pat", "nzp_with space", "nzp_é" + "a" * 30, "nzp_" + "a" * 31, ""]
)
async def test_malformed_access_token_never_sent(
    fake: FakeDashboard, http: aiohttp.ClientSession, token: str
):
    """A token that cannot be a 2.x one is refused without a request."""
    client = create_client("v2", http, fake.url, token)
    with pytest.raises(NezhaAuthError, match="starts with 'nzp_'"):
        await client.async_get_monitors(1)
    assert fake.requests == []


async def test_lookup_failure_is_not_a_refusal(fake: FakeDashboard, http: aiohttp.ClientSession):
    """401 ``api token lookup failed`` is the dashboard's database: try again next time."""
    fake.answers["server"] = (401, {"error": "ApiErrorUnauthorized: api token lookup failed"})
    client = NezhaV1Client(http, fake.url, PAT, api_version="v2")
    with pytest.raises(NezhaResponseError, match="could not look the token up"):
        await client.async_get_servers()
    fake.answers["server"] = ok([])
    assert (await client.async_get_servers()).servers == {}


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (403, {"error": f"ApiErrorForbidden: api token lacks scope Bearer {PAT}"}),
        (401, f"<html>Authorization: Bearer {PAT}</html>"),
        (200, {"error": f"echo {JWT} {PASSWORD} Bearer eyJother.token.here nzp_Other123"}),
        (400, f"<p>token={PAT}&password={PASSWORD}</p>"),
    ],
)
async def test_echoed_credentials_never_in_errors(
    fake: FakeDashboard, http: aiohttp.ClientSession, status: int, body: Any
):
    """A page echoing a password, JWT, access token or any ``Bearer`` value: cut out."""
    fake.answers["server"] = (status, body)
    clients = {
        (PASSWORD, JWT): login_client(fake, http),
        (PAT,): NezhaV1Client(http, fake.url, PAT, api_version="v2"),
    }
    for own_secrets, client in clients.items():
        with pytest.raises((NezhaResponseError, NezhaPermissionError, NezhaAuthError)) as caught:
            await client.async_get_servers()
        # Its own secrets, and anything shaped like a Bearer value, a JWT or an access token.
        for secret in (*own_secrets, "eyJother.token.here", "nzp_Other123", "Bearer"):
            assert secret not in str(caught.value)


async def test_waiters_share_a_failed_login(fake: FakeDashboard, http: aiohttp.ClientSession):
    """Ten requests wait for a login that fails (a 502): one login, ten errors, none latched."""
    client = NezhaV1Client(http, fake.url, Login("admin", PASSWORD))
    fake.answers["login"] = (502, "<html>Bad Gateway</html>")
    results = await asyncio.gather(
        *(client.async_get_monitors(1) for _ in range(10)), return_exceptions=True
    )
    assert all(isinstance(result, NezhaConnectionError) for result in results)
    assert [path for _, path, _ in fake.requests] == ["/api/v1/login"]
    # The next poll logs in again: an outage is no refusal.
    fake.answers |= {"login": SIGNED_IN, "service": ok(None)}
    assert (await client.async_get_monitors(1)).monitors == {}


@pytest.mark.usefixtures("socket_enabled")
async def test_unreachable_dashboard(http: aiohttp.ClientSession):
    """Refused connections and timeouts are connection errors (nothing latched)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    client = NezhaV1Client(http, closed, PAT, api_version="v2")
    with pytest.raises(NezhaConnectionError, match="ClientConnectorError"):
        await client.async_get_servers()
    with pytest.raises(NezhaConnectionError, match="ClientConnectorError"):
        await client.async_get_servers()


async def test_timeout(fake: FakeDashboard, http: aiohttp.ClientSession):
    """No answer within the timeout: a connection error that says how long it waited."""
    client = NezhaV1Client(http, fake.url, PAT, api_version="v2", timeout=1e-6)
    with pytest.raises(NezhaConnectionError, match="timed out after 1e-06 s"):
        await client.async_get_servers()


def test_constructor_refuses_mismatches(http: aiohttp.ClientSession):
    """Only 1.x and 2.x; an access token only on 2.x (programming errors, not user errors)."""
    with pytest.raises(ValueError, match=r"not a Nezha 1\.x/2\.x API generation: v0"):
        NezhaV1Client(http, "http://127.0.0.1", Login("a", "b"), api_version="v0")


async def test_detect_1_0_under_force_auth(fake: FakeDashboard, http: aiohttp.ClientSession):
    """v1.0.0-1.0.18 refused guests ``/setting`` under force_auth; its 404 JSON says 1.x."""
    fake.answers = {
        "setting": (200, {"error": "ApiErrorUnauthorized"}),
        "server": (200, {"error": "404 Not Found"}),
    }
    assert await async_detect(http, fake.url) == Detection(api="v1")
