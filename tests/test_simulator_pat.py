"""Pin the v2 simulator's PATs, /service, cycle stats and histories to NEZHA_API_DELTA.md."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta, timezone
import re

import aiohttp
import pytest

from nezha_simulator import NezhaSimulator, build_demo_fleet
from nezha_simulator.accounts import scope_matches
from nezha_simulator.cycles import add_date, cycle_bounds

from .sim_client import EXPIRED_PAT, INVALID_PAT, NOW, UNAUTHORIZED, call, login, make_sim

pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture
async def http() -> AsyncGenerator[aiohttp.ClientSession]:
    """A client without a cookie jar."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session


@pytest.fixture
async def v2() -> AsyncGenerator[NezhaSimulator]:
    """A v2.3.7 dashboard with three servers (3 hidden, 2 owned by member bob)."""
    sim = await make_sim("v2")
    bob = sim.add_user("bob", "pw-bob")
    sim.add_server("a")
    sim.add_server("b", owner_id=bob.id)
    sim.add_server("c", hide_for_guest=True)
    yield sim
    await sim.stop()


@pytest.fixture
async def v1() -> AsyncGenerator[NezhaSimulator]:
    """A v1.14.14 dashboard."""
    sim = await make_sim("v1")
    yield sim
    await sim.stop()


# PATs


def test_pat_format_and_scope_matching(v2: NezhaSimulator) -> None:
    assert re.fullmatch(r"nzp_[0-9A-Za-z]{32}", v2.create_pat())
    assert scope_matches("nezha:*", "nezha:inventory:read")
    assert scope_matches("nezha:server:*", "nezha:server:read")
    assert not scope_matches("nezha:server:*", "nezha:inventory:read")
    assert not scope_matches("nezha:inventory:read", "nezha:inventory:write")
    with pytest.raises(ValueError, match="admins only"):
        v2.create_pat(["nezha:*"], user="bob")


async def test_pat_with_a_given_plaintext(http: aiohttp.ClientSession, v2: NezhaSimulator) -> None:
    """A fixed plaintext (the demo's public PAT) works like a drawn one; a wrong shape does not."""
    fixed = "nzp_" + "Demo" * 8
    assert v2.create_pat(["nezha:inventory:read"], plaintext=fixed) == fixed
    listed = await call(http, v2, "/api/v1/server", bearer=fixed)
    assert listed.status == 200
    assert {server["name"] for server in listed.json()["data"]} == {"a", "b", "c"}
    with pytest.raises(ValueError, match="exists already"):
        v2.create_pat(plaintext=fixed)
    for bad in ("nzp_short", "nzq_" + "a" * 32, "nzp_" + "-" * 32, fixed + "x"):
        with pytest.raises(ValueError, match="32 letters and digits"):
            v2.create_pat(plaintext=bad)
    assert len(v2.pats) == 1


async def test_pat_errors(http: aiohttp.ClientSession, v2: NezhaSimulator) -> None:
    pat = v2.create_pat(["nezha:service:read"])
    lacks = await call(http, v2, "/api/v1/server", bearer=pat)
    assert (lacks.status, lacks.body) == (
        403,
        b'{"error":"ApiErrorForbidden: api token lacks scope nezha:inventory:read"}',
    )
    profile = await call(http, v2, "/api/v1/profile", bearer=pat)
    assert (profile.status, profile.body) == (
        403,
        b'{"error":"ApiErrorForbidden: this endpoint is not accessible by api token"}',
    )
    unknown = await call(http, v2, "/api/v1/service", bearer="nzp_" + "0" * 32)
    assert (unknown.status, unknown.body) == (401, INVALID_PAT)
    v2.expire_pat(pat)
    expired = await call(http, v2, "/api/v1/service", bearer=pat)
    assert (expired.status, expired.body) == (401, EXPIRED_PAT)
    wide = v2.create_pat(["nezha:*"])
    assert (await call(http, v2, "/api/v1/server", bearer=wide)).status == 200
    v2.revoke_pat(wide)
    assert (await call(http, v2, "/api/v1/server", bearer=wide)).body == INVALID_PAT


async def test_pat_expiry_in_days(http: aiohttp.ClientSession, v2: NezhaSimulator) -> None:
    pat = v2.create_pat(expires_in_days=1)
    v2.advance(86399)
    assert (await call(http, v2, "/api/v1/server", bearer=pat)).status == 200
    v2.advance(2)
    assert (await call(http, v2, "/api/v1/server", bearer=pat)).body == EXPIRED_PAT


