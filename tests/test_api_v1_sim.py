"""The 1.x/2.x client and detection against the simulator (real HTTP on 127.0.0.1).

The simulator plays v1.14.14 and v2.3.7 as NEZHA_API.md Parts B-D and NEZHA_API_DELTA.md say
(its steering API: SIM_CONTRACT.md). What matters most here is what the dashboard counts: logins
(``sim.login_count``) and requests (``sim.requests``), since every refused sign-in counts towards
the WAF block of the whole Home Assistant host.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
import contextlib
from datetime import UTC, datetime
import time

import aiohttp
import pytest

from custom_components.nezha.api import (
    Detection,
    Login,
    NezhaAuthError,
    NezhaBlockedError,
    NezhaPermissionError,
    NezhaRealIpHeaderError,
    NezhaResponseError,
    NezhaV1Client,
    async_detect,
    auth,
)
from nezha_simulator import Generation, NezhaSimulator

from .fake_dashboard import FakeDashboard

pytestmark = pytest.mark.usefixtures("socket_enabled")

NOW = 1_786_938_000.0
"""2026-08-17 03:40 UTC: the simulated dashboards' frozen clock."""
INVENTORY = "nezha:inventory:read"
SERVICE = "nezha:service:read"


@contextlib.asynccontextmanager
async def dashboard(generation: Generation) -> AsyncIterator[NezhaSimulator]:
    """A dashboard with three servers and a ping monitor on server 1, on a frozen clock."""
    async with NezhaSimulator(generation=generation, now=NOW) as sim:
        sim.freeze_clock(NOW)
        for name in ("hk-01", "sg-02", "fra-03"):
            sim.add_server(name)
        ping = sim.add_monitor("Ping 1.1.1.1")
        for minutes_ago in (3, 2, 1):
            sim.add_point(ping, 1, 10.0 + minutes_ago, at=NOW - 60 * minutes_ago)
        yield sim


@pytest.fixture(params=["v1", "v2"])
async def sim(request: pytest.FixtureRequest) -> AsyncGenerator[NezhaSimulator]:
    """That dashboard as 1.x and as 2.x."""
    async with dashboard(request.param) as world:
        yield world


@pytest.fixture
async def v2() -> AsyncGenerator[NezhaSimulator]:
    """That dashboard as 2.x (access tokens)."""
    async with dashboard("v2") as world:
        yield world


def signed_in(sim: NezhaSimulator, http: aiohttp.ClientSession, **kwargs: str) -> NezhaV1Client:
    """A client logging in as the simulator's admin (or ``password=`` another password)."""
    password = kwargs.get("password", sim.admin.password)
    return NezhaV1Client(
        http, sim.url, Login(sim.admin.username, password), api_version=sim.generation
    )


def paths(sim: NezhaSimulator) -> list[str]:
    """Every request the simulator answered, as ``METHOD path?query``."""
    return [f"{r.method} {r.path_qs}" for r in sim.requests]


# Logins and JWTs


async def test_login_then_servers(sim: NezhaSimulator, http: aiohttp.ClientSession):
    """One login, then ``GET /server`` with ``Bearer <jwt>``; the clock is the dashboard's."""
    snapshot = await signed_in(sim, http).async_get_servers()
    assert list(snapshot.servers) == [1, 2, 3]
    assert snapshot.servers[1].name == "hk-01"
    assert snapshot.dashboard_time == datetime.fromtimestamp(NOW, UTC)
    assert paths(sim) == ["POST /api/v1/login", "GET /api/v1/server"]
    assert str(sim.requests[-1].authorization).startswith("Bearer ")
    assert sim.login_count == 1


async def test_expired_jwt_replaced_without_the_user(
    sim: NezhaSimulator, http: aiohttp.ClientSession
):
    """Past its lifetime (the dashboard's clock) the JWT is refused once; one new login."""
    client = signed_in(sim, http)
    await client.async_get_servers()
    sim.advance(sim.jwt_lifetime + 1)
    assert list((await client.async_get_servers()).servers) == [1, 2, 3]
    assert sim.login_count == 2
    assert paths(sim)[2:] == ["GET /api/v1/server", "POST /api/v1/login", "GET /api/v1/server"]


