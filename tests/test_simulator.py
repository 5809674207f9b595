"""Pin the Nezha v0 simulator to the reference (NEZHA_API.md Part A and Part E)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass
import json
import math
from pathlib import Path
import sys
import time
from typing import Any

import aiohttp
import pytest
from yarl import URL

from nezha_simulator import (
    MAX_PING_MS,
    NEVER_ACTIVE,
    Float32,
    NezhaSimulator,
    SimRequest,
    build_demo_fleet,
    dumps,
)
from nezha_simulator.gojson import format_float

pytestmark = pytest.mark.usefixtures("socket_enabled")

TOKEN = "0123456789abcdefABCDEFghijklmnop"
NOW = 1_750_000_000.0
"""2025-06-15 15:06:40 UTC; not on a minute boundary."""
Y2001 = 978_307_200.0
"""2001-01-01 00:00:00 UTC."""
REPO_ROOT = Path(__file__).resolve().parents[1]

AUTH_FAILED = '{"code":403,"message":"访问此接口需要认证"}'.encode()
JSON_TYPE = "application/json; charset=utf-8"
COMMON_KEYS = [
    "id",
    "name",
    "tag",
    "last_active",
    "ipv4",
    "ipv6",
    "valid_ip",
    "display_index",
    "hide_for_guest",
]
HOST_KEYS = [
    "Platform",
    "PlatformVersion",
    "CPU",
    "MemTotal",
    "DiskTotal",
    "SwapTotal",
    "Arch",
    "Virtualization",
    "BootTime",
    "CountryCode",
    "Version",
    "GPU",
]
STATUS_KEYS = [
    "CPU",
    "MemUsed",
    "SwapUsed",
    "DiskUsed",
    "NetInTransfer",
    "NetOutTransfer",
    "NetInSpeed",
    "NetOutSpeed",
    "Uptime",
    "Load1",
    "Load5",
    "Load15",
    "TcpConnCount",
    "UdpConnCount",
    "ProcessCount",
    "Temperatures",
    "GPU",
]
MONITOR_KEYS = ["monitor_id", "server_id", "monitor_name", "server_name", "created_at", "avg_delay"]


@dataclass
class Reply:
    """What came back from the simulator."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    def json(self) -> Any:
        return json.loads(self.body)


@pytest.fixture
async def sim() -> AsyncGenerator[NezhaSimulator]:
    """A running simulator with a frozen clock at ``NOW``."""
    async with NezhaSimulator(token=TOKEN, seed=0, now=NOW) as simulator:
        yield simulator


@pytest.fixture
async def http() -> AsyncGenerator[aiohttp.ClientSession]:
    """A plain HTTP client."""
    async with aiohttp.ClientSession() as session:
        yield session


async def fetch(
    http: aiohttp.ClientSession,
    sim: NezhaSimulator,
    path: str,
    *,
    token: str | None = TOKEN,
    method: str = "GET",
    cookies: dict[str, str] | None = None,
) -> Reply:
    """Send ``path`` verbatim (no re-encoding), with ``token`` as the raw Authorization header."""
    headers = {} if token is None else {"Authorization": token}
    if cookies:
        headers["Cookie"] = "; ".join(f"{key}={value}" for key, value in cookies.items())
    url = URL(sim.url + path, encoded=True)
    async with http.request(method, url, headers=headers) as response:
        return Reply(response.status, dict(response.headers), await response.read())


async def details(http: aiohttp.ClientSession, sim: NezhaSimulator, query: str = "") -> list[Any]:
    """The ``result`` of a successful ``/server/details`` call."""
    reply = await fetch(http, sim, "/api/v1/server/details" + query)
    assert reply.status == 200
    body = reply.json()
    assert body["code"] == 0
    assert body["message"] == "success"
    return list(body["result"])


def ids(result: list[Any]) -> list[int]:
    return [server["id"] for server in result]


def add_fleet(sim: NezhaSimulator) -> None:
    """Servers 1, 2 tagged prod, 3 tagged lab, 4 with no tag."""
    sim.add_server("web-1", tag="prod")
    sim.add_server("web-2", tag="prod")
    sim.add_server("lab-1", tag="lab")
    sim.add_server("untagged")


# Server objects