async def test_pat_only_as_bearer_header(http: aiohttp.ClientSession, v2: NezhaSimulator) -> None:
    pat = v2.create_pat()
    by_query = await call(http, v2, f"/api/v1/server?token={pat}")
    assert (by_query.status, by_query.body) == (200, UNAUTHORIZED)
    lower = await call(http, v2, "/api/v1/server", headers={"Authorization": f"bearer {pat}"})
    assert lower.body == UNAUTHORIZED
    guest = await call(http, v2, f"/api/v1/server-group?token={pat}")
    assert [g["group"]["name"] for g in guest.json().get("data", [])] == []
    setting = await call(http, v2, "/api/v1/setting", bearer=v2.create_pat(["nezha:*"]))
    assert "version" not in setting.json()["data"]
    assert setting.json()["data"]["tsdb_enabled"] is False


async def test_legacy_server_scope(http: aiohttp.ClientSession, v2: NezhaSimulator) -> None:
    old = v2.create_pat(["nezha:server:read"])
    assert (await call(http, v2, "/api/v1/server", bearer=old)).status == 403
    v2.legacy_server_scope = True
    assert (await call(http, v2, "/api/v1/server", bearer=old)).status == 200
    assert (await call(http, v2, "/api/v1/server", bearer=v2.create_pat())).status == 403


async def test_pat_whitelist(http: aiohttp.ClientSession, v2: NezhaSimulator) -> None:
    v2.add_point(v2.add_monitor("ping"), 1, 12.5)
    pat = v2.create_pat(server_ids=[2])
    servers = (await call(http, v2, "/api/v1/server", bearer=pat)).json()["data"]
    assert [server["id"] for server in servers] == [2]
    denied = await call(http, v2, "/api/v1/server/1/service", bearer=pat)
    assert (denied.status, denied.body) == (200, b'{"error":"unauthorized"}')
    bob = v2.create_pat(user="bob")
    assert [
        s["id"] for s in (await call(http, v2, "/api/v1/server", bearer=bob)).json()["data"]
    ] == [2]


async def test_create_pat_over_http(http: aiohttp.ClientSession, v2: NezhaSimulator) -> None:
    reply = await call(
        http,
        v2,
        "/api/v1/login",
        method="POST",
        body={"username": "admin", "password": v2.admin.password},
    )
    token = reply.json()["data"]["token"]
    csrf = reply.headers["Set-Cookie"].split("nz-csrf=")[1].split(";")[0]
    body = {"name": "ha", "scopes": ["nezha:inventory:read"], "expires_in_days": 90}
    created = await call(
        http,
        v2,
        "/api/v1/api-tokens",
        method="POST",
        bearer=token,
        body=body,
        cookies={"nz-csrf": csrf},
        headers={"X-CSRF-Token": csrf},
    )
    pat = created.json()["data"]["token"]
    assert (await call(http, v2, "/api/v1/server", bearer=pat)).status == 200
    by_pat = await call(http, v2, "/api/v1/api-tokens", method="POST", bearer=pat, body=body)
    assert by_pat.status == 403


# /service and cycles


async def test_service_per_viewer(http: aiohttp.ClientSession, v2: NezhaSimulator) -> None:
    ping = v2.add_monitor("ping")
    hidden = v2.add_monitor("secret", kind="http", hide_for_guest=True)
    v2.set_service_day(ping, 29, up=10, down=2, delay=41.2)
    v2.set_service_day(ping, 0, up=5, down=0, delay=0.1)
    v2.set_service_current(ping, up=30, down=0)
    guest = (await call(http, v2, "/api/v1/service")).json()["data"]["services"]
    assert list(guest) == [str(ping)]
    item = guest[str(ping)]
    assert list(item) == [
        "service_name",
        "current_up",
        "current_down",
        "total_up",
        "total_down",
        "delay",
        "up",
        "down",
    ]
    assert (item["total_up"], item["total_down"], item["current_up"]) == (15, 2, 30)
    assert item["delay"][29] == 41.2
    assert item["delay"][0] == 0.1
    assert len(item["up"]) == 30
    admin = await call(http, v2, "/api/v1/service", bearer=await login(http, v2))
    assert list(admin.json()["data"]["services"]) == [str(ping), str(hidden)]


