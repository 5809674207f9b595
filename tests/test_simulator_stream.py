"""Pin the simulator's ``/api/v1/ws/server`` cadence, frames and endings to NEZHA_API_DELTA.md §3.

Real websockets against a running simulator (helpers and the aiohttp set-up in
``stream_client.py``); who may open a stream and what each viewer sees is in
``test_simulator_stream_access.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import contextlib
import json
import struct
import time

import aiohttp
from aiohttp import WSCloseCode, WSMsgType
import pytest

from nezha_simulator import NezhaSimulator

from .sim_client import EXPIRED_PAT, INVALID_PAT, login
from .stream_client import FAST, fast_sim, frame, messages, raw_frame, refused, stream, until

pytestmark = pytest.mark.usefixtures("socket_enabled")

NOW_MS = 1_750_000_000_000
"""``now`` of a frame at ``sim_client.NOW`` (…000.25 s): epoch ms, whole seconds."""


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
async def v2() -> AsyncGenerator[NezhaSimulator]:
    """A v2.3.7 dashboard."""
    simulator = await fast_sim("v2")
    yield simulator
    await simulator.stop()


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