async def test_details_server_object_fields_order_and_values(
    sim: NezhaSimulator, http: aiohttp.ClientSession
) -> None:
    sim.add_server(
        "gpu",
        tag="lab",
        ipv4="203.0.113.7",
        ipv6="2001:db8::7",
        platform="ubuntu",
        platform_version="24.04",
        arch="amd64",
        virtualization="kvm",
        agent_version="0.20.5",
        cpu_names=["AMD EPYC 7763 64-Core Processor 4 Virtual Core"],
        gpu_names=["NVIDIA GeForce RTX 4090"],
        mem_total=8_000_000_000,
        disk_total=100_000_000_000,
        swap_total=0,
        boot_time=1_749_000_000,
        country_code="de",
        cpu=3.0150753768803,
        mem_used=2_000_000_000,
        net_in_speed=10806,
        uptime=1_000_000,
        load1=0.5,
        temperatures=[("coretemp_package_id_0", 47.0)],
        gpu=12.0,
    )
    reply = await fetch(http, sim, "/api/v1/server/details")
    assert reply.status == 200
    assert reply.content_type == JSON_TYPE
    body = reply.json()
    assert list(body) == ["code", "message", "result"]
    (server,) = body["result"]
    assert list(server) == [*COMMON_KEYS, "host", "status"]
    assert list(server["host"]) == HOST_KEYS
    assert list(server["status"]) == STATUS_KEYS
    assert server["ipv4"] == "203.0.113.7"
    assert server["valid_ip"] == "203.0.113.7"
    assert server["last_active"] == int(NOW)
    assert server["host"]["CPU"] == ["AMD EPYC 7763 64-Core Processor 4 Virtual Core"]
    assert server["host"]["GPU"] == ["NVIDIA GeForce RTX 4090"]
    assert server["host"]["Version"] == "0.20.5"
    assert server["host"]["CountryCode"] == "de"
    assert server["status"]["Temperatures"] == [
        {"Name": "coretemp_package_id_0", "Temperature": 47}
    ]
    assert server["status"]["GPU"] == 12
    assert server["status"]["CPU"] == 3.0150753768803
    # Compact Go encoding: whole floats without ".0", no spaces.
    assert b'"Temperatures":[{"Name":"coretemp_package_id_0","Temperature":47}]' in reply.body
    assert b'"GPU":12}' in reply.body
    assert b'"Load1":0.5,' in reply.body
    assert b": " not in reply.body


async def test_list_returns_common_info_only(
    sim: NezhaSimulator, http: aiohttp.ClientSession
) -> None:
    sim.add_server("web-1", tag="prod", ipv6="2001:db8::1", ipv4="")
    reply = await fetch(http, sim, "/api/v1/server/list")
    assert reply.status == 200
    assert reply.content_type == JSON_TYPE
    (server,) = reply.json()["result"]
    assert list(server) == COMMON_KEYS
    assert server["valid_ip"] == "2001:db8::1"
    assert server["ipv4"] == ""


async def test_never_reported_server_is_all_zero(
    sim: NezhaSimulator, http: aiohttp.ClientSession
) -> None:
    sim.add_server("new", tag="t", reported=False)
    reply = await fetch(http, sim, "/api/v1/server/details")
    assert reply.json()["result"] == [
        {
            "id": 1,
            "name": "new",
            "tag": "t",
            "last_active": -62135596800,
            "ipv4": "",
            "ipv6": "",
            "valid_ip": "",
            "display_index": 0,
            "hide_for_guest": False,
            "host": dict.fromkeys(HOST_KEYS, 0)
            | {
                "Platform": "",
                "PlatformVersion": "",
                "CPU": None,
                "Arch": "",
                "Virtualization": "",
                "CountryCode": "",
                "Version": "",
                "GPU": None,
            },
            "status": dict.fromkeys(STATUS_KEYS, 0) | {"Temperatures": None},
        }
    ]
    assert b'"CPU":null' in reply.body
    assert b'"Temperatures":null' in reply.body
    assert b'"CPU":0,' in reply.body


async def test_empty_lists_are_null_never_empty_arrays(
    sim: NezhaSimulator, http: aiohttp.ClientSession
) -> None:
    sim.add_server("bare", cpu_names=[], gpu_names=[], temperatures=[])
    reply = await fetch(http, sim, "/api/v1/server/details")
    (server,) = reply.json()["result"]
    assert server["host"]["CPU"] is None
    assert server["host"]["GPU"] is None
    assert server["status"]["Temperatures"] is None
    assert b"[]" not in reply.body


@pytest.mark.parametrize(
    ("ipv4", "ipv6", "valid_ip"),
    [
        ("1.1.1.1", "2606:4700::1111", "1.1.1.1"),
        ("1.1.1.1", "", "1.1.1.1"),
        ("", "2606:4700::1111", "2606:4700::1111"),
        ("", "", ""),
    ],
)
async def test_valid_ip_rule(
    sim: NezhaSimulator, http: aiohttp.ClientSession, ipv4: str, ipv6: str, valid_ip: str
) -> None:
    sim.add_server("s", ipv4=ipv4, ipv6=ipv6)
    (server,) = await details(http, sim)
    assert (server["ipv4"], server["ipv6"], server["valid_ip"]) == (ipv4, ipv6, valid_ip)


def test_add_server_validation() -> None:
    sim = NezhaSimulator(token=TOKEN, now=NOW)
    assert sim.add_server().id == 1
    assert sim.add_server(server_id=7).name == "server-7"
    assert sim.add_server().id == 8
    with pytest.raises(ValueError, match="already exists"):
        sim.add_server(server_id=7)
    with pytest.raises(ValueError, match="start at 1"):
        sim.add_server(server_id=0)
    with pytest.raises(ValueError, match="never-reported"):
        sim.add_server(reported=False, cpu=5.0)
    with pytest.raises(KeyError):
        sim.rename_server(99, "x")
    with pytest.raises(KeyError):
        sim.add_point(1, 1, 5.0)


