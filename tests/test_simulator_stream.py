"""Pin the simulator's ``/api/v1/ws/server`` to NEZHA_API_DELTA.md §2.4, §3 and §5.4.

Every test talks to a running simulator over a real websocket, with aiohttp's client set up the
way a client of this stream must be: no heartbeat (the dashboard never answers a ping) and no
autoping, so the dashboard's own pings reach the test. Frames come every ``FAST`` seconds
instead of 2 s. The dashboard never answers a close frame either, so ``ws.close()`` would wait
for as long as frames keep coming: ``hang_up`` closes with a hard timeout instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable
import contextlib
import json
import struct
import time
from typing import Any

import aiohttp
from aiohttp import WSCloseCode, WSMsgType
import pytest

from nezha_simulator import Generation, NezhaSimulator

from .sim_client import (
    EXPIRED_PAT,
    HTML_TYPE,
    INVALID_PAT,
    JSON_TYPE,
    UNAUTHORIZED,
    Reply,
    call,
    login,
    make_sim,
    request_headers,
)

pytestmark = pytest.mark.usefixtures("socket_enabled")

WS_PATH = "/api/v1/ws/server"
FAST = 0.05
"""Seconds between frames in these tests (a real dashboard: 2 s)."""
NOW_MS = 1_750_000_000_000
"""``now`` of a frame at ``sim_client.NOW`` (…000.25 s): epoch ms, whole seconds."""
LAST_ACTIVE = "2025-06-15T23:06:40.25+08:00"
UPGRADE = {
    "Connection": "Upgrade",
    "Upgrade": "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
}
"""A browser's handshake, for requests that must be refused before the upgrade."""
LACKS_INVENTORY = b'{"error":"ApiErrorForbidden: api token lacks scope nezha:inventory:read"}'


@pytest.fixture
async def http() -> AsyncGenerator[aiohttp.ClientSession]:
    """A client that keeps no cookies (tests send them explicitly)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session


async def fast_sim(generation: Generation) -> NezhaSimulator:
    """A started simulator of that generation sending a frame every ``FAST`` seconds."""
    sim = await make_sim(generation)
    sim.frame_interval = FAST
    return sim


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


async def hang_up(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Send a close frame and drop the connection when no reply comes (it never does)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(2 * FAST):
            await ws.close()


@contextlib.asynccontextmanager
async def stream(
    http: aiohttp.ClientSession,
    sim: NezhaSimulator,
    query: str = "",
    *,
    bearer: str | None = None,
    headers: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """An open stream; ``bearer`` goes into ``Authorization: Bearer``."""
    sent = request_headers(bearer=bearer, headers=headers, cookies=cookies)
    ws = await http.ws_connect(
        sim.url + WS_PATH + query, headers=sent, heartbeat=None, autoping=False
    )
    try:
        yield ws
    finally:
        await hang_up(ws)


async def refused(
    http: aiohttp.ClientSession, sim: NezhaSimulator, query: str = "", **kw: Any
) -> Reply:
    """The plain HTTP answer to a websocket handshake the dashboard refuses."""
    return await call(http, sim, WS_PATH + query, headers=UPGRADE | kw.pop("headers", {}), **kw)


async def raw_frame(ws: aiohttp.ClientWebSocketResponse) -> str:
    """The next text frame as sent, skipping the dashboard's pings."""
    while True:
        message = await ws.receive(timeout=2.0)
        if message.type is WSMsgType.PING:
            continue
        assert message.type is WSMsgType.TEXT, message
        return str(message.data)