async def test_jwt_renewed_before_expiry(
    sim: NezhaSimulator, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
):
    """Near its expiry the client logs in first: no request with a dying JWT."""
    client = signed_in(sim, http)
    await client.async_get_servers()
    later = time.monotonic() + sim.jwt_lifetime - 30
    monkeypatch.setattr(auth, "monotonic", lambda: later)
    await client.async_get_servers()
    assert paths(sim)[2:] == ["POST /api/v1/login", "GET /api/v1/server"]


async def test_one_login_for_many_waiting_requests(
    sim: NezhaSimulator, http: aiohttp.ClientSession
):
    """Twenty requests at once, first and after expiry: one login each time."""
    client = signed_in(sim, http)
    rounds = [client.async_get_monitors(server_id % 3 + 1) for server_id in range(20)]
    await asyncio.gather(*rounds)
    assert sim.login_count == 1
    sim.advance(sim.jwt_lifetime + 1)
    await asyncio.gather(*(client.async_get_servers() for _ in range(20)))
    assert sim.login_count == 2


async def test_revoked_session_replaced(sim: NezhaSimulator, http: aiohttp.ClientSession):
    """A revoked session's JWT, refused by ``/server``: dropped, and one new login."""
    client = signed_in(sim, http)
    await client.async_get_servers()
    sim.revoke_sessions()
    assert list((await client.async_get_servers()).servers) == [1, 2, 3]
    assert sim.login_count == 2


async def test_stale_session_page_replaced(v2: NezhaSimulator, http: aiohttp.ClientSession):
    """2.x answers a stale session on a public route with the WAF page: one new login."""
    client = signed_in(v2, http)
    await client.async_get_monitors(1)
    v2.revoke_sessions()
    assert list((await client.async_get_monitors(1)).monitors) == [1]
    route = "GET /api/v1/server/1/service?period=1d"
    assert paths(v2)[2:] == [route, "POST /api/v1/login", route]


@pytest.mark.parametrize("parallel", [1, 10])
async def test_wrong_password_sent_once(
    sim: NezhaSimulator, http: aiohttp.ClientSession, parallel: int
):
    """A refused login: exactly one request ever, whatever is asked after, in parallel or not."""
    client = signed_in(sim, http, password="wrong")
    calls = [client.async_get_servers() for _ in range(parallel)]
    results = await asyncio.gather(*calls, return_exceptions=True)
    for call in (
        client.async_get_servers(),
        client.async_get_monitors(1),
        client.async_get_groups(),
    ):
        with pytest.raises(NezhaAuthError, match="refused the user name or password"):
            await call
    assert all(isinstance(result, NezhaAuthError) for result in results)
    assert paths(sim) == ["POST /api/v1/login"]
    assert sim.login_count == 1


async def test_member_sees_own_servers(sim: NezhaSimulator, http: aiohttp.ClientSession):
    """A member's login lists only the servers that user owns."""
    member = sim.add_user("ops", "ops-password")
    own = sim.add_server("ops-box", owner_id=member.id).id
    client = NezhaV1Client(http, sim.url, Login("ops", "ops-password"), api_version=sim.generation)
    assert list((await client.async_get_servers()).servers) == [own]


# Access tokens (2.x)


@pytest.mark.parametrize("spoil", ["unknown", "revoked", "expired"])
async def test_refused_access_token_sent_once(
    v2: NezhaSimulator, http: aiohttp.ClientSession, spoil: str
):
    """A PAT refused with 401: one request, then the same error without the network."""
    token = v2.create_pat()
    if spoil == "unknown":
        token = "nzp_" + "x" * 32
    elif spoil == "revoked":
        v2.revoke_pat(token)
    else:
        v2.expire_pat(token)
    client = NezhaV1Client(http, v2.url, token, api_version="v2")
    for call in (
        client.async_get_servers(),
        client.async_get_monitors(1),
        client.async_get_servers(),
    ):
        with pytest.raises(NezhaAuthError, match="refused the access token"):
            await call
    assert paths(v2) == ["GET /api/v1/server"]
    assert v2.requests[0].authorization == f"Bearer {token}"


async def test_access_token_reads_everything(v2: NezhaSimulator, http: aiohttp.ClientSession):
    """With inventory and service scopes: servers, groups and the 2.x monitor route."""
    client = NezhaV1Client(http, v2.url, v2.create_pat(), api_version="v2")
    assert list((await client.async_get_servers()).servers) == [1, 2, 3]
    monitors = await client.async_get_monitors(1)
    assert monitors.monitors[1].latest is not None
    assert monitors.monitors[1].latest.latency_ms == 11.0
    assert paths(v2)[-1] == "GET /api/v1/server/1/service?period=1d"
    assert v2.login_count == 0