async def test_service_v1_float32_and_hidden(
    http: aiohttp.ClientSession, v1: NezhaSimulator
) -> None:
    ping = v1.add_monitor("ping")
    v1.add_monitor("off", hide_for_guest=True)
    v1.set_service_day(ping, 29, up=1, down=0, delay=0.1)
    reply = await call(http, v1, "/api/v1/service", bearer=await login(http, v1))
    assert list(reply.json()["data"]["services"]) == [str(ping)]
    assert b'"delay":[0,' in reply.body
    assert b",0.1]" in reply.body
    guest = (await call(http, v1, "/api/v1/service")).json()["data"]
    assert list(guest["services"]) == [str(ping)]
    assert "cycle_transfer_stats" not in guest


async def test_cycle_transfer_stats(http: aiohttp.ClientSession, v2: NezhaSimulator) -> None:
    start = datetime(2025, 6, 13, tzinfo=UTC)
    rule = v2.add_cycle_rule("Monthly 1TiB", max_bytes=2**40, cycle_start=start)
    v2.set_cycle_transfer(rule, 1, 123_456)
    v2.set_status(1, net_in_transfer=v2.server(1).status.net_in_transfer + 1000)
    stats = (await call(http, v2, "/api/v1/service", bearer=await login(http, v2))).json()
    cycle = stats["data"]["cycle_transfer_stats"][str(rule)]
    assert list(cycle) == [
        "name",
        "from",
        "to",
        "max",
        "min",
        "server_name",
        "transfer",
        "next_update",
    ]
    assert (cycle["from"], cycle["to"]) == ("2025-06-13T00:00:00Z", "2025-07-13T00:00:00Z")
    assert (cycle["max"], cycle["min"]) == (2**40, 0)
    assert cycle["transfer"]["1"] == 124_456
    assert cycle["server_name"] == {"1": "a", "2": "b", "3": "c"}
    # max(1800 * (max - used) / max, 180) s from now: just under 30 minutes.
    assert re.fullmatch(r"2025-06-15T23:36:40\.2497\d*\+08:00", cycle["next_update"]["1"])
    guest = (await call(http, v2, "/api/v1/service")).json()["data"]["cycle_transfer_stats"]
    assert list(guest[str(rule)]["transfer"]) == ["1", "2"]
    whitelisted = v2.create_pat(server_ids=[3])
    mine = await call(http, v2, "/api/v1/service", bearer=whitelisted)
    assert list(mine.json()["data"]["cycle_transfer_stats"][str(rule)]["transfer"]) == ["3"]


async def test_two_cycle_rules_in_one_alert_mix(
    http: aiohttp.ClientSession, v2: NezhaSimulator
) -> None:
    rule = v2.add_cycle_rule("mixed", max_bytes=100, cycle_start=NOW - 3600, cycle_unit="day")
    v2.add_second_cycle_rule(
        rule,
        max_bytes=999,
        cycle_start=NOW - 7200,
        cycle_unit="hour",
        kind="transfer_in_cycle",
        server_ids=[1],
    )
    v2.set_cycle_transfer(rule, 1, 10, rule_index=0)
    v2.set_cycle_transfer(rule, 1, 20, rule_index=1)
    v2.set_cycle_transfer(rule, 2, 30, rule_index=0)
    data = (await call(http, v2, "/api/v1/service", bearer=await login(http, v2))).json()["data"]
    cycle = data["cycle_transfer_stats"][str(rule)]
    assert cycle["max"] == 100  # the first rule's
    assert (cycle["from"], cycle["to"]) == (  # the last rule's (hour: dashboard zone)
        "2025-06-15T23:06:40+08:00",
        "2025-06-16T00:06:40+08:00",
    )
    assert cycle["transfer"] == {"1": 20, "2": 30, "3": 0}


