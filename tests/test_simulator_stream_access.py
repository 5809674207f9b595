"""Pin who may open ``/api/v1/ws/server`` and what each viewer sees (NEZHA_API_DELTA.md §2.4, §3).

Credentials reach the stream as DELTA §2.4 says; every refusal is a plain HTTP reply before the
upgrade (§3.4), never a websocket close code; v1 and v2 filter servers differently (§3.3).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import aiohttp
import pytest

from nezha_simulator import NezhaSimulator

from .sim_client import EXPIRED_PAT, HTML_TYPE, INVALID_PAT, JSON_TYPE, UNAUTHORIZED, call, login
from .stream_client import WS_PATH, fast_sim, frame, refused, stream, views

pytestmark = pytest.mark.usefixtures("socket_enabled")

LACKS_INVENTORY = b'{"error":"ApiErrorForbidden: api token lacks scope nezha:inventory:read"}'


@pytest.fixture
async def http() -> AsyncGenerator[aiohttp.ClientSession]:
    """A client that keeps no cookies (tests send them explicitly)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session


@pytest.fixture(params=["v1", "v2"])
async def sim(request: pytest.FixtureRequest) -> AsyncGenerator[NezhaSimulator]:
    """A v1.14.14 and a v2.3.7 dashboard."""
    simulator = await fast_sim(request.param)
    yield simulator
    await simulator.stop()


@pytest.fixture
async def v1() -> AsyncGenerator[NezhaSimulator]:
    """A v1.14.14 dashboard."""
    simulator = await fast_sim("v1")
    yield simulator
    await simulator.stop()


@pytest.fixture
async def v2() -> AsyncGenerator[NezhaSimulator]:
    """A v2.3.7 dashboard."""
    simulator = await fast_sim("v2")
    yield simulator
    await simulator.stop()


# Credentials (DELTA §2.4)


async def test_pat_only_in_the_authorization_header(
    http: aiohttp.ClientSession, v2: NezhaSimulator
) -> None:
    v2.add_server("public")
    v2.add_server("hidden", hide_for_guest=True)
    pat = v2.create_pat()
    async with stream(http, v2, bearer=pat) as ws:
        assert views(await frame(ws)) == [(1, "full"), (2, "full")]
    guest = [(1, "filtered")]
    async with stream(http, v2, f"?token={pat}") as ws:
        assert views(await frame(ws)) == guest
    async with stream(http, v2, headers={"Authorization": f"bearer {pat}"}) as ws:
        assert views(await frame(ws)) == guest
    async with stream(http, v2, cookies={"nz-jwt": pat}) as ws:
        assert views(await frame(ws)) == guest
    v2.force_auth = True
    by_query = await refused(http, v2, f"?token={pat}")
    assert (by_query.status, by_query.body) == (200, UNAUTHORIZED)
    async with stream(http, v2, bearer=pat) as ws:
        assert views(await frame(ws)) == [(1, "full"), (2, "full")]