@pytest.mark.parametrize(
    ("scopes", "legacy", "call", "missing"),
    [
        ((SERVICE,), False, "servers", INVENTORY),
        ((INVENTORY,), False, "monitors", SERVICE),
        ((INVENTORY,), True, "servers", "nezha:server:read"),
        ((SERVICE,), False, "groups", INVENTORY),
    ],
)
async def test_missing_scope_named(
    v2: NezhaSimulator,
    http: aiohttp.ClientSession,
    scopes: tuple[str, ...],
    legacy: bool,
    call: str,
    missing: str,
):
    """HTTP 403 for a missing scope: a permission error naming it; nothing latched."""
    v2.legacy_server_scope = legacy
    client = NezhaV1Client(http, v2.url, v2.create_pat(scopes), api_version="v2")
    methods: dict[str, Callable[[], Awaitable[object]]] = {
        "servers": client.async_get_servers,
        "groups": client.async_get_groups,
        "monitors": lambda: client.async_get_monitors(1),
    }
    for _ in range(2):  # asked again: the dashboard answers again (no WAF count for scopes)
        with pytest.raises(NezhaPermissionError, match=f"lacks the scope {missing}") as caught:
            await methods[call]()
        assert caught.value.scope == missing
    assert len(v2.requests) == 2


async def test_legacy_server_scope_reads_servers(v2: NezhaSimulator, http: aiohttp.ClientSession):
    """v2.1.0-2.1.1: ``nezha:server:read`` is what ``/server`` asks for."""
    v2.legacy_server_scope = True
    client = NezhaV1Client(http, v2.url, v2.create_pat(("nezha:server:read",)), api_version="v2")
    assert list((await client.async_get_servers()).servers) == [1, 2, 3]


async def test_whitelist_filters_servers_and_groups(
    v2: NezhaSimulator, http: aiohttp.ClientSession
):
    """A PAT limited to some servers sees only those; groups without one of them are gone."""
    v2.set_tag(1, "hk")
    v2.set_tag(2, "sg")
    client = NezhaV1Client(http, v2.url, v2.create_pat(server_ids=(1, 3)), api_version="v2")
    assert list((await client.async_get_servers()).servers) == [1, 3]
    assert list((await client.async_get_groups()).values()) == ["hk"]


async def test_server_groups(sim: NezhaSimulator, http: aiohttp.ClientSession):
    """Groups by id and name; one group's servers; a group without servers selects none."""
    sim.set_tag(1, "prod")
    sim.set_tag(3, "prod")
    sim.set_tag(2, "lab")
    empty = sim.add_group("empty")
    client = signed_in(sim, http)
    groups = await client.async_get_groups()
    assert sorted(groups.values()) == ["empty", "lab", "prod"]
    prod = next(group_id for group_id, name in groups.items() if name == "prod")
    assert list((await client.async_get_servers(prod)).servers) == [1, 3]
    assert (await client.async_get_servers(empty)).servers == {}
    assert paths(sim)[-2:] == ["GET /api/v1/server-group", "GET /api/v1/server"]


# The WAF and the real-IP header


async def test_failed_login_blocks_the_host(sim: NezhaSimulator, http: aiohttp.ClientSession):
    """With a real IP known, one refused login blocks this host: even the right password."""
    sim.real_ip_header = "NZ::Use-Peer-IP"
    with pytest.raises(NezhaAuthError):
        await signed_in(sim, http, password="wrong").async_get_servers()
    with pytest.raises(NezhaBlockedError, match="blocked this host") as caught:
        await signed_in(sim, http).async_get_servers()
    assert "count⁴" in str(caught.value)
    assert "everything on this host" in str(caught.value)
    with pytest.raises(NezhaBlockedError):
        await async_detect(http, sim.url)


async def test_refused_access_token_blocks_the_host(
    v2: NezhaSimulator, http: aiohttp.ClientSession
):
    """A refused PAT counts too: then every request of this host, a valid PAT's, is blocked."""
    v2.real_ip_header = "NZ::Use-Peer-IP"
    good = v2.create_pat()
    with pytest.raises(NezhaAuthError):
        await NezhaV1Client(http, v2.url, "nzp_" + "0" * 32, api_version="v2").async_get_servers()
    with pytest.raises(NezhaBlockedError):
        await NezhaV1Client(http, v2.url, good, api_version="v2").async_get_servers()