def test_add_date_has_no_month_end_clamping() -> None:
    jan31 = datetime(2025, 1, 31, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    assert add_date(jan31, 0, 1, 0) == datetime(2025, 3, 3, 8, 0, tzinfo=jan31.tzinfo)
    assert add_date(jan31, 1, 11, 0).date().isoformat() == "2026-12-31"
    begin, end = cycle_bounds(jan31, 1, "month", datetime(2025, 4, 10).timestamp(), 0)
    assert (begin.date().isoformat(), end.date().isoformat()) == ("2025-04-03", "2025-05-03")
    at_end = cycle_bounds(
        jan31, 1, "month", datetime(2025, 3, 3, tzinfo=jan31.tzinfo).timestamp(), 0
    )
    assert at_end[1].date().isoformat() == "2025-03-03"  # `to` still belongs to the cycle


async def test_cycle_rolls_over(http: aiohttp.ClientSession, v2: NezhaSimulator) -> None:
    rule = v2.add_cycle_rule(
        "daily", max_bytes=10**9, cycle_start=NOW - 60, cycle_unit="day", server_ids=[1]
    )
    v2.set_cycle_transfer(rule, 1, 5000)
    token = await login(http, v2)
    v2.advance(86400 - 60)
    before = (await call(http, v2, "/api/v1/service", bearer=token)).json()["data"]
    assert before["cycle_transfer_stats"][str(rule)]["transfer"] == {"1": 5000}
    v2.advance(1)
    after = (await call(http, v2, "/api/v1/service", bearer=token)).json()["data"]
    cycle = after["cycle_transfer_stats"][str(rule)]
    assert cycle["transfer"] == {"1": 0}
    assert cycle["from"] == "2025-06-16T23:05:40.25+08:00"


# Histories


async def test_v1_service_history(http: aiohttp.ClientSession, v1: NezhaSimulator) -> None:
    v1.add_server("a")
    v1.add_server("h", hide_for_guest=True)
    ping = v1.add_monitor("ping")
    v1.add_point(ping, 1, 1800.0, at=NOW - 30)
    reply = (await call(http, v1, "/api/v1/service/1")).json()["data"]
    assert reply == [
        {
            "monitor_id": ping,
            "server_id": 1,
            "monitor_name": "ping",
            "server_name": "a",
            "created_at": [int(NOW - 30) // 60 * 60000],
            "avg_delay": [1800],
        }
    ]
    bad = await call(http, v1, "/api/v1/service/abc")
    assert bad.body == b'{"error":"strconv.ParseUint: parsing \\"abc\\": invalid syntax"}'
    assert (await call(http, v1, "/api/v1/service/9")).body == b'{"error":"server not found"}'
    assert (await call(http, v1, "/api/v1/service/2")).body == b'{"error":"unauthorized"}'
    assert (await call(http, v1, "/api/v1/service/2", bearer=await login(http, v1))).body == (
        b'{"success":true}'
    )


async def test_v2_server_service_periods(http: aiohttp.ClientSession, v2: NezhaSimulator) -> None:
    ping = v2.add_monitor("ping")
    v2.add_point(ping, 1, 20.5, at=NOW - 3 * 86400)
    v2.add_point(ping, 1, 10.25, at=NOW - 60)
    day = (await call(http, v2, "/api/v1/server/1/service")).json()["data"]
    assert list(day[0]) == [
        "monitor_id",
        "server_id",
        "monitor_name",
        "server_name",
        "display_index",
        "created_at",
        "avg_delay",
    ]
    assert day[0]["avg_delay"] == [10.25]
    guest = await call(http, v2, "/api/v1/server/1/service?period=7d")
    assert guest.body == b'{"error":"unauthorized: only 1d data available for guests"}'
    week = await call(http, v2, "/api/v1/server/1/service?period=7d", bearer=await login(http, v2))
    assert week.json()["data"][0]["avg_delay"] == [20.5, 10.25]
    bad = await call(http, v2, "/api/v1/server/1/service?period=2d")
    assert bad.body == b'{"error":"invalid period: 2d, expected 1d, 7d, or 30d"}'
    assert (await call(http, v2, "/api/v1/server/3/service")).body == b'{"error":"unauthorized"}'
    assert (await call(http, v2, "/api/v1/service/1")).status == 404


# Demo


@pytest.mark.parametrize("generation", ["v1", "v2"])
async def test_demo_through_v1_and_v2(http: aiohttp.ClientSession, generation: str) -> None:
    sim = await make_sim(generation)
    try:
        build_demo_fleet(sim)
        token = await login(http, sim)
        servers = (await call(http, sim, "/api/v1/server", bearer=token)).json()["data"]
        assert {s["name"] for s in servers} == {"web-1", "web-2", "gpu-lab", "nas", "fresh-vps"}
        notes = [s["public_note"] for s in servers if "public_note" in s]
        assert len(notes) == 2
        assert all('"billingDataMod"' in note for note in notes)
        lab = await call(
            http, sim, "/api/v1/server", bearer=await login(http, sim, "lab", "lab-password-1")
        )
        assert [s["name"] for s in lab.json()["data"]] == ["gpu-lab"]
        data = (await call(http, sim, "/api/v1/service", bearer=token)).json()["data"]
        names = [item["service_name"] for item in data["services"].values()]
        assert names == [
            "ICMP 1.1.1.1",
            "TCP github.com:443",
            "ICMP 223.5.5.5",
            "HTTP https://example.com",
        ]
        (cycle,) = data["cycle_transfer_stats"].values()
        (used,) = cycle["transfer"].values()
        assert 0.9 < used / cycle["max"] < 1
    finally:
        await sim.stop()