async def test_jwt_in_header_query_or_cookie(
    http: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    sim.add_server("public")
    sim.add_server("hidden", hide_for_guest=True)
    token = await login(http, sim)
    admin = [(1, "full"), (2, "full")]
    async with stream(http, sim, bearer=token) as ws:
        assert views(await frame(ws)) == admin
    async with stream(http, sim, f"?token={token}") as ws:
        assert views(await frame(ws)) == admin
    async with stream(http, sim, cookies={"nz-jwt": token}) as ws:
        assert views(await frame(ws)) == admin
    async with stream(http, sim, headers={"Authorization": token}) as ws:  # no "Bearer "
        assert views(await frame(ws)) == [(1, "filtered")]
    sim.force_auth = True
    async with stream(http, sim, cookies={"nz-jwt": token}) as ws:
        assert views(await frame(ws)) == admin


# Refusals are plain HTTP replies before the upgrade (DELTA §3.4)


async def test_pat_refusals(http: aiohttp.ClientSession, v2: NezhaSimulator) -> None:
    unknown = await refused(http, v2, bearer="nzp_" + "0" * 32)
    assert (unknown.status, unknown.content_type, unknown.body) == (401, JSON_TYPE, INVALID_PAT)
    expired = v2.create_pat()
    v2.expire_pat(expired)
    late = await refused(http, v2, bearer=expired)
    assert (late.status, late.body) == (401, EXPIRED_PAT)
    services_only = v2.create_pat(["nezha:service:read"])
    lacking = await refused(http, v2, bearer=services_only)
    assert (lacking.status, lacking.content_type, lacking.body) == (403, JSON_TYPE, LACKS_INVENTORY)
    v2.legacy_server_scope = True  # v2.1.0-2.1.1
    old = await refused(http, v2, bearer=v2.create_pat())
    assert (old.status, old.body) == (
        403,
        b'{"error":"ApiErrorForbidden: api token lacks scope nezha:server:read"}',
    )
    with pytest.raises(aiohttp.WSServerHandshakeError) as handshake:
        await http.ws_connect(
            v2.url + WS_PATH, headers={"Authorization": f"Bearer {services_only}"}
        )
    assert handshake.value.status == 403
    assert v2.open_streams == 0


async def test_force_auth_refusals(http: aiohttp.ClientSession, sim: NezhaSimulator) -> None:
    sim.force_auth = True
    for reply in (
        await refused(http, sim),
        await refused(http, sim, bearer="not-a-jwt"),
        await refused(http, sim, "?token=not-a-jwt"),
    ):
        assert (reply.status, reply.content_type, reply.body) == (200, JSON_TYPE, UNAUTHORIZED)


async def test_stale_session_gets_the_waf_page(
    http: aiohttp.ClientSession, v2: NezhaSimulator
) -> None:
    token = await login(http, v2)
    v2.revoke_sessions()
    stale = await refused(http, v2, bearer=token)
    assert (stale.status, stale.content_type) == (403, HTML_TYPE)
    assert b"blocked by nezha WAF" in stale.body
    v2.force_auth = True
    forced = await refused(http, v2, bearer=token)
    assert (forced.status, forced.body) == (200, UNAUTHORIZED)


async def test_waf_block_and_missing_real_ip(
    http: aiohttp.ClientSession, v2: NezhaSimulator
) -> None:
    v2.real_ip_header = "X-Real-IP"
    missing = await refused(http, v2)
    assert (missing.status, missing.content_type, missing.body) == (
        200,
        JSON_TYPE,
        b'{"error":"real ip header not found"}',
    )
    ip = {"X-Real-IP": "198.51.100.7"}
    await refused(http, v2, bearer="nzp_" + "x" * 32, headers=ip)
    pat = v2.create_pat()
    blocked = await refused(http, v2, bearer=pat, headers=ip)
    assert (blocked.status, blocked.content_type) == (403, HTML_TYPE)
    assert b"blocked by nezha WAF" in blocked.body
    async with stream(http, v2, bearer=pat, headers={"X-Real-IP": "198.51.100.8"}) as ws:
        assert (await frame(ws))["online"] == 1


async def test_plain_get_is_gorillas_400(http: aiohttp.ClientSession, sim: NezhaSimulator) -> None:
    reply = await call(http, sim, WS_PATH)
    assert (reply.status, reply.body) == (400, b"Bad Request\n")
    assert reply.content_type == "text/plain; charset=utf-8"
    assert reply.headers["Sec-WebSocket-Version"] == "13"


async def test_origin_must_match_the_host(http: aiohttp.ClientSession, sim: NezhaSimulator) -> None:
    """gorilla's default ``CheckOrigin``: no ``Origin``, or its host is ``Host`` (ASCII case-fold)."""
    port = sim.url.rpartition(":")[2]
    foreign = await refused(http, sim, headers={"Origin": "https://evil.example"})
    assert (foreign.status, foreign.content_type, foreign.body) == (
        403,
        "text/plain; charset=utf-8",
        b"Forbidden\n",
    )
    assert foreign.headers["Sec-WebSocket-Version"] == "13"
    same = {"Host": f"Nezha.Example:{port}", "Origin": f"https://nezha.example:{port}"}
    async with stream(http, sim, headers=same) as ws:
        assert (await frame(ws))["online"] == 1


# Who sees what (DELTA §3.3)


def populate(sim: NezhaSimulator) -> None:
    """Servers 1-4 (display order 2, 3, 1, 4): admin's 1 and hidden 3, bob's 2 and hidden 4."""
    bob = sim.add_user("bob", "pw-bob")
    sim.add_server("a", display_index=1)
    sim.add_server("b", display_index=5, owner_id=bob.id)
    sim.add_server("c", display_index=5, hide_for_guest=True)
    sim.add_server("d", owner_id=bob.id, hide_for_guest=True)


async def test_who_sees_what_v2(http: aiohttp.ClientSession, v2: NezhaSimulator) -> None:
    populate(v2)
    expected = {
        "guest": [(2, "filtered"), (1, "filtered")],
        "admin": [(2, "full"), (3, "full"), (1, "full"), (4, "full")],
        "bob": [(2, "full"), (1, "filtered"), (4, "full")],  # others' public ones, filtered
        "admin PAT for 3 and 1": [(3, "full"), (1, "full")],
        "bob's PAT for 1 and 3": [(1, "filtered")],
        "bob's PAT": [(2, "full"), (1, "filtered"), (4, "full")],
    }
    bearers = {
        "guest": None,
        "admin": await login(http, v2),
        "bob": await login(http, v2, "bob", "pw-bob"),
        "admin PAT for 3 and 1": v2.create_pat(server_ids=[3, 1]),
        "bob's PAT for 1 and 3": v2.create_pat(user="bob", server_ids=[1, 3]),
        "bob's PAT": v2.create_pat(user="bob"),
    }
    for viewer, bearer in bearers.items():
        async with stream(http, v2, bearer=bearer) as ws:
            assert views(await frame(ws)) == expected[viewer], viewer


async def test_who_sees_what_v1(http: aiohttp.ClientSession, v1: NezhaSimulator) -> None:
    """Before v2.0.9 any logged-in user got every server with the full host."""
    populate(v1)
    everything = [(2, "full"), (3, "full"), (1, "full"), (4, "full")]
    async with stream(http, v1) as ws:
        assert views(await frame(ws)) == [(2, "filtered"), (1, "filtered")]
    for user, password in (("admin", ""), ("bob", "pw-bob")):
        async with stream(http, v1, bearer=await login(http, v1, user, password)) as ws:
            assert views(await frame(ws)) == everything, user