async def frame(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    """The next text frame, decoded."""
    decoded: dict[str, Any] = json.loads(await raw_frame(ws))
    return decoded


async def messages(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[aiohttp.WSMessage]:
    """The next ``count`` messages of any type."""
    return [await ws.receive(timeout=2.0) for _ in range(count)]


async def until(condition: Callable[[], bool]) -> None:
    """Wait (at most 2 s) for something the dashboard does between frames."""
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.01)
    pytest.fail("the dashboard never got there")


def host_view(host: dict[str, Any]) -> str:
    """``full``, or ``filtered`` when ``Host.Filter()`` dropped both fields it drops."""
    kept = [key for key in ("platform_version", "version") if key in host]
    return {2: "full", 0: "filtered"}.get(len(kept), f"half filtered: {kept}")


def views(data: dict[str, Any]) -> list[tuple[int, str]]:
    """``(id, host_view)`` per server of a frame, in frame order."""
    return [(server["id"], host_view(server["host"])) for server in data.get("servers", [])]


def add_hk01(sim: NezhaSimulator) -> None:
    """The server of NEZHA_API_DELTA.md §3.2, with what a frame must not show set as well."""
    server = sim.add_server(
        "hk-01",
        display_index=10,
        platform="ubuntu",
        platform_version="24.04",
        cpu_names=["AMD EPYC 7B13 2 Virtual Core"],
        mem_total=4109926400,
        disk_total=42006183936,
        swap_total=1073737728,
        arch="x86_64",
        virtualization="kvm",
        boot_time=1748604400,
        agent_version="2.3.3",
        ipv4="203.0.113.77",
        ipv6="2001:db8::77",
        country_code="hk",
        cpu=3.01,
        mem_used=1022361600,
        swap_used=0,
        disk_used=9126805504,
        net_in_transfer=123456789,
        net_out_transfer=987654321,
        net_in_speed=2048,
        net_out_speed=4096,
        uptime=1395600,
        load1=0.12,
        load5=0.08,
        load15=0.05,
        tcp_conn_count=42,
        udp_conn_count=7,
        process_count=131,
        temperatures=[("coretemp_package_id_0", 47.0)],
    )
    server.public_note = '{"billingDataMod":{}}'
    server.note = "admin only"


HK01_FRAME = (
    '{"now":1750000000000,"online":1,"servers":[{"id":1,"name":"hk-01",'
    '"public_note":"{\\"billingDataMod\\":{}}","display_index":10,'
    '"host":{"platform":"ubuntu","platform_version":"24.04","cpu":["AMD EPYC 7B13 2 Virtual Core"],'
    '"mem_total":4109926400,"disk_total":42006183936,"swap_total":1073737728,"arch":"x86_64",'
    '"virtualization":"kvm","boot_time":1748604400,"version":"2.3.3"},'
    '"state":{"cpu":3.01,"mem_used":1022361600,"disk_used":9126805504,"net_in_transfer":123456789,'
    '"net_out_transfer":987654321,"net_in_speed":2048,"net_out_speed":4096,"uptime":1395600,'
    '"load_1":0.12,"load_5":0.08,"load_15":0.05,"tcp_conn_count":42,"udp_conn_count":7,'
    '"process_count":131,"temperatures":[{"Name":"coretemp_package_id_0","Temperature":47}]},'
    '"country_code":"hk","last_active":"2025-06-15T23:06:40.25+08:00"}]}'
)
"""The admin's first frame of ``add_hk01``, byte for byte (DELTA §3.2)."""


# Cadence, full frames, pings


def test_frames_every_two_seconds_by_default() -> None:
    assert NezhaSimulator().frame_interval == 2.0


async def test_full_frames_and_a_ping_after_every_fourth(
    http: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    sim.add_server("a")
    sim.add_server("b")
    async with stream(http, sim) as ws:
        received = await messages(ws, 10)
        kinds = [message.type for message in received]
        assert kinds == 4 * [WSMsgType.TEXT] + [WSMsgType.PING] + 4 * [WSMsgType.TEXT] + [
            WSMsgType.PING
        ]
        assert [message.data for message in received if message.type is WSMsgType.PING] == [
            b"",
            b"",
        ]
        texts = [message.data for message in received if message.type is WSMsgType.TEXT]
        assert len(set(texts)) == 1  # a full snapshot every time, no deltas
        assert [server["name"] for server in json.loads(texts[0])["servers"]] == ["a", "b"]
        sim.set_status(2, cpu=55.5)
        for _ in range(3):  # a frame sent before the change may still be on its way
            latest = await frame(ws)
            if latest["servers"][1]["state"]["cpu"] == 55.5:
                break
        assert [server["name"] for server in latest["servers"]] == ["a", "b"]
        assert latest["servers"][0] == json.loads(texts[0])["servers"][0]


async def test_frame_interval_is_steerable(http: aiohttp.ClientSession, v2: NezhaSimulator) -> None:
    v2.frame_interval = 0.3
    started = time.monotonic()
    async with stream(http, v2) as ws:
        for _ in range(3):
            await raw_frame(ws)
        assert time.monotonic() - started >= 0.6  # frames 2 and 3 each waited an interval
    v2.frame_interval = 5.0
    async with stream(http, v2) as ws:
        await raw_frame(ws)
        with pytest.raises(TimeoutError):
            await ws.receive(timeout=0.5)


# Encoding


async def test_frame_bytes(http: aiohttp.ClientSession, sim: NezhaSimulator) -> None:
    add_hk01(sim)
    token = await login(http, sim)
    async with stream(http, sim, bearer=token) as ws:
        first = await raw_frame(ws)
        assert first == HK01_FRAME
        later = await raw_frame(ws)
    assert later == HK01_FRAME.replace('"public_note":"{\\"billingDataMod\\":{}}",', "")
    for text in (first, later):
        for hidden in ("uuid", '"note"', "hide_for_guest", "geoip", "ipv4", "owner"):
            assert hidden not in text
        assert "203.0.113.77" not in text
        assert "2001:db8::77" not in text


async def test_now_is_whole_seconds_of_the_world_clock(
    http: aiohttp.ClientSession, v2: NezhaSimulator
) -> None:
    async with stream(http, v2) as ws:
        assert [(await frame(ws))["now"] for _ in range(3)] == [NOW_MS] * 3  # frozen clock
        v2.advance(1.5)
        for _ in range(3):
            now = (await frame(ws))["now"]
            if now != NOW_MS:
                break
        assert now == NOW_MS + 1000
        v2.unfreeze_clock()
        await frame(ws)
        assert (await frame(ws))["now"] % 1000 == 0


async def test_online_counts_open_streams(http: aiohttp.ClientSession, v2: NezhaSimulator) -> None:
    assert v2.open_streams == 0
    async with stream(http, v2) as first:
        assert (await frame(first))["online"] == 1
        assert v2.open_streams == 1
        async with stream(http, v2) as second:
            assert (await frame(second))["online"] == 2
            await until(lambda: v2.open_streams == 2)
            for _ in range(3):
                if (await frame(first))["online"] == 2:
                    break
            else:
                pytest.fail("the first stream never counted the second")
        await until(lambda: v2.open_streams == 1)  # noticed when the next write fails
        for _ in range(3):
            if (await frame(first))["online"] == 1:
                break
        else:
            pytest.fail("the first stream kept counting a closed one")
    await until(lambda: v2.open_streams == 0)


async def test_no_servers_key_when_nothing_is_visible(
    http: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    async with stream(http, sim) as ws:
        assert await raw_frame(ws) == '{"now":1750000000000,"online":1}'
    await until(lambda: sim.open_streams == 0)
    sim.add_server("hidden", hide_for_guest=True)
    async with stream(http, sim) as ws:
        assert await raw_frame(ws) == '{"now":1750000000000,"online":1}'


async def test_never_reported_server(http: aiohttp.ClientSession, sim: NezhaSimulator) -> None:
    sim.add_server("", reported=False, server_id=7)
    async with stream(http, sim) as ws:
        assert (await frame(ws))["servers"] == [
            {"id": 7, "host": {}, "state": {}, "last_active": "0001-01-01T00:00:00Z"}
        ]


async def test_public_note_in_the_first_frame_only(
    http: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    """v2.3.7 keys its shared frame by ``withPublicNote``; v1.14.14 does not, so a busy v1
    dashboard can mix them up (DELTA §3.3). The simulator builds each frame on its own, which
    is v1's behaviour without that race: the note in each connection's first frame only."""
    sim.add_server("a").public_note = "plan: 10 USD"
    sim.add_server("b")
    async with stream(http, sim) as ws:
        notes = [[s.get("public_note") for s in (await frame(ws))["servers"]] for _ in range(3)]
        assert notes == [["plan: 10 USD", None], [None, None], [None, None]]
        async with stream(http, sim) as late:
            assert (await frame(late))["servers"][0]["public_note"] == "plan: 10 USD"
            assert "public_note" not in (await frame(ws))["servers"][0]


# The handler never reads


async def test_client_ping_gets_no_pong(http: aiohttp.ClientSession, sim: NezhaSimulator) -> None:
    async with stream(http, sim) as ws:
        await ws.ping(b"are you there")
        kinds = {message.type for message in await messages(ws, 6)}
    assert kinds == {WSMsgType.TEXT, WSMsgType.PING}


async def test_client_close_frame_gets_no_reply(
    http: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    async with stream(http, sim) as ws:
        await raw_frame(ws)
        await ws.send_frame(struct.pack("!H", WSCloseCode.OK), WSMsgType.CLOSE)
        kinds = {message.type for message in await messages(ws, 6)}
        assert kinds <= {WSMsgType.TEXT, WSMsgType.PING}
        assert sim.open_streams == 1
        # aiohttp's close() waits for a close frame while frames keep coming: it never returns.
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(6 * FAST):
                await ws.close()
    await until(lambda: sim.open_streams == 0)


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


# How streams end (DELTA §3.4, §5.4)


async def test_revoked_pat_closes_its_streams_at_once(
    http: aiohttp.ClientSession, v2: NezhaSimulator
) -> None:
    v2.frame_interval = 30.0  # nothing else happens on these streams during the test
    doomed, other = v2.create_pat(), v2.create_pat()
    async with (
        stream(http, v2, bearer=doomed) as first,
        stream(http, v2, bearer=doomed) as second,
        stream(http, v2, bearer=other) as kept,
        stream(http, v2, bearer=await login(http, v2)) as jwt,
    ):
        for ws in (first, second, kept, jwt):
            await raw_frame(ws)
        v2.revoke_pat(doomed)
        for ws in (first, second):
            closed = await ws.receive(timeout=1.0)
            assert closed.type is WSMsgType.CLOSED  # a TCP close: no close frame
            assert ws.close_code == WSCloseCode.ABNORMAL_CLOSURE
        await until(lambda: v2.open_streams == 2)
        assert not kept.closed
        assert not jwt.closed
    assert (await refused(http, v2, bearer=doomed)).body == INVALID_PAT


async def test_expiry_does_not_close_an_open_stream(
    http: aiohttp.ClientSession, v2: NezhaSimulator
) -> None:
    pat = v2.create_pat(expires_in_days=1)
    async with (
        stream(http, v2, bearer=pat) as by_pat,
        stream(http, v2, bearer=await login(http, v2)) as by_jwt,
    ):
        await raw_frame(by_pat)
        v2.advance(2 * 86400)  # past the PAT's day and the JWT's hour
        for _ in range(3):
            assert (await frame(by_pat))["online"] == 2
            assert (await frame(by_jwt))["online"] == 2
    assert (await refused(http, v2, bearer=pat)).body == EXPIRED_PAT


async def test_drop_streams(http: aiohttp.ClientSession, sim: NezhaSimulator) -> None:
    async with stream(http, sim) as first, stream(http, sim) as second:
        await raw_frame(first)
        await raw_frame(second)
        assert sim.open_streams == 2
        sim.drop_streams()
        for ws in (first, second):
            while (message := await ws.receive(timeout=1.0)).type is not WSMsgType.CLOSED:
                assert message.type in {WSMsgType.TEXT, WSMsgType.PING}  # sent before the drop
            assert ws.close_code == WSCloseCode.ABNORMAL_CLOSURE
        await until(lambda: sim.open_streams == 0)
    async with stream(http, sim) as again:
        assert (await frame(again))["online"] == 1


async def test_stall_streams(http: aiohttp.ClientSession, sim: NezhaSimulator) -> None:
    async with stream(http, sim) as ws:
        await raw_frame(ws)
        sim.stall_streams()
        await asyncio.sleep(2 * FAST)
        with contextlib.suppress(TimeoutError):
            while True:  # what was sent before the stall
                await ws.receive(timeout=FAST / 2)
        with pytest.raises(TimeoutError):
            await ws.receive(timeout=6 * FAST)
        assert not ws.closed
        assert sim.open_streams == 1
        sim.stall_streams(False)
        assert (await frame(ws))["online"] == 1