# Authentication


@pytest.mark.parametrize("path", ["/api/v1/server/details", "/api/v1/server/list"])
@pytest.mark.parametrize(
    "token",
    [None, "", "wrong-token", f"Bearer {TOKEN}", f"Token {TOKEN}", TOKEN.lower(), TOKEN[:-1]],
)
async def test_bad_credentials_answer_http_200_code_403(
    sim: NezhaSimulator, http: aiohttp.ClientSession, path: str, token: str | None
) -> None:
    sim.add_server("web-1")
    reply = await fetch(http, sim, path, token=token)
    assert reply.status == 200
    assert reply.content_type == JSON_TYPE
    assert reply.body == AUTH_FAILED
    assert "result" not in reply.json()


async def test_revoked_and_changed_token(sim: NezhaSimulator, http: aiohttp.ClientSession) -> None:
    assert (await fetch(http, sim, "/api/v1/server/list")).json()["code"] == 0
    new_token = "Zyxwvutsrqponmlkjihgfedcba987654"
    sim.token = new_token
    assert (await fetch(http, sim, "/api/v1/server/list")).body == AUTH_FAILED
    new = await fetch(http, sim, "/api/v1/server/list", token=new_token)
    assert new.json() == {"code": 0, "message": "success", "result": []}
    sim.revoke_token()
    assert (await fetch(http, sim, "/api/v1/server/list", token=new_token)).body == AUTH_FAILED
    assert (await fetch(http, sim, "/api/v1/server/details", token="")).body == AUTH_FAILED


def test_random_token_shape() -> None:
    token = NezhaSimulator().token
    assert token is not None
    assert len(token) == 32
    assert token.isalnum()
    assert token.isascii()


# Query semantics (A.5)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?id=abc", []),
        ("?id=1,2,999", [1, 2]),
        ("?id=3,1", [3, 1]),
        ("?id=1,1", [1, 1]),
        ("?id=1,%202", [1]),
        ("?id=1,+2", [1]),
        ("?id=1,,2", [1, 2]),
        ("?id=01", [1]),
        ("?id=-1", []),
        ("?id=18446744073709551617", []),
        ("?tag=prod", [1, 2]),
        ("?tag=Prod", []),
        ("?tag=Unknown", []),
        ("?tag=lab&id=1", [3]),
        ("?id=1&tag=lab", [3]),
        ("?id=2&id=1", [2]),
    ],
)
async def test_details_query_semantics(
    sim: NezhaSimulator, http: aiohttp.ClientSession, query: str, expected: list[int]
) -> None:
    add_fleet(sim)
    assert ids(await details(http, sim, query)) == expected


@pytest.mark.parametrize("query", ["", "?id=", "?tag=", "?id=&tag=", "?foo=bar"])
async def test_details_without_filter_returns_all(
    sim: NezhaSimulator, http: aiohttp.ClientSession, query: str
) -> None:
    add_fleet(sim)
    assert sorted(ids(await details(http, sim, query))) == [1, 2, 3, 4]


async def test_list_filters_by_tag_and_ignores_id(
    sim: NezhaSimulator, http: aiohttp.ClientSession
) -> None:
    add_fleet(sim)
    by_tag = await fetch(http, sim, "/api/v1/server/list?tag=prod")
    assert ids(by_tag.json()["result"]) == [1, 2]
    by_id = await fetch(http, sim, "/api/v1/server/list?id=1")
    assert sorted(ids(by_id.json()["result"])) == [1, 2, 3, 4]
    unknown = await fetch(http, sim, "/api/v1/server/list?tag=nope")
    assert unknown.body == b'{"code":0,"message":"success","result":[]}'


async def test_tag_order_is_insertion_order(
    sim: NezhaSimulator, http: aiohttp.ClientSession
) -> None:
    sim.add_server("b", server_id=5, tag="prod")
    sim.add_server("a", server_id=2, tag="prod")
    assert ids(await details(http, sim, "?tag=prod")) == [5, 2]
    sim.add_server("c", server_id=3, tag="lab")
    sim.set_tag(3, "prod")
    sim.rename_server(5, "renamed")
    assert ids(await details(http, sim, "?tag=prod")) == [5, 2, 3]
    sim.set_tag(5, "lab")
    sim.set_tag(5, "prod")
    result = await details(http, sim, "?tag=prod")
    assert ids(result) == [2, 3, 5]
    assert result[2]["name"] == "renamed"
    sim.restart_dashboard()
    assert ids(await details(http, sim, "?tag=prod")) == [2, 3, 5]
    sim.set_tag(2, "")
    assert ids(await details(http, sim, "?tag=prod")) == [3, 5]