async def test_real_ip_header_missing(sim: NezhaSimulator, http: aiohttp.ClientSession):
    """The dashboard wants a header HA does not send: a configuration error, not latched."""
    sim.real_ip_header = "X-Real-IP"
    client = signed_in(sim, http)
    with pytest.raises(NezhaRealIpHeaderError, match="real-IP header setting"):
        await client.async_get_servers()
    with pytest.raises(NezhaRealIpHeaderError):
        await async_detect(http, sim.url)
    sim.real_ip_header = None
    assert list((await client.async_get_servers()).servers) == [1, 2, 3]


# Monitors and an upgrade in place


async def test_monitor_routes(sim: NezhaSimulator, http: aiohttp.ClientSession):
    """1.x reads ``/service/:server_id``, 2.x ``/server/:id/service?period=1d``."""
    snapshot = await signed_in(sim, http).async_get_monitors(1)
    route = "/api/v1/service/1" if sim.generation == "v1" else "/api/v1/server/1/service?period=1d"
    assert paths(sim)[-1] == f"GET {route}"
    monitor = snapshot.monitors[1]
    assert monitor.name == "Ping 1.1.1.1"
    assert monitor.point_count == 3
    assert monitor.latest is not None
    assert monitor.latest.latency_ms == 11.0
    assert monitor.latest.time == datetime.fromtimestamp(NOW - 60, UTC)
    assert snapshot.dashboard_time == datetime.fromtimestamp(NOW, UTC)


async def test_upgrade_to_2x_keeps_the_login(http: aiohttp.ClientSession):
    """A 1.x entry's dashboard upgraded in place: the client switches to v2 by itself."""
    async with NezhaSimulator(generation="v1", now=NOW) as dashboard:
        server = dashboard.add_server("hk-01").id
        dashboard.add_point(dashboard.add_monitor("Ping"), server, 5.0)
        client = signed_in(dashboard, http)
        await client.async_get_monitors(server)
        dashboard.generation = "v2"
        assert list((await client.async_get_monitors(server)).monitors) == [1]
        assert client.api_version == "v2"
        assert list((await client.async_get_servers()).servers) == [server]


# Detection


@pytest.mark.parametrize("generation", ["v0", "v1", "v2"])
async def test_detect_each_generation(http: aiohttp.ClientSession, generation: Generation):
    """From the URL alone, signed in as nobody."""
    async with NezhaSimulator(generation=generation) as dashboard:
        found = await async_detect(http, dashboard.url + "/")
    assert found.api == generation
    assert found == Detection(api=generation, site_name=found.site_name)
    assert (found.site_name is None) == (generation == "v0")


async def test_detect_old_1x_and_force_auth(http: aiohttp.ClientSession):
    """v1.0-1.4 (v0 routes answer HTTP 200) and force_auth still read as 1.x."""
    async with NezhaSimulator(generation="v1") as dashboard:
        dashboard.v0_routes_answer_200 = True
        dashboard.force_auth = True
        assert (await async_detect(http, dashboard.url)).api == "v1"


@pytest.mark.parametrize(
    "answers",
    [
        {"setting": (200, "<html>a router</html>"), "server": (200, "<html></html>")},
        {"setting": (404, "<html>Not Found</html>"), "server": (404, "<html></html>")},
        {"setting": (200, {"success": True, "data": {"theme": "x"}}), "server": (404, {})},
        {"setting": (403, "<html>Forbidden</html>"), "server": (403, "<html></html>")},
    ],
    ids=["html", "html-404", "other-json", "other-403"],
)
async def test_detect_not_nezha(
    fake: FakeDashboard, http: aiohttp.ClientSession, answers: dict[str, tuple[int, object]]
):
    """Anything else at the URL is not a Nezha dashboard."""
    fake.answers = answers
    with pytest.raises(NezhaResponseError, match="not a Nezha dashboard"):
        await async_detect(http, fake.url)


async def test_at_most_ten_requests_at_once(sim: NezhaSimulator, http: aiohttp.ClientSession):
    """However many calls wait, one client has at most ten requests in flight, logins counted."""
    client = signed_in(sim, http)
    # Long enough that ten requests are surely in flight together on a busy machine.
    sim.latency = 0.25
    sim.reset_in_flight()
    await asyncio.gather(*(client.async_get_monitors(1) for _ in range(30)))
    assert sim.requests_in_flight_max == 10
    assert sim.login_count == 1
