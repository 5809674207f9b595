"""The simulator's write side over real HTTP: cron tasks, notification groups, full monitors and
alert rules, manual runs and forced agent updates, as v2.3.7 and v1.14.14 answer them
(NEZHA_ACTIONS.md, real-answers ``writes.json``)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from nezha_simulator import NezhaSimulator

from .actions_client import CSRF_MISSING, READ_SCOPES, admin, disabling_form, http, sim, v1, v2
from .sim_client import JSON_TYPE, call

pytestmark = pytest.mark.usefixtures("socket_enabled")
__all__ = ["http", "sim", "v1", "v2"]  # fixtures

# Reads


async def test_cron_lists_the_tasks_as_recorded(
    http: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    session = await admin(http, sim)
    tasks = await session.data("/cron")
    assert [task["id"] for task in tasks] == [1, 2, 3]
    assert tasks[0] == {
        "id": 1,
        "created_at": "2025-06-15T23:06:40.25+08:00",
        "updated_at": "2025-06-15T23:06:40.25+08:00",
        "name": "hello",
        "task_type": 1,
        "scheduler": "",
        "command": "echo hello",
        "servers": [1],
        "notification_group_id": 0,
        "last_executed_at": "0001-01-01T00:00:00Z",
        "cover": 0,
    }
    assert [task["cover"] for task in tasks] == [0, 1, 2]
    assert [task["id"] for task in await session.data("/cron?id=2,3")] == [2, 3]


async def test_scheduled_task_carries_its_cron_job_id(
    http: aiohttp.ClientSession, v2: NezhaSimulator
) -> None:
    v2.add_cron("nightly", "backup", [2], task_type=0, scheduler="0 0 3 * * *")
    tasks = await (await admin(http, v2)).data("/cron?id=4")
    assert tasks[0]["cron_job_id"] == 1
    assert tasks[0]["scheduler"] == "0 0 3 * * *"


async def test_notification_groups_empty_then_listed(
    http: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    session = await admin(http, sim)
    reply = await session("/notification-group")
    assert reply.json() == {"success": True}
    sim.add_notification_group("ops", [3, 5])
    sim.add_notification_group("quiet")
    groups = await session.data("/notification-group")
    assert [(g["group"]["id"], g["group"]["name"], g["notifications"]) for g in groups] == [
        (1, "ops", [3, 5]),
        (2, "quiet", None),
    ]
    assert list(groups[0]["group"]) == ["id", "created_at", "updated_at", "name"]


async def test_v2_member_sees_only_own_groups_and_tasks(
    http: aiohttp.ClientSession, v2: NezhaSimulator
) -> None:
    member = v2.add_user("lab", "member-password")
    v2.add_notification_group("admin's")
    v2.add_notification_group("lab's", owner_id=member.id)
    v2.add_cron("lab task", "true", [], owner_id=member.id)
    session = await admin(http, v2, "lab")
    groups = await session.data("/notification-group")
    assert [group["group"]["name"] for group in groups] == ["lab's"]
    assert [task["name"] for task in await session.data("/cron")] == ["lab task"]


@pytest.mark.parametrize(
    ("path", "scope"),
    [
        ("/cron", "nezha:cron:read"),
        ("/notification-group", "nezha:notification-group:read"),
        ("/service/list", "nezha:service:read"),
        ("/alert-rule", "nezha:alertrule:read"),
    ],
)
async def test_pat_reads_need_their_scope(
    http: aiohttp.ClientSession, v2: NezhaSimulator, path: str, scope: str
) -> None:
    refused = await call(http, v2, "/api/v1" + path, bearer=v2.create_pat(["nezha:server:read"]))
    assert (refused.status, refused.content_type) == (403, JSON_TYPE)
    assert refused.json() == {"error": f"ApiErrorForbidden: api token lacks scope {scope}"}
    assert "nz-csrf=" in refused.headers["Set-Cookie"]  # seeded before the scope check
    allowed = await call(http, v2, "/api/v1" + path, bearer=v2.create_pat([scope]))
    assert (allowed.status, allowed.json()["success"]) == (200, True)


# Alert rules


async def test_alert_rule_full_replace_changes_only_enable(
    http: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    session = await admin(http, sim)
    (before,) = await session.data("/alert-rule")
    form = {key: before[key] for key in ("name", "rules", "fail_trigger_tasks")}
    form |= {key: before[key] for key in ("recover_trigger_tasks", "notification_group_id")}
    form |= {"trigger_mode": before["trigger_mode"], "enable": False}
    reply = await session("/alert-rule/1", method="PATCH", body=form)
    assert reply.json() == {"success": True, "data": 1}
    (after,) = await session.data("/alert-rule")
    assert after["enable"] is False
    assert {k: v for k, v in after.items() if k not in ("enable", "updated_at")} == {
        k: v for k, v in before.items() if k not in ("enable", "updated_at")
    }
    assert "1" not in (await session.data("/service")).get("cycle_transfer_stats", {})
    form["enable"] = True
    assert (await session("/alert-rule/1", method="PATCH", body=form)).json()["success"]
    (restored,) = await session.data("/alert-rule")
    assert restored["enable"] is True
    assert "1" in (await session.data("/service"))["cycle_transfer_stats"]


async def test_alert_rule_fields_left_out_are_zeroed(
    http: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    session = await admin(http, sim)
    sim.add_notification_group("ops")
    (rule,) = await session.data("/alert-rule")
    form = {"name": "quota", "rules": rule["rules"], "notification_group_id": 1}
    form |= {"trigger_mode": 1, "fail_trigger_tasks": [3], "enable": True}
    sim.advance(60)
    assert (await session("/alert-rule/1", method="PATCH", body=form)).json()["success"]
    (stored,) = await session.data("/alert-rule")
    assert (stored["notification_group_id"], stored["trigger_mode"]) == (1, 1)
    assert stored["fail_trigger_tasks"] == [3]
    assert stored["updated_at"] == "2025-06-15T23:07:40.25+08:00"
    assert stored["created_at"] == "2025-06-15T23:06:40.25+08:00"
    reply = await session("/alert-rule/1", method="PATCH", body={"rules": rule["rules"]})
    assert reply.json() == {"success": True, "data": 1}
    (zeroed,) = await session.data("/alert-rule")
    assert (zeroed["name"], zeroed["enable"], zeroed["trigger_mode"]) == ("", False, 0)
    assert (zeroed["notification_group_id"], zeroed["fail_trigger_tasks"]) == (0, [])


async def test_alert_rule_partial_body_and_unknown_id_are_refused(
    http: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    session = await admin(http, sim)
    (before,) = await session.data("/alert-rule")
    reply = await session("/alert-rule/1", method="PATCH", body={"enable": False})
    assert (reply.status, reply.json()) == (
        200,
        {"error": "need to configure at least a single rule"},
    )
    assert await session.data("/alert-rule") == [before]
    reply = await session("/alert-rule/999999", method="PATCH", body={"enable": False})
    assert reply.json() == {"error": "alert id 999999 does not exist"}
    reply = await session("/alert-rule/abc", method="PATCH", body={})
    assert reply.json() == {"error": 'strconv.ParseUint: parsing "abc": invalid syntax'}
    reply = await session("/alert-rule/1", method="PATCH", body={"name": 5})
    assert reply.json() == {
        "error": "json: cannot unmarshal number into Go struct field AlertRuleForm.name "
        "of type string"
    }


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"type": "cpu", "max": 90, "duration": 2, "cover": 0}, "duration need to be at least 3"),
        ({"type": "transfer_all_cycle", "cycle_start": "2025-06-01T00:00:00Z", "cover": 0},
         "cycle_interval need to be at least 1"),
        ({"type": "transfer_in_cycle", "cycle_interval": 1, "cover": 0}, "cycle_start is not set"),
        ({"type": "transfer_out_cycle", "cycle_interval": 1, "cover": 0,
          "cycle_start": "2030-01-01T00:00:00Z"}, "cycle_start is a future value"),
    ],
)  # fmt: skip
async def test_alert_rule_validation(
    http: aiohttp.ClientSession, sim: NezhaSimulator, rule: dict[str, Any], message: str
) -> None:
    session = await admin(http, sim)
    reply = await session("/alert-rule/1", method="PATCH", body={"name": "x", "rules": [rule]})
    assert reply.json() == {"error": message}


async def test_alert_rule_keeps_a_metric_rule_as_written(
    http: aiohttp.ClientSession, v2: NezhaSimulator
) -> None:
    session = await admin(http, v2)
    rule = {"type": "cpu", "max": 90, "duration": 60, "cover": 1, "ignore": {"2": True}}
    form = {"name": "busy", "rules": [rule], "enable": True}
    assert (await session("/alert-rule/1", method="PATCH", body=form)).json()["success"]
    (stored,) = await session.data("/alert-rule")
    assert stored["rules"] == [rule]
    assert "cycle_transfer_stats" not in await session.data("/service")


async def test_v2_login_writes_need_the_csrf_pair(
    http: aiohttp.ClientSession, v2: NezhaSimulator
) -> None:
    session = await admin(http, v2)
    form = await disabling_form(session)
    path = v2.url + "/api/v1/alert-rule/1"
    bearer = {"Authorization": f"Bearer {session.jwt}"}
    for headers in (
        bearer,
        bearer | {"Cookie": f"nz-csrf={session.csrf}"},
        bearer | {"X-CSRF-Token": session.csrf},
        bearer | {"Cookie": "nz-csrf=forged", "X-CSRF-Token": "forged"},
    ):
        async with http.patch(path, json=form, headers=headers) as response:
            assert (response.status, await response.json()) == (403, CSRF_MISSING)
    (unchanged,) = await session.data("/alert-rule")
    assert unchanged["enable"] is True


async def test_v1_login_writes_need_no_csrf(
    http: aiohttp.ClientSession, v1: NezhaSimulator
) -> None:
    session = await admin(http, v1)
    form = await disabling_form(session)
    reply = await call(
        http, v1, "/api/v1/alert-rule/1", method="PATCH", bearer=session.jwt, body=form
    )
    assert reply.json() == {"success": True, "data": 1}


@pytest.mark.parametrize(
    ("method", "path", "body", "scope"),
    [
        ("PATCH", "/alert-rule/1", {}, "nezha:alertrule:write"),
        ("PATCH", "/service/1", {}, "nezha:service:write"),
        ("POST", "/cron/1/manual", None, "nezha:cron:exec"),
        ("POST", "/force-update/server", [1], "nezha:server:write"),
    ],
)
async def test_pat_writes_need_their_scope_and_no_csrf(
    http: aiohttp.ClientSession,
    v2: NezhaSimulator,
    method: str,
    path: str,
    body: Any,
    scope: str,
) -> None:
    reply = await call(
        http, v2, "/api/v1" + path, method=method, bearer=v2.create_pat(READ_SCOPES), body=body
    )
    assert (reply.status, reply.content_type) == (403, JSON_TYPE)
    assert reply.json() == {"error": f"ApiErrorForbidden: api token lacks scope {scope}"}
    reply = await call(
        http, v2, "/api/v1" + path, method=method, bearer=v2.create_pat([scope]), body=body
    )
    assert reply.status == 200
    assert "ApiErrorForbidden" not in reply.json().get("error", "")
    assert reply.headers["Set-Cookie"] == ""  # the cookie is seeded on safe methods only


async def test_trigger_tasks_need_cron_exec_on_a_pat(
    http: aiohttp.ClientSession, v2: NezhaSimulator
) -> None:
    session = await admin(http, v2)
    (rule,) = await session.data("/alert-rule")
    form = {"name": "quota", "rules": rule["rules"], "enable": True, "fail_trigger_tasks": [1]}
    for scopes, answer in (
        (["nezha:alertrule:write"], {"error": "permission denied"}),
        (["nezha:alertrule:write", "nezha:cron:exec"], {"success": True, "data": 1}),
    ):
        pat = v2.create_pat(scopes)
        reply = await call(http, v2, "/api/v1/alert-rule/1", method="PATCH", bearer=pat, body=form)
        assert reply.json() == answer
    form["notification_group_id"] = 7
    reply = await session("/alert-rule/1", method="PATCH", body=form)
    assert reply.json() == {"error": "notification group id 7 does not exist"}