async def test_unfiltered_order_is_random_but_seeded(http: aiohttp.ClientSession) -> None:
    async def orders(seed: int) -> list[list[int]]:
        async with NezhaSimulator(token=TOKEN, seed=seed, now=NOW) as simulator:
            for index in range(8):
                simulator.add_server(f"s{index}")
            seen = [ids(await details(http, simulator)) for _ in range(6)]
            listed = await fetch(http, simulator, "/api/v1/server/list")
            seen.append(ids(listed.json()["result"]))
            return seen

    first, again, other = await orders(3), await orders(3), await orders(4)
    assert first == again
    assert first != other
    assert len({tuple(order) for order in first}) > 1
    assert all(sorted(order) == list(range(1, 9)) for order in first)


async def test_display_fields_only_on_unfiltered_details(
    sim: NezhaSimulator, http: aiohttp.ClientSession
) -> None:
    sim.add_server("hidden", tag="x", display_index=7, hide_for_guest=True)
    (full,) = await details(http, sim)
    assert (full["display_index"], full["hide_for_guest"]) == (7, True)
    for path in (
        "/api/v1/server/details?id=1",
        "/api/v1/server/details?tag=x",
        "/api/v1/server/list",
        "/api/v1/server/list?tag=x",
    ):
        (server,) = (await fetch(http, sim, path)).json()["result"]
        assert (server["display_index"], server["hide_for_guest"]) == (0, False), path


# last_active and the clock


async def test_last_active_follows_clock_until_offline(
    sim: NezhaSimulator, http: aiohttp.ClientSession
) -> None:
    sim.add_server("web", cpu=42.5)
    assert (await details(http, sim))[0]["last_active"] == int(NOW)
    sim.advance(90.7)
    assert (await details(http, sim))[0]["last_active"] == int(NOW) + 90
    sim.take_offline(1)
    sim.advance(600)
    (stale,) = await details(http, sim)
    assert stale["last_active"] == int(NOW) + 90
    assert stale["status"]["CPU"] == 42.5
    sim.report(1)
    sim.advance(5)
    assert (await details(http, sim))[0]["last_active"] == int(NOW) + 690
    sim.set_status(1, cpu=1.0, report=False)
    assert (await details(http, sim))[0]["last_active"] == int(NOW) + 690
    sim.set_status(1, cpu=2.0)
    sim.set_host(1, platform="alpine", report=False)
    sim.advance(5)
    (server,) = await details(http, sim)
    assert server["last_active"] == int(NOW) + 695
    assert (server["status"]["CPU"], server["host"]["Platform"]) == (2, "alpine")
    sim.bring_online(1)
    assert (await details(http, sim))[0]["last_active"] == int(NOW) + 700


async def test_restart_forgets_servers_that_are_not_reporting(
    sim: NezhaSimulator, http: aiohttp.ClientSession
) -> None:
    sim.add_server("online", cpu=10.0)
    sim.add_server("offline", cpu=20.0)
    sim.take_offline(2)
    sim.restart_dashboard()
    online, offline = sorted(await details(http, sim), key=lambda server: server["id"])
    assert online["last_active"] == int(NOW)
    assert online["status"]["CPU"] == 10
    assert offline["last_active"] == NEVER_ACTIVE
    assert offline["status"]["CPU"] == 0
    assert offline["host"]["CPU"] is None
    assert offline["valid_ip"] == ""


def test_clock_follows_real_time_unless_frozen() -> None:
    sim = NezhaSimulator()
    frozen = [sim.clock_frozen]
    assert abs(sim.now - time.time()) < 5
    sim.now = Y2001
    assert abs(sim.now - Y2001) < 5
    sim.advance(3600)
    assert abs(sim.now - (Y2001 + 3600)) < 5
    sim.freeze_clock(NOW)
    frozen.append(sim.clock_frozen)
    assert sim.now == NOW
    sim.advance(1.5)
    assert sim.now == NOW + 1.5
    sim.unfreeze_clock()
    frozen.append(sim.clock_frozen)
    assert abs(sim.now - (NOW + 1.5)) < 5
    assert frozen == [False, True, False]


async def test_date_header_comes_from_the_dashboard_clock(
    sim: NezhaSimulator, http: aiohttp.ClientSession
) -> None:
    sim.now = Y2001
    sim.add_monitor()
    expected = "Mon, 01 Jan 2001 00:00:00 GMT"
    for path, token in (
        ("/api/v1/server/details", TOKEN),
        ("/api/v1/server/details", None),
        ("/api/v1/monitor/abc", None),
        ("/nope", None),
    ):
        reply = await fetch(http, sim, path, token=token)
        assert reply.headers["Date"] == expected, path
        assert "Server" not in reply.headers
    sim.fail_next()
    assert (await fetch(http, sim, "/api/v1/server/list")).headers["Date"] == expected
    sim.advance(86400 + 61)
    reply = await fetch(http, sim, "/api/v1/server/list")
    assert reply.headers["Date"] == "Tue, 02 Jan 2001 00:01:01 GMT"


# Monitor endpoint (A.4, A.7)


