"""The simulator's monitors, manual task runs and forced agent updates over real HTTP, as
v2.3.7 and v1.14.14 answer them (NEZHA_ACTIONS.md §3 and §6, real-answers ``writes.json``)."""

from __future__ import annotations

import aiohttp
import pytest

from nezha_simulator import NezhaSimulator, build_demo_fleet
from nezha_simulator.demo import DEMO_PAT_SCOPES

from .actions_client import admin, http, run_verb, sim, v1, v2
from .sim_client import NOT_FOUND, call

pytestmark = pytest.mark.usefixtures("socket_enabled")
__all__ = ["http", "sim", "v1", "v2"]  # fixtures


# Monitors


async def test_service_list_shows_the_full_monitors(
    http: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    monitors = await (await admin(http, sim)).data("/service/list")
    first = monitors[0]
    assert (first["id"], first["name"], first["type"], first["target"]) == (
        1,
        "TCP 127.0.0.1:8008",
        3,
        "127.0.0.1:8008",
    )
    assert [monitor["type"] for monitor in monitors] == [3, 3, 1]
    assert monitors[2]["target"] == "https://example.com"
    assert "notify" not in first
    assert (first["skip_servers"], first["fail_trigger_tasks"]) == ({}, [])
    assert ("display_index" in first) is (sim.generation == "v2")
    assert first.get("enable_show_in_service") is (True if sim.generation == "v1" else None)


async def test_service_patch_is_a_full_replace(
    http: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    session = await admin(http, sim)
    before = (await session.data("/service/list"))[0]
    form = {key: value for key, value in before.items() if key not in ("id", "created_at")}
    del form["updated_at"]
    form |= {"notify": True, "min_latency": 12.5, "skip_servers": {"3": True}}
    sim.advance(30)
    assert (await session("/service/1", method="PATCH", body=form)).json() == {"success": True}
    after = (await session.data("/service/list"))[0]
    assert (after["notify"], after["min_latency"], after["skip_servers"]) == (
        True,
        12.5,
        {"3": True},
    )
    assert after["updated_at"] != before["updated_at"]
    unchanged = ("id", "created_at", "name", "type", "target", "duration", "cover")
    assert {key: after[key] for key in unchanged} == {key: before[key] for key in unchanged}
    bare = {"name": "renamed", "type": 3}
    assert (await session("/service/1", method="PATCH", body=bare)).json() == {"success": True}
    zeroed = (await session.data("/service/list"))[0]
    assert (zeroed["target"], zeroed["duration"], zeroed["skip_servers"]) == ("", 0, {})
    assert "notify" not in zeroed
    services = (await session.data("/service"))["services"]
    if sim.generation == "v2":
        assert services["1"]["service_name"] == "renamed"
    else:  # enable_show_in_service was left out: zeroed, so 1.x no longer shows it
        assert "1" not in services


async def test_service_patch_refusals(http: aiohttp.ClientSession, v2: NezhaSimulator) -> None:
    session = await admin(http, v2)
    form = {"name": "x", "type": 3, "notify": True}
    reply = await session("/service/999999", method="PATCH", body=form)
    assert reply.json() == {"error": "service id 999999 does not exist"}
    reply = await session("/service/1", method="PATCH", body={"notify": False})
    assert reply.json() == {
        "error": "invalid service monitor type 0: allowed types are 1 (HTTP GET), "
        "2 (ICMP ping), and 3 (TCP ping)"
    }
    reply = await session("/service/1", method="PATCH", body=form | {"cover": 2})
    assert reply.json() == {"error": "permission denied"}
    reply = await call(http, v2, "/api/v1/service/1", method="PATCH", bearer=session.jwt, body=form)
    assert (reply.status, reply.json()["error"]) == (
        403,
        "ApiErrorForbidden: missing or invalid CSRF token",
    )


async def test_v2_hidden_monitor_round_trips(
    http: aiohttp.ClientSession, v2: NezhaSimulator
) -> None:
    session = await admin(http, v2)
    form = {"name": "TCP 127.0.0.1:1", "type": 3, "target": "127.0.0.1:1", "hide_for_guest": True}
    assert (await session("/service/2", method="PATCH", body=form)).json()["success"]
    assert (await session.data("/service/list"))[1]["hide_for_guest"] is True
    guest = await call(http, v2, "/api/v1/service")
    assert set(guest.json()["data"]["services"]) == {"1", "3"}


# Manual task runs


async def test_run_reaches_online_listed_servers_and_stamps_the_task(
    http: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    session = await admin(http, sim)
    sim.advance(90)
    reply = await session("/cron/1/manual", method=run_verb(sim))
    assert (reply.status, reply.json()) == (200, {"success": True})
    assert [(run.task_id, run.server_id) for run in sim.cron_runs] == [(1, 1)]
    (task,) = await session.data("/cron?id=1")
    assert task["last_executed_at"] == "2025-06-15T23:08:10.25+08:00"
    assert task["last_result"] is True
    reply = await session("/cron/2/manual", method=run_verb(sim))
    assert reply.json() == {"success": True}
    assert [(run.task_id, run.server_id) for run in sim.cron_runs][1:] == [(2, 1), (2, 2)]


async def test_cover_2_task_run_by_hand_is_a_no_op(
    http: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    session = await admin(http, sim)
    reply = await session("/cron/3/manual", method=run_verb(sim))
    assert reply.json() == {"success": True}
    assert sim.cron_runs == []
    (task,) = await session.data("/cron?id=3")
    assert task["last_executed_at"] == "0001-01-01T00:00:00Z"
    assert "last_result" not in task


async def test_failed_run_keeps_the_last_result(
    http: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    session = await admin(http, sim)
    await session("/cron/1/manual", method=run_verb(sim))
    sim.crons[1].succeeds = False
    sim.advance(60)
    await session("/cron/1/manual", method=run_verb(sim))
    (task,) = await session.data("/cron?id=1")
    assert (task["last_executed_at"], task["last_result"]) == (
        "2025-06-15T23:07:40.25+08:00",
        True,
    )


async def test_run_to_an_offline_server_reaches_no_agent(
    http: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    sim.add_cron("edge only", "true", [3])
    session = await admin(http, sim)
    assert (await session("/cron/4/manual", method=run_verb(sim))).json() == {"success": True}
    assert sim.cron_runs == []
    (task,) = await session.data("/cron?id=4")
    assert task["last_executed_at"] == "0001-01-01T00:00:00Z"


async def test_run_verb_and_unknown_task(http: aiohttp.ClientSession, sim: NezhaSimulator) -> None:
    session = await admin(http, sim)
    other = "GET" if sim.generation == "v2" else "POST"
    reply = await session("/cron/1/manual", method=other)
    assert (reply.status, reply.body) == (404, NOT_FOUND)
    assert sim.cron_runs == []
    reply = await session("/cron/999999/manual", method=run_verb(sim))
    assert (reply.status, reply.json()) == (200, {"error": "task id 999999 does not exist"})


async def test_whitelisted_pat_cannot_run_beyond_its_servers(
    http: aiohttp.ClientSession, v2: NezhaSimulator
) -> None:
    pat = v2.create_pat(["nezha:cron:read", "nezha:cron:exec"], server_ids=[1])
    tasks = await call(http, v2, "/api/v1/cron", bearer=pat)
    assert [task["id"] for task in tasks.json()["data"]] == [1, 3]
    for task_id, answer in ((1, {"success": True}), (2, {"error": "permission denied"})):
        reply = await call(http, v2, f"/api/v1/cron/{task_id}/manual", method="POST", bearer=pat)
        assert reply.json() == answer
    assert [run.task_id for run in v2.cron_runs] == [1]


# Forced agent updates


async def test_force_update_installs_the_release_at_the_next_report(
    http: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    session = await admin(http, sim)
    reply = await session("/force-update/server", method="POST", body=[1, 3, 999999])
    assert reply.json() == {"success": True, "data": {"success": [1], "offline": [3, 999999]}}
    versions = {
        server["id"]: server["host"].get("version") for server in await session.data("/server")
    }
    assert versions == {1: "2.3.3", 2: "2.3.1", 3: "2.3.1"}
    assert [server_id for server_id, _ in sim.force_updates] == [1]


async def test_agent_refusing_force_update_still_reports_success(
    http: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    sim.refuse_force_update.add(2)
    session = await admin(http, sim)
    reply = await session("/force-update/server", method="POST", body=[2])
    assert reply.json() == {"success": True, "data": {"success": [2]}}
    assert sim.server(2).host.agent_version == "2.3.1"


async def test_v2_force_update_puts_foreign_ids_in_offline(
    http: aiohttp.ClientSession, v2: NezhaSimulator
) -> None:
    pat = v2.create_pat(["nezha:server:write"], server_ids=[1])
    reply = await call(
        http, v2, "/api/v1/force-update/server", method="POST", bearer=pat, body=[1, 2]
    )
    assert reply.json() == {"success": True, "data": {"success": [1], "offline": [2]}}
    assert v2.server(2).host.agent_version == "2.3.1"


async def test_v1_force_update_refuses_the_batch_with_a_foreign_server(
    http: aiohttp.ClientSession, v1: NezhaSimulator
) -> None:
    member = v1.add_user("lab", "member-password")
    v1.server(2).owner_id = member.id
    session = await admin(http, v1, "lab")
    reply = await session("/force-update/server", method="POST", body=[2, 1])
    assert reply.json() == {"error": "permission denied"}
    assert v1.server(1).host.agent_version == "2.3.1"
    reply = await session("/force-update/server", method="POST", body=[2, 3])
    assert reply.json() == {"success": True, "data": {"success": [2], "offline": [3]}}


async def test_force_update_body_must_be_a_list_of_ids(
    http: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    session = await admin(http, sim)
    reply = await session("/force-update/server", method="POST", body={"id": 1})
    assert reply.json() == {"error": "json: cannot unmarshal object into Go value of type []uint64"}
    reply = await session("/force-update/server", method="POST", body=[])
    assert reply.json() == {"success": True, "data": {}}
    for raw, message in (
        (b"", "EOF"),
        (b"nope", "invalid character 'n' looking for beginning of value"),
    ):
        headers = {"Authorization": f"Bearer {session.jwt}"}
        if session.csrf:
            headers |= {"Cookie": f"nz-csrf={session.csrf}", "X-CSRF-Token": session.csrf}
        path = sim.url + "/api/v1/force-update/server"
        async with http.post(path, data=raw, headers=headers) as response:
            assert await response.json() == {"error": message}


# The demo fleet


async def test_demo_pat_can_do_every_action_on_the_demo_fleet(
    http: aiohttp.ClientSession,
) -> None:
    demo = NezhaSimulator(seed=0, now=1_750_000_000.0, generation="v2")
    build_demo_fleet(demo)
    pat = demo.create_pat(DEMO_PAT_SCOPES)
    async with demo:
        tasks = (await call(http, demo, "/api/v1/cron", bearer=pat)).json()["data"]
        assert [(task["name"], task["cover"]) for task in tasks] == [
            ("Restart nginx", 0),
            ("Clean package cache", 1),
        ]
        reply = await call(http, demo, "/api/v1/cron/1/manual", method="POST", bearer=pat)
        assert reply.json() == {"success": True}
        names = {demo.server(run.server_id).name for run in demo.cron_runs}
        assert names == {"web-1", "web-2"}
        (rule,) = (await call(http, demo, "/api/v1/alert-rule", bearer=pat)).json()["data"]
        form = {"name": rule["name"], "rules": rule["rules"], "enable": False}
        reply = await call(
            http, demo, "/api/v1/alert-rule/1", method="PATCH", bearer=pat, body=form
        )
        assert reply.json() == {"success": True, "data": 1}
        monitor = (await call(http, demo, "/api/v1/service/list", bearer=pat)).json()["data"][0]
        reply = await call(
            http,
            demo,
            "/api/v1/service/1",
            method="PATCH",
            bearer=pat,
            body=monitor | {"notify": True},
        )
        assert reply.json() == {"success": True}
        reply = await call(
            http, demo, "/api/v1/force-update/server", method="POST", bearer=pat, body=[1]
        )
        assert reply.json() == {"success": True, "data": {"success": [1]}}
