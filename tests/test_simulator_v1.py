"""Pin the simulator's 1.x/2.x HTTP API to NEZHA_API.md Parts B-E and NEZHA_API_DELTA.md."""

from __future__ import annotations

import base64
from collections.abc import AsyncGenerator
import json
from typing import Any

import aiohttp
import jwt
import pytest

from nezha_simulator import NezhaSimulator

from .sim_client import JSON_TYPE, NOT_FOUND, NOW, UNAUTHORIZED, call, login, make_sim

pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture
async def http() -> AsyncGenerator[aiohttp.ClientSession]:
    """A client that keeps no cookies (tests send them explicitly)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session


@pytest.fixture(params=["v1", "v2"])
async def sim(request: pytest.FixtureRequest) -> AsyncGenerator[NezhaSimulator]:
    """A v1 and a v2 dashboard."""
    simulator = await make_sim(request.param)
    yield simulator
    await simulator.stop()


@pytest.fixture
async def v2() -> AsyncGenerator[NezhaSimulator]:
    """A v2.3.7 dashboard."""
    simulator = await make_sim("v2")
    yield simulator
    await simulator.stop()


@pytest.fixture
async def v1() -> AsyncGenerator[NezhaSimulator]:
    """A v1.14.14 dashboard."""
    simulator = await make_sim("v1")
    yield simulator
    await simulator.stop()


def claims(token: str) -> dict[str, Any]:
    """The JWT payload, unverified."""
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


# Login and JWTs


async def test_login_answers_a_real_hs256_jwt(
    http: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    reply = await call(
        http,
        sim,
        "/api/v1/login",
        method="POST",
        body={"username": "admin", "password": sim.admin.password},
    )
    assert (reply.status, reply.content_type) == (200, JSON_TYPE)
    body = reply.json()
    assert list(body) == ["success", "data"]
    assert body["success"] is True
    assert body["data"]["expire"] == "2025-06-16T00:06:40+08:00"
    token = body["data"]["token"]
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    assert (
        jwt.decode(token, sim._secret, algorithms=["HS256"], options={"verify_exp": False})["exp"]
        == int(NOW) + 3600
    )
    expected = ["exp", "keyId", "orig_iat", "uid"] if sim.generation == "v2" else None
    assert list(claims(token)) == (expected or ["exp", "ip", "orig_iat", "user_id"])
    assert f"nz-jwt={token}" in reply.headers["Set-Cookie"]
    assert "Max-Age=3600" in reply.headers["Set-Cookie"]
    assert ("nz-csrf=" in reply.headers["Set-Cookie"]) is (sim.generation == "v2")
    assert sim.login_count == 1


@pytest.mark.parametrize(
    "body",
    [{"username": "admin", "password": "wrong"}, {"username": "admin"}, "not json", None],
)
async def test_failed_login(http: aiohttp.ClientSession, sim: NezhaSimulator, body: Any) -> None:
    reply = await call(http, sim, "/api/v1/login", method="POST", body=body)
    assert (reply.status, reply.body) == (200, UNAUTHORIZED)
    assert reply.headers["WWW-Authenticate"] == "JWT realm=Nezha"
    assert sim.login_count == 1


async def test_jwt_lookup_header_query_cookie(
    http: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    token = await login(http, sim)
    assert (await call(http, sim, "/api/v1/server", bearer=token)).json() == {"success": True}
    assert (await call(http, sim, f"/api/v1/server?token={token}")).body == b'{"success":true}'
    by_cookie = await call(http, sim, "/api/v1/server", cookies={"nz-jwt": token})
    assert by_cookie.body == b'{"success":true}'
    raw = await call(http, sim, "/api/v1/server", headers={"Authorization": token})
    assert raw.body == UNAUTHORIZED
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert (await call(http, sim, "/api/v1/server", bearer=forged)).body == UNAUTHORIZED


async def test_expired_jwt(http: aiohttp.ClientSession, sim: NezhaSimulator) -> None:
    sim.jwt_lifetime = 60
    token = await login(http, sim)
    sim.advance(59)
    assert (await call(http, sim, "/api/v1/profile", bearer=token)).json()["success"] is True
    sim.advance(2)
    assert (await call(http, sim, "/api/v1/profile", bearer=token)).body == UNAUTHORIZED
    # A public route treats an expired token as a guest: no version.
    setting = await call(http, sim, "/api/v1/setting", bearer=token)
    assert "version" not in setting.json()["data"]


async def test_v1_refresh_is_get(http: aiohttp.ClientSession, v1: NezhaSimulator) -> None:
    token = await login(http, v1)
    v1.advance(1800)
    reply = await call(http, v1, "/api/v1/refresh-token", bearer=token)
    fresh = reply.json()["data"]["token"]
    assert claims(fresh)["orig_iat"] == int(NOW) + 1800
    assert reply.json()["data"]["expire"] == "2025-06-16T00:36:40+08:00"
    posted = await call(http, v1, "/api/v1/refresh-token", method="POST", bearer=token)
    assert (posted.status, posted.body) == (404, NOT_FOUND)


async def test_v2_refresh_is_post_with_csrf(
    http: aiohttp.ClientSession, v2: NezhaSimulator
) -> None:
    reply = await call(
        http,
        v2,
        "/api/v1/login",
        method="POST",
        body={"username": "admin", "password": v2.admin.password},
    )
    token = reply.json()["data"]["token"]
    csrf = reply.headers["Set-Cookie"].split("nz-csrf=")[1].split(";")[0]
    got = await call(http, v2, "/api/v1/refresh-token", bearer=token)
    assert (got.status, got.body) == (404, NOT_FOUND)
    bare = await call(http, v2, "/api/v1/refresh-token", method="POST", bearer=token)
    assert (bare.status, bare.body) == (
        403,
        b'{"error":"ApiErrorForbidden: missing or invalid CSRF token"}',
    )
    wrong = await call(
        http,
        v2,
        "/api/v1/refresh-token",
        method="POST",
        bearer=token,
        cookies={"nz-csrf": csrf},
        headers={"X-CSRF-Token": csrf + "x"},
    )
    assert wrong.status == 403
    good = await call(
        http,
        v2,
        "/api/v1/refresh-token",
        method="POST",
        bearer=token,
        cookies={"nz-csrf": csrf},
        headers={"X-CSRF-Token": csrf},
    )
    fresh = good.json()["data"]["token"]
    assert claims(fresh)["keyId"] == claims(token)["keyId"]
    assert (await call(http, v2, "/api/v1/profile", bearer=fresh)).json()["success"] is True


async def test_revoked_session_v2(http: aiohttp.ClientSession, v2: NezhaSimulator) -> None:
    token = await login(http, v2)
    v2.revoke_sessions("admin")
    stale = await call(http, v2, "/api/v1/setting", bearer=token)
    assert (stale.status, stale.content_type) == (403, "text/html; charset=utf-8")
    assert b"blocked by nezha WAF" in stale.body
    assert (await call(http, v2, "/api/v1/service", bearer=token)).status == 403
    assert (await call(http, v2, "/api/v1/server", bearer=token)).body == UNAUTHORIZED
    fresh = await login(http, v2)
    assert (await call(http, v2, "/api/v1/server", bearer=fresh)).json() == {"success": True}


async def test_revoked_session_v1(http: aiohttp.ClientSession, v1: NezhaSimulator) -> None:
    token = await login(http, v1)
    v1.revoke_sessions()
    assert (await call(http, v1, "/api/v1/server", bearer=token)).body == UNAUTHORIZED
    guest = await call(http, v1, "/api/v1/setting", bearer=token)
    assert guest.status == 200
    assert "version" not in guest.json()["data"]


# Encoding of /server


async def test_server_item_encoding(http: aiohttp.ClientSession, sim: NezhaSimulator) -> None:
    sim.add_server(
        "web",
        display_index=0,
        ipv4="203.0.113.9",
        ipv6="2001:db8::9",
        swap_used=0,
        temperatures=[("coretemp", 47.0)],
        gpu_names=["RTX"],
        gpu=12.5,
    )
    sim.add_server("", reported=False, hide_for_guest=True, server_id=7)
    token = await login(http, sim)
    items = (await call(http, sim, "/api/v1/server", bearer=token)).json()["data"]
    first, fresh = items
    assert fresh["id"] == 7  # display index ties: by id
    keys = ["id", "created_at", "updated_at", "name", "uuid", "display_index", "host", "state"]
    keys += ["geoip", "last_active"] + (["owner"] if sim.generation == "v2" else [])
    assert list(first) == keys
    assert first["name"] == "web"
    assert first["display_index"] == 0
    assert first["last_active"] == "2025-06-15T23:06:40.25+08:00"
    assert first["geoip"] == {
        "ip": {"ipv4_addr": "203.0.113.9", "ipv6_addr": "2001:db8::9"},
        "country_code": "hk",
    }
    assert "swap_used" not in first["state"]
    assert first["state"]["gpu"] == [12.5]
    assert first["state"]["temperatures"] == [{"Name": "coretemp", "Temperature": 47}]
    assert first["host"]["gpu"] == ["RTX"]
    assert "ipv4" not in first
    assert "ip" not in first["host"]
    assert (fresh["name"], fresh["hide_for_guest"]) == ("", True)
    assert fresh["host"] == {}
    assert fresh["state"] == {}
    assert fresh["geoip"] == {"ip": {}}
    assert fresh["last_active"] == "0001-01-01T00:00:00Z"
    if sim.generation == "v2":
        assert first["owner"] == {"id": 1, "username": "admin"}
    sim.utc_offset = 0
    sim.now = NOW + 0.75
    again = (await call(http, sim, "/api/v1/server?id=1", bearer=token)).json()["data"]
    assert [item["last_active"] for item in again] == ["2025-06-15T15:06:41Z"]


async def test_server_list_who_sees_what(http: aiohttp.ClientSession, sim: NezhaSimulator) -> None:
    member = sim.add_user("bob", "pw-bob")
    sim.add_server("a", display_index=1)
    sim.add_server("b", display_index=5, owner_id=member.id)
    sim.add_server("c", display_index=5, hide_for_guest=True)
    admin = await login(http, sim)
    names = [
        s["name"] for s in (await call(http, sim, "/api/v1/server", bearer=admin)).json()["data"]
    ]
    assert names == ["b", "c", "a"]
    bob = await login(http, sim, "bob", "pw-bob")
    mine = (await call(http, sim, "/api/v1/server", bearer=bob)).json()["data"]
    assert [s["name"] for s in mine] == ["b"]
    picked = (await call(http, sim, "/api/v1/server?id=3,1", bearer=admin)).json()["data"]
    assert [s["id"] for s in picked] == [3, 1]
    nothing = (await call(http, sim, "/api/v1/server?id=99", bearer=admin)).json()["data"]
    assert len(nothing) == 3
    assert (await call(http, sim, "/api/v1/server")).body == UNAUTHORIZED


# Settings, profile, groups, alert rules


async def test_setting_per_caller(http: aiohttp.ClientSession, sim: NezhaSimulator) -> None:
    sim.add_user("bob", "pw-bob")
    tail = ',"tsdb_enabled":false}}' if sim.generation == "v2" else "}}"
    guest = await call(http, sim, "/api/v1/setting")
    assert guest.body.decode() == (
        '{"success":true,"data":{"config":{"language":"en-US","site_name":"Nezha",'
        '"ip_change_notification_group_id":0,"cover":0}' + tail
    )
    bob = await call(http, sim, "/api/v1/setting", bearer=await login(http, sim, "bob", "pw-bob"))
    assert bob.body == guest.body
    admin = (await call(http, sim, "/api/v1/setting", bearer=await login(http, sim))).json()
    assert admin["data"]["version"] == ("2.3.7" if sim.generation == "v2" else "1.14.14")
    assert admin["data"]["frontend_templates"]
    # The admin's config is the dashboard's own: its templates and cover (setting_jwt.json).
    assert admin["data"]["config"] == {
        "language": "en-US",
        "site_name": "Nezha",
        "user_template": "user-dist",
        "admin_template": "admin-dist",
        "ip_change_notification_group_id": 0,
        "cover": 1,
    }


async def test_profile(http: aiohttp.ClientSession, sim: NezhaSimulator) -> None:
    sim.add_user("bob", "pw-bob")
    admin = (await call(http, sim, "/api/v1/profile", bearer=await login(http, sim))).json()
    bob = await call(http, sim, "/api/v1/profile", bearer=await login(http, sim, "bob", "pw-bob"))
    if sim.generation == "v2":
        assert admin["data"]["role"] == 0
        assert "password" not in admin["data"]
    else:
        assert "role" not in admin["data"]
        assert admin["data"]["password"].startswith("$2a$10$")
    assert bob.json()["data"]["role"] == 1
    assert bob.json()["data"]["username"] == "bob"
    assert (await call(http, sim, "/api/v1/profile")).body == UNAUTHORIZED


async def test_server_groups(http: aiohttp.ClientSession, sim: NezhaSimulator) -> None:
    sim.add_server("a", tag="prod")
    sim.add_server("h", tag="prod", hide_for_guest=True)
    sim.add_server("x", tag="secret", hide_for_guest=True)
    sim.add_group("empty")
    admin = (await call(http, sim, "/api/v1/server-group", bearer=await login(http, sim))).json()
    assert [(g["group"]["name"], g["servers"]) for g in admin["data"]] == [
        ("prod", [1, 2]),
        ("secret", [3]),
        ("empty", None),
    ]
    assert list(admin["data"][0]["group"]) == ["id", "created_at", "updated_at", "name"]
    guest = (await call(http, sim, "/api/v1/server-group")).json()["data"]
    if sim.generation == "v2":  # v2.0.5+: only groups with visible servers, hidden ones removed
        assert [(g["group"]["name"], g["servers"]) for g in guest] == [("prod", [1])]
    else:
        assert guest == admin["data"]


async def test_alert_rules_member_sees_own(
    http: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    bob = sim.add_user("bob", "pw-bob")
    sim.add_cycle_rule("admin's", max_bytes=10**12, cycle_start=NOW - 86400, cycle_unit="day")
    sim.add_cycle_rule(
        "bob's",
        max_bytes=5,
        cycle_start=NOW,
        owner_id=bob.id,
        kind="transfer_in_cycle",
        server_ids=[1],
    )
    admin = (await call(http, sim, "/api/v1/alert-rule", bearer=await login(http, sim))).json()
    assert [rule["name"] for rule in admin["data"]] == ["admin's", "bob's"]
    mine = await call(
        http, sim, "/api/v1/alert-rule", bearer=await login(http, sim, "bob", "pw-bob")
    )
    (rule,) = mine.json()["data"]
    assert rule["rules"] == [
        {
            "type": "transfer_in_cycle",
            "max": 5,
            "cycle_start": "2025-06-15T23:06:40.25+08:00",
            "cycle_interval": 1,
            "cycle_unit": "month",
            "cover": 1,
            "ignore": {"1": True},
        }
    ]


# Routing, flags, headers


async def test_v0_routes_and_unknown_paths(
    http: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    for path in ("/api/v1/server/details", "/api/v1/server/list", "/api/v1/monitor/1", "/api/x"):
        reply = await call(http, sim, path)
        assert (reply.status, reply.content_type, reply.body) == (404, JSON_TYPE, NOT_FOUND)
    wrong_method = await call(http, sim, "/api/v1/setting", method="POST")
    assert (wrong_method.status, wrong_method.body) == (404, NOT_FOUND)
    sim.v0_routes_answer_200 = True
    assert (await call(http, sim, "/api/v1/server/details")).status == 200
    page = await call(http, sim, "/dashboard")
    assert (page.status, page.content_type) == (200, "text/html; charset=utf-8")
    assert page.headers["Date"] == "Sun, 15 Jun 2025 15:06:40 GMT"


async def test_force_auth(http: aiohttp.ClientSession, sim: NezhaSimulator) -> None:
    assert (await call(http, sim, "/api/v1/service")).json()["success"] is True
    sim.force_auth = True
    for path in ("/api/v1/service", "/api/v1/server-group", "/api/v1/ws/server"):
        assert (await call(http, sim, path)).body == UNAUTHORIZED, path
    assert (await call(http, sim, "/api/v1/setting")).json()["success"] is True
    token = await login(http, sim)
    assert (await call(http, sim, "/api/v1/service", bearer=token)).json()["success"] is True


async def test_waf_and_real_ip(http: aiohttp.ClientSession, v2: NezhaSimulator) -> None:
    pat = v2.create_pat()
    v2.real_ip_header = "X-Real-IP"
    missing = await call(http, v2, "/api/v1/setting")
    assert (missing.status, missing.body) == (200, b'{"error":"real ip header not found"}')
    ip = {"X-Real-IP": "198.51.100.7"}
    other = {"X-Real-IP": "198.51.100.8"}
    bad = {"username": "admin", "password": "nope"}
    await call(http, v2, "/api/v1/login", method="POST", body=bad, headers=ip)
    blocked = await call(http, v2, "/api/v1/server", bearer=pat, headers=ip)
    assert (blocked.status, blocked.content_type) == (403, "text/html; charset=utf-8")
    assert (await call(http, v2, "/api/v1/server", bearer=pat, headers=other)).status == 200
    v2.advance(3.5)  # 1 failure: max(1**4, 3) s
    assert (await call(http, v2, "/api/v1/server", bearer=pat, headers=ip)).status == 200
    await call(http, v2, "/api/v1/server", bearer="nzp_" + "x" * 32, headers=ip)
    v2.advance(3.5)  # 2 failures: 16 s
    assert (await call(http, v2, "/api/v1/setting", headers=ip)).status == 403
    v2.advance(13)
    assert (await call(http, v2, "/api/v1/setting", headers=ip)).status == 200


async def test_jwt_bound_to_login_ip(http: aiohttp.ClientSession, sim: NezhaSimulator) -> None:
    sim.real_ip_header = "X-Real-IP"
    reply = await call(
        http,
        sim,
        "/api/v1/login",
        method="POST",
        headers={"X-Real-IP": "192.0.2.1"},
        body={"username": "admin", "password": sim.admin.password},
    )
    token = reply.json()["data"]["token"]
    same = await call(http, sim, "/api/v1/server", bearer=token, headers={"X-Real-IP": "192.0.2.1"})
    moved = await call(
        http, sim, "/api/v1/server", bearer=token, headers={"X-Real-IP": "192.0.2.2"}
    )
    assert same.json() == {"success": True}
    assert moved.body == UNAUTHORIZED