@pytest.mark.parametrize(
    ("path", "token", "status", "body"),
    [
        ("/api/v1/monitor/abc", None, 400, '{"code":400,"message":"id参数错误"}'),
        ("/api/v1/monitor/-1", TOKEN, 400, '{"code":400,"message":"id参数错误"}'),
        ("/api/v1/monitor/1.0", None, 400, '{"code":400,"message":"id参数错误"}'),
        ("/api/v1/monitor/999", None, 404, '{"code":404,"message":"id不存在"}'),
        ("/api/v1/monitor/0", TOKEN, 404, '{"code":404,"message":"id不存在"}'),
        ("/api/v1/monitor/2", None, 403, '{"code":403,"message":"需要认证"}'),
        ("/api/v1/monitor/2", "wrong", 403, '{"code":403,"message":"需要认证"}'),
        ("/api/v1/monitor/2", f"Bearer {TOKEN}", 403, '{"code":403,"message":"需要认证"}'),
        ("/api/v1/monitor/2", TOKEN, 200, '{"code":0,"message":"success","result":null}'),
        ("/api/v1/monitor/1", None, 200, '{"code":0,"message":"success","result":null}'),
        ("/api/v1/monitor/1", "wrong", 200, '{"code":0,"message":"success","result":null}'),
        ("/api/v1/monitor/01", None, 200, '{"code":0,"message":"success","result":null}'),
    ],
)
async def test_monitor_error_matrix(
    sim: NezhaSimulator,
    http: aiohttp.ClientSession,
    *,
    path: str,
    token: str | None,
    status: int,
    body: str,
) -> None:
    sim.add_server("public")
    sim.add_server("hidden", hide_for_guest=True)
    reply = await fetch(http, sim, path, token=token)
    assert (reply.status, reply.body.decode()) == (status, body)
    assert reply.content_type == JSON_TYPE


async def test_monitor_history_shape(sim: NezhaSimulator, http: aiohttp.ClientSession) -> None:
    sim.add_server("web-1")
    sim.add_server("other")
    tcp = sim.add_monitor("TCP github.com:443", monitor_id=5)
    icmp = sim.add_monitor("ICMP 1.1.1.1", monitor_id=2)
    sim.add_point(tcp, 1, 40.25, at=NOW - 30)
    sim.add_point(tcp, 1, 38.5, at=NOW - 130)
    sim.add_point(icmp, 1, 68.2275, at=NOW - 3600)
    sim.add_point(icmp, 1, 0.0, at=NOW - 1800)
    sim.add_point(icmp, 1, 1500.0, at=NOW - 10)
    sim.add_point(icmp, 2, 9.0, at=NOW - 10)
    sim.add_point(icmp, 1, 12.0, at=NOW - 86400)
    sim.add_point(icmp, 1, 13.0, at=NOW - 86400 - 1)
    sim.add_point(icmp, 1, 14.0)
    reply = await fetch(http, sim, "/api/v1/monitor/1", token=None)
    assert reply.status == 200
    body = reply.json()
    assert (body["code"], body["message"]) == (0, "success")
    first, second = body["result"]
    assert list(first) == MONITOR_KEYS
    assert (first["monitor_id"], first["monitor_name"]) == (2, "ICMP 1.1.1.1")
    assert (first["server_id"], first["server_name"]) == (1, "web-1")
    assert first["avg_delay"] == [12, 68.2275, 0, MAX_PING_MS, 14]
    minute = math.floor(NOW / 60) * 60_000
    assert first["created_at"] == [
        math.floor((NOW - 86400) / 60) * 60_000,
        math.floor((NOW - 3600) / 60) * 60_000,
        math.floor((NOW - 1800) / 60) * 60_000,
        math.floor((NOW - 10) / 60) * 60_000,
        minute,
    ]
    assert all(stamp % 60_000 == 0 for stamp in first["created_at"])
    assert (second["monitor_id"], second["avg_delay"]) == (5, [38.5, 40.25])
    assert second["created_at"] == [
        math.floor((NOW - 130) / 60) * 60_000,
        math.floor((NOW - 30) / 60) * 60_000,
    ]
    assert b'"avg_delay":[12,68.2275,0,1000,14]' in reply.body
    sim.advance(86400 - 20)
    (late,) = (await fetch(http, sim, "/api/v1/monitor/1")).json()["result"]
    assert (late["monitor_id"], late["avg_delay"]) == (2, [1000, 14])


async def test_monitor_follows_names_and_removals(
    sim: NezhaSimulator, http: aiohttp.ClientSession
) -> None:
    sim.add_server("web-1")
    one = sim.add_monitor("a")
    two = sim.add_monitor("b")
    sim.add_point(one, 1, 5.0, at=NOW - 60)
    sim.add_point(two, 1, 6.0, at=NOW - 60)
    sim.rename_server(1, "renamed")
    sim.monitors[one].name = "a2"
    result = (await fetch(http, sim, "/api/v1/monitor/1")).json()["result"]
    assert [(item["monitor_name"], item["server_name"]) for item in result] == [
        ("a2", "renamed"),
        ("b", "renamed"),
    ]
    sim.remove_monitor(one)
    result = (await fetch(http, sim, "/api/v1/monitor/1")).json()["result"]
    assert [item["monitor_id"] for item in result] == [two]
    sim.clear_points()
    assert (await fetch(http, sim, "/api/v1/monitor/1")).json()["result"] is None
    sim.remove_server(1)
    assert (await fetch(http, sim, "/api/v1/monitor/1")).status == 404
    assert await details(http, sim) == []


async def test_monitor_view_password(sim: NezhaSimulator, http: aiohttp.ClientSession) -> None:
    sim.add_server("public")
    sim.add_server("hidden", hide_for_guest=True)
    sim.add_monitor()
    sim.add_point(1, 2, 5.0)
    sim.view_password = "letmein"
    guest = await fetch(http, sim, "/api/v1/monitor/abc", token=None)
    assert (guest.status, guest.body.decode()) == (200, '{"code":403,"message":"访问受限"}')
    cookie = {"nezha-dashboard-vp": "letmein"}
    viewer = await fetch(http, sim, "/api/v1/monitor/2", token=None, cookies=cookie)
    assert viewer.json()["result"][0]["avg_delay"] == [5]
    bad_cookie = {"nezha-dashboard-vp": "nope"}
    refused = await fetch(http, sim, "/api/v1/monitor/1", token=None, cookies=bad_cookie)
    assert refused.json() == {"code": 403, "message": "访问受限"}
    member = await fetch(http, sim, "/api/v1/monitor/2")
    assert member.json()["code"] == 0


# Unknown routes


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/setting"),
        ("GET", "/api/v1/server"),
        ("GET", "/api/v1/server/list/"),
        ("GET", "/api/v1/monitor/"),
        ("GET", "/api/v1/monitor/1/extra"),
        ("GET", "/api/v2/server/details"),
        ("POST", "/api/v1/server/details"),
        ("PUT", "/api/v1/server/list"),
        ("DELETE", "/api/v1/monitor/1"),
    ],
)
async def test_unknown_routes_are_html_404(
    sim: NezhaSimulator, http: aiohttp.ClientSession, method: str, path: str
) -> None:
    sim.add_server("web-1")
    reply = await fetch(http, sim, path, method=method)
    assert reply.status == 404
    assert reply.content_type == "text/html; charset=utf-8"
    assert "<title>该页面不存在" in reply.body.decode()


async def test_head_is_not_routed(sim: NezhaSimulator, http: aiohttp.ClientSession) -> None:
    reply = await fetch(http, sim, "/api/v1/server/list", method="HEAD")
    assert reply.status == 404
    assert reply.content_type == "text/html; charset=utf-8"


# Fault injection, latency and the request log


async def test_fail_next_is_consumed_in_order(
    sim: NezhaSimulator, http: aiohttp.ClientSession
) -> None:
    sim.fail_next(2)
    sim.fail_next(status=500, body='{"code":500}', content_type="application/json")
    assert sim.pending_faults == 3
    first = await fetch(http, sim, "/api/v1/server/list")
    second = await fetch(http, sim, "/api/v1/monitor/1")
    assert (first.status, second.status) == (502, 502)
    assert first.content_type == "text/html"
    assert b"502 Bad Gateway" in first.body
    third = await fetch(http, sim, "/api/v1/server/list")
    assert (third.status, third.body) == (500, b'{"code":500}')
    assert sim.pending_faults == 0
    fourth = await fetch(http, sim, "/api/v1/server/list")
    assert fourth.json() == {"code": 0, "message": "success", "result": []}


async def test_fault_limited_to_a_path(sim: NezhaSimulator, http: aiohttp.ClientSession) -> None:
    sim.add_server("web-1")
    sim.fail_next(status=503, body="down", path="/api/v1/monitor")
    assert (await fetch(http, sim, "/api/v1/server/details")).status == 200
    assert (await fetch(http, sim, "/api/v1/monitor/1")).status == 503
    assert (await fetch(http, sim, "/api/v1/monitor/1")).status == 200


async def test_monitor_database_error_via_fault(
    sim: NezhaSimulator, http: aiohttp.ClientSession
) -> None:
    sim.add_server("web-1")
    body = '{"code":500,"message":"database is locked","result":null}'
    sim.fail_next(status=200, body=body, content_type=JSON_TYPE, path="/api/v1/monitor/")
    reply = await fetch(http, sim, "/api/v1/monitor/1")
    assert (reply.status, reply.content_type) == (200, JSON_TYPE)
    assert reply.json() == {"code": 500, "message": "database is locked", "result": None}


async def test_html_login_page(sim: NezhaSimulator, http: aiohttp.ClientSession) -> None:
    sim.html_next()
    async with http.get(sim.url + "/api/v1/server/details", headers={"Authorization": TOKEN}) as r:
        assert r.status == 200
        assert r.headers["Content-Type"] == "text/html; charset=utf-8"
        assert "<form" in await r.text()
        with pytest.raises(aiohttp.ContentTypeError):
            await r.json()


async def test_broken_json(sim: NezhaSimulator, http: aiohttp.ClientSession) -> None:
    sim.broken_json_next(2)
    for _ in range(2):
        reply = await fetch(http, sim, "/api/v1/server/details")
        assert (reply.status, reply.content_type) == (200, JSON_TYPE)
        with pytest.raises(json.JSONDecodeError):
            reply.json()
    assert (await fetch(http, sim, "/api/v1/server/details")).json()["code"] == 0


async def test_latency_and_slow_next(sim: NezhaSimulator, http: aiohttp.ClientSession) -> None:
    sim.latency = 0.3
    with pytest.raises(TimeoutError):
        async with http.get(
            sim.url + "/api/v1/server/list", timeout=aiohttp.ClientTimeout(total=0.1)
        ):
            pass
    started = time.monotonic()
    assert (await fetch(http, sim, "/api/v1/server/list")).status == 200
    assert time.monotonic() - started >= 0.3
    sim.latency = 0.0
    sim.slow_next(0.3)
    started = time.monotonic()
    slow = await fetch(http, sim, "/api/v1/server/list")
    assert slow.json()["code"] == 0
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    await fetch(http, sim, "/api/v1/server/list")
    assert time.monotonic() - started < 0.3


async def test_disconnect_next(sim: NezhaSimulator, http: aiohttp.ClientSession) -> None:
    # aiohttp retries an idempotent request once after a disconnect: one drop goes unnoticed.
    sim.disconnect_next()
    assert (await fetch(http, sim, "/api/v1/server/list")).status == 200
    assert len(sim.requests) == 2
    sim.disconnect_next(2)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await fetch(http, sim, "/api/v1/server/list")
    assert len(sim.requests) == 4
    assert (await fetch(http, sim, "/api/v1/server/list")).status == 200


async def test_request_log_hides_the_token(
    sim: NezhaSimulator, http: aiohttp.ClientSession
) -> None:
    await fetch(http, sim, "/api/v1/server/details?id=1,2")
    await fetch(http, sim, "/api/v1/monitor/1", token=None, method="POST")
    assert sim.requests == [
        ("GET", "/api/v1/server/details?id=1,2", TOKEN),
        ("POST", "/api/v1/monitor/1", None),
    ]
    assert sim.requests[0] == SimRequest("GET", "/api/v1/server/details?id=1,2", TOKEN)
    assert TOKEN not in repr(sim.requests)
    assert "'***'" in repr(sim.requests[0])


# 1.x mode


async def test_v1_generation(sim: NezhaSimulator, http: aiohttp.ClientSession) -> None:
    sim.add_server("web-1")
    sim.generation = "v1"
    for path in ("/api/v1/server/details", "/api/v1/server/list", "/api/v1/monitor/1"):
        reply = await fetch(http, sim, path)
        assert (reply.status, reply.content_type) == (404, JSON_TYPE), path
        assert reply.body == b'{"error":"404 Not Found"}'
    setting = await fetch(http, sim, "/api/v1/setting", token=None)
    assert setting.status == 200
    body = setting.json()
    assert body["success"] is True
    assert body["data"]["config"]["language"] == "en-US"
    assert "tsdb_enabled" not in body["data"]
    frontend = await fetch(http, sim, "/dashboard")
    assert (frontend.status, frontend.content_type) == (200, "text/html; charset=utf-8")
    sim.generation = "v0"
    assert (await fetch(http, sim, "/api/v1/setting")).status == 404
    assert len(await details(http, sim)) == 1


# Demo fleet


async def test_demo_fleet_serves(sim: NezhaSimulator, http: aiohttp.ClientSession) -> None:
    build_demo_fleet(sim)
    servers = {server["name"]: server for server in await details(http, sim)}
    assert set(servers) == {"web-1", "web-2", "gpu-lab", "nas", "fresh-vps"}
    assert len(await details(http, sim, "?tag=prod")) == 2
    assert ids(await details(http, sim, "?tag=lab")) == [servers["gpu-lab"]["id"]]
    gpu = servers["gpu-lab"]
    assert gpu["host"]["GPU"] == ["NVIDIA GeForce RTX 4090"]
    assert gpu["status"]["Temperatures"][0]["Name"] == "coretemp_package_id_0"
    assert gpu["status"]["GPU"] > 0
    assert servers["nas"]["last_active"] == int(NOW) - 600
    assert servers["nas"]["hide_for_guest"] is True
    assert servers["fresh-vps"]["last_active"] == NEVER_ACTIVE
    assert servers["web-1"]["last_active"] == int(NOW)

    history = await fetch(http, sim, f"/api/v1/monitor/{servers['web-2']['id']}", token=None)
    monitors = history.json()["result"]
    assert len(monitors) == 3
    assert {item["monitor_name"] for item in monitors} >= {"TCP github.com:443"}
    for item in monitors:
        assert 1400 <= len(item["created_at"]) <= 1441
        assert len(item["avg_delay"]) == len(item["created_at"])
        assert item["created_at"] == sorted(item["created_at"])
    recent = [
        delay
        for item in monitors
        for stamp, delay in zip(item["created_at"], item["avg_delay"], strict=True)
        if stamp >= (NOW - 300) * 1000
    ]
    assert 0 in recent
    gpu_history = await fetch(http, sim, f"/api/v1/monitor/{gpu['id']}")
    assert max(max(item["avg_delay"]) for item in gpu_history.json()["result"]) == 1000
    nas_id = servers["nas"]["id"]
    assert (await fetch(http, sim, f"/api/v1/monitor/{nas_id}", token=None)).status == 403
    nas_history = (await fetch(http, sim, f"/api/v1/monitor/{nas_id}")).json()["result"]
    assert max(stamp for item in nas_history for stamp in item["created_at"]) <= (NOW - 600) * 1000
    fresh = await fetch(http, sim, f"/api/v1/monitor/{servers['fresh-vps']['id']}")
    assert fresh.json()["result"] is None


async def test_demo_fleet_moves_with_the_clock(
    sim: NezhaSimulator, http: aiohttp.ClientSession
) -> None:
    fleet = build_demo_fleet(sim, seed=1)
    assert fleet.sim is sim

    async def rounds(server_id: int) -> list[int]:
        reply = await fetch(http, sim, f"/api/v1/monitor/{server_id}")
        return [len(item["created_at"]) for item in reply.json()["result"]]

    before = {server["name"]: server for server in await details(http, sim)}
    web_id, nas_id = before["web-1"]["id"], before["nas"]["id"]
    web_rounds, nas_rounds = await rounds(web_id), await rounds(nas_id)
    sim.advance(300)
    fleet.tick()
    after = {server["name"]: server for server in await details(http, sim)}
    web = before["web-1"]["status"], after["web-1"]["status"]
    assert web[1]["CPU"] != web[0]["CPU"]
    assert web[1]["NetInTransfer"] > web[0]["NetInTransfer"]
    assert web[1]["Uptime"] == web[0]["Uptime"] + 300
    assert after["nas"]["status"] == before["nas"]["status"]
    assert after["fresh-vps"]["status"]["CPU"] == 0
    # Five new rounds per monitor on reporting servers; five old ones left the 24 h window.
    assert await rounds(web_id) == web_rounds
    assert await rounds(nas_id) == [count - 5 for count in nas_rounds]


async def test_demo_ticker_runs_until_cancelled(sim: NezhaSimulator) -> None:
    fleet = build_demo_fleet(sim)
    cpu = sim.servers[1].status.cpu
    sim.advance(60)
    task = asyncio.create_task(fleet.run(interval=0.01))
    for _ in range(100):
        await asyncio.sleep(0.01)
        if sim.servers[1].status.cpu != cpu:
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sim.servers[1].status.cpu != cpu


async def test_command_line_demo(http: aiohttp.ClientSession) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "nezha_simulator",
        "--port",
        "0",
        "--demo",
        "--token",
        TOKEN,
        stdout=asyncio.subprocess.PIPE,
        cwd=REPO_ROOT,
    )
    try:
        assert process.stdout is not None
        url_line = await asyncio.wait_for(process.stdout.readline(), 30)
        token_line = await asyncio.wait_for(process.stdout.readline(), 5)
        url = url_line.decode().split(" at ")[1].strip()
        assert url.startswith("http://127.0.0.1:")
        assert token_line.decode().strip() == f"API token: {TOKEN}"
        async with http.get(url + "/api/v1/server/details", headers={"Authorization": TOKEN}) as r:
            body = await r.json()
        assert len(body["result"]) == 5
        web = next(server for server in body["result"] if server["name"] == "web-1")
        assert abs(web["last_active"] - time.time()) < 60
    finally:
        process.terminate()
        await process.wait()


# Go JSON encoding


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (47.0, "47"),
        (0.0, "0"),
        (-0.0, "-0"),
        (3.0150753768803, "3.0150753768803"),
        (0.1, "0.1"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1.5e-7, "1.5e-7"),
        (0.000001, "0.000001"),
        (1.25e-10, "1.25e-10"),
        (Float32(68.2275), "68.2275"),
        (Float32(0.1), "0.1"),
        (Float32(1000.0), "1000"),
        (Float32(16777217.0), "16777216"),
    ],
)
def test_go_float_format(value: float, text: str) -> None:
    assert dumps(value) == text


def test_go_json_encoding() -> None:
    assert dumps({"b": None, "a": [True, False, 1, 2.5, "x"]}) == (
        '{"b":null,"a":[true,false,1,2.5,"x"]}'
    )
    assert dumps("<a&b> 访问\u2028\n") == '"\\u003ca\\u0026b\\u003e 访问\\u2028\\n"'
    with pytest.raises(ValueError, match="unsupported value"):
        format_float(math.nan)
