"""The 1.x/2.x routes that change or trigger something, and the reads they build on.

``GET /cron``, ``/notification-group``, ``/service/list`` and ``/alert-rule`` (full objects);
``PATCH /alert-rule/:id`` and ``/service/:id`` (full replace: a field left out is zeroed); a manual
cron run (v2.0.14+ ``POST``, 1.x ``GET /cron/:id/manual``); ``POST /force-update/server``. Order
of checks and messages as in v2.3.7/v1.14.14 ``cmd/dashboard/controller`` (NEZHA_ACTIONS.md,
real-answers ``writes.json``); the route table, CSRF and PAT scopes are ``routes_v1.Router``'s.
"""

from datetime import datetime
from typing import Any

from aiohttp import web

from . import render_v1 as render
from .access_v1 import Ctx, Viewer, error, ok
from .actions import (
    COVER_ALL_BUT_LISTED,
    MONITOR_TYPES,
    ActionsWorld,
    AlertExtras,
    MonitorConfig,
    SimCron,
)
from .cycles import CycleRule
from .gin_forms import (
    ALERT_FORM,
    CYCLE_KINDS,
    RULE_FORM,
    SERVICE_FORM,
    arg_id,
    bind,
    check_form,
    fits,
    go_kind,
    id_and_form,
    id_list,
    rule_error,
)
from .gojson import Float32, GoJSON
from .model import MonitorKind

PERMISSION_DENIED = "permission denied"


class ActionRoutes:
    """The handlers, mixed into ``routes_v1.Router``; ``actions`` is its world."""

    actions: ActionsWorld

    def _time(self, at: float | None) -> str:
        """A stored time in the dashboard's zone (``None``: Go's zero time)."""
        return render.format_time(at, self.actions.utc_offset)

    def _created(self) -> str:
        return self._time(self.actions.created)

    @staticmethod
    def _owns_record(viewer: Viewer, owner_id: int) -> bool:
        """``Common.HasPermission``: an admin, or the record's owner."""
        return viewer.user is not None and (viewer.is_admin or viewer.user.id == owner_id)

    def _may_run(self, ctx: Ctx, task: SimCron) -> bool:
        """``Cron.HasPermission`` plus v2's PAT fan-out guard: the run stays in the whitelist."""
        if not self._owns_record(ctx.viewer, task.owner_id):
            return False
        pat = ctx.viewer.pat
        if not ctx.v2 or pat is None or not pat.server_ids:
            return True
        if task.cover == COVER_ALL_BUT_LISTED:
            return all(pat.allows_server(s.id) for s in self.actions.cron_targets(task))
        return all(pat.allows_server(server_id) for server_id in task.servers)

    def _trigger_tasks_denied(self, ctx: Ctx, fail: list[int], recover: list[int]) -> bool:
        """v2 ``enforcePATTriggerTaskScope`` and ``CronShared.CheckPermission`` of the tasks."""
        if not ctx.v2:
            return False
        for task_id in (*fail, *recover):
            task = self.actions.crons.get(task_id)
            if task is not None and not self._may_run(ctx, task):
                return True
        pat = ctx.viewer.pat
        return bool(fail or recover) and pat is not None and not pat.has_scope("nezha:cron:exec")

    def _links_error(self, ctx: Ctx, form: dict[str, Any]) -> web.Response | None:
        """The refusal of a form's trigger tasks or notification group, if any."""
        fail, recover = (
            id_list(form.get("fail_trigger_tasks")),
            id_list(form.get("recover_trigger_tasks")),
        )
        if self._trigger_tasks_denied(ctx, fail, recover):
            return error(PERMISSION_DENIED)
        return self._group_error(ctx, int(form.get("notification_group_id") or 0))

    def _group_error(self, ctx: Ctx, group_id: int) -> web.Response | None:
        """v2 ``assertOwnsNotificationGroup``."""
        if not ctx.v2 or group_id == 0:
            return None
        group = self.actions.notification_groups.get(group_id)
        if group is None:
            return error(f"notification group id {group_id} does not exist")
        if not self._owns_record(ctx.viewer, group.owner_id):
            return error(PERMISSION_DENIED)
        return None

    # Cron tasks and notification groups

    def _cron_json(self, task: SimCron) -> dict[str, GoJSON]:
        """One ``model.Cron``."""
        created = self._created()
        item: dict[str, GoJSON] = {"id": task.id, "created_at": created, "updated_at": created}
        item |= {"name": task.name, "task_type": task.task_type, "scheduler": task.scheduler}
        item |= {"command": task.command} if task.command else {}
        item["servers"] = list[GoJSON](task.servers)
        item |= {"push_successful": True} if task.push_successful else {}
        item["notification_group_id"] = task.notification_group_id
        item["last_executed_at"] = self._time(task.last_executed_at)
        item |= {"last_result": True} if task.last_result else {}
        item["cover"] = task.cover
        item |= {"cron_job_id": task.cron_job_id} if task.cron_job_id else {}
        return item

    async def _crons(self, ctx: Ctx) -> web.StreamResponse:
        """``GET /cron[?id=1,2]``: the tasks the caller may run."""
        wanted = {part for part in ctx.request.query.get("id", "").split(",") if part}
        tasks: list[GoJSON] = [
            self._cron_json(task)
            for task in sorted(self.actions.crons.values(), key=lambda item: item.id)
            if self._may_run(ctx, task) and (not wanted or str(task.id) in wanted)
        ]
        return ok(tasks)

    async def _cron_run(self, ctx: Ctx) -> web.StreamResponse:
        """``/cron/:id/manual``: dispatch to the online agents now (cover 2: nothing)."""
        task_id = arg_id(ctx)
        if isinstance(task_id, web.Response):
            return task_id
        task = self.actions.crons.get(task_id)
        if task is None:
            return error(f"task id {task_id} does not exist")
        if not self._may_run(ctx, task):
            return error(PERMISSION_DENIED)
        self.actions.run_cron(task_id)
        return ok(None)

    async def _notification_groups(self, ctx: Ctx) -> web.StreamResponse:
        """``GET /notification-group``: 1.x every group; v2 an admin all, a member their own."""
        created = self._created()
        groups: list[GoJSON] = [
            {
                "group": {
                    "id": group.id,
                    "created_at": created,
                    "updated_at": created,
                    "name": group.name,
                },
                "notifications": list[GoJSON](group.notifications) or None,
            }
            for group in sorted(self.actions.notification_groups.values(), key=lambda g: g.id)
            if not ctx.v2 or self._owns_record(ctx.viewer, group.owner_id)
        ]
        return ok(groups)

    # Monitors

    def _service_json(self, monitor_id: int, v2: bool) -> dict[str, GoJSON]:
        """One ``model.Service`` (``GET /service/list``)."""
        monitor = self.actions.monitors[monitor_id]
        config = self.actions.monitor_config(monitor_id)
        item: dict[str, GoJSON] = {"id": monitor_id, "created_at": self._created()}
        item["updated_at"] = self._time(config.updated_at or self.actions.created)
        item |= {"name": monitor.name, "type": MONITOR_TYPES[monitor.kind]}
        item |= {"target": config.target, "duration": config.duration}
        if v2:
            item["display_index"] = config.display_index
        item |= {"notify": True} if config.notify else {}
        item |= {"notification_group_id": config.notification_group_id, "cover": config.cover}
        item |= {"enable_trigger_task": True} if config.enable_trigger_task else {}
        if not v2 and not monitor.hide_for_guest:
            item["enable_show_in_service"] = True
        if v2 and monitor.hide_for_guest:
            item["hide_for_guest"] = True
        item["fail_trigger_tasks"] = list[GoJSON](config.fail_trigger_tasks)
        item["recover_trigger_tasks"] = list[GoJSON](config.recover_trigger_tasks)
        item["min_latency"] = Float32(config.min_latency)
        item["max_latency"] = Float32(config.max_latency)
        item |= {"latency_notify": True} if config.latency_notify else {}
        item["skip_servers"] = render.id_map(dict(config.skip_servers))
        return item

    async def _service_list(self, ctx: Ctx) -> web.StreamResponse:
        """``GET /service/list``: the full monitors the caller owns."""
        items: list[GoJSON] = [
            self._service_json(monitor_id, ctx.v2)
            for monitor_id in sorted(self.actions.monitors)
            if self._owns_record(ctx.viewer, self.actions.monitor_config(monitor_id).owner_id)
        ]
        return ok(items)

    async def _service_patch(self, ctx: Ctx) -> web.StreamResponse:  # noqa: PLR0911
        """``PATCH /service/:id``: every field of the form replaces the stored one."""
        request = await id_and_form(ctx)
        if isinstance(request, web.Response):
            return request
        monitor_id, form = request
        if (problem := check_form(form, SERVICE_FORM, "ServiceForm")) is not None:
            return error(problem)
        kind = int(form.get("type") or 0)
        cover = int(form.get("cover") or 0)
        if ctx.v2 and kind not in MONITOR_TYPES.values():
            return error(
                f"invalid service monitor type {kind}: allowed types are 1 (HTTP GET), "
                "2 (ICMP ping), and 3 (TCP ping)"
            )
        if ctx.v2 and cover not in (0, 1):
            return error(PERMISSION_DENIED)
        if monitor_id not in self.actions.monitors:
            return error(f"service id {monitor_id} does not exist")
        config = self.actions.monitor_config(monitor_id)
        if not self._owns_record(ctx.viewer, config.owner_id):
            return error(PERMISSION_DENIED)
        if (refusal := self._links_error(ctx, form)) is not None:
            return refusal
        self._replace_service(monitor_id, form, ctx.v2)
        return ok(None)

    def _replace_service(self, monitor_id: int, form: dict[str, Any], v2: bool) -> None:
        """Copy the form over the monitor, zeroing what it left out."""
        monitor = self.actions.monitors[monitor_id]
        old = self.actions.monitor_config(monitor_id)
        kinds: dict[int, MonitorKind] = {number: name for name, number in MONITOR_TYPES.items()}
        monitor.name = str(form.get("name") or "")
        monitor.kind = kinds.get(int(form.get("type") or 0), monitor.kind)
        hidden = form.get("hide_for_guest") if v2 else not form.get("enable_show_in_service")
        monitor.hide_for_guest = bool(hidden)
        skip = form.get("skip_servers") or {}
        replaced = MonitorConfig(
            target=str(form.get("target") or "").strip(),
            duration=int(form.get("duration") or 0),
            display_index=int(form.get("display_index") or 0) if v2 else 0,
            notify=bool(form.get("notify")),
            notification_group_id=int(form.get("notification_group_id") or 0),
            cover=int(form.get("cover") or 0),
            enable_trigger_task=bool(form.get("enable_trigger_task")),
            fail_trigger_tasks=id_list(form.get("fail_trigger_tasks")),
            recover_trigger_tasks=id_list(form.get("recover_trigger_tasks")),
            min_latency=float(form.get("min_latency") or 0),
            max_latency=float(form.get("max_latency") or 0),
            latency_notify=bool(form.get("latency_notify")),
            skip_servers={int(key): bool(value) for key, value in skip.items()},
            owner_id=old.owner_id,
            updated_at=self.actions.now,
        )
        self.actions.set_monitor_config(monitor_id, replaced)

    # Alert rules

    def _alert_json(self, alert_id: int) -> dict[str, GoJSON]:
        """One ``model.AlertRule`` with what the last write stored."""
        item = render.alert_rule_json(self.actions, alert_id)
        extras = self.actions.alert_extras(alert_id)
        item["updated_at"] = self._time(extras.updated_at or self.actions.created)
        item["trigger_mode"] = extras.trigger_mode
        item["notification_group_id"] = extras.notification_group_id
        if extras.rules_json is not None:
            item["rules"] = list(extras.rules_json)
        item["fail_trigger_tasks"] = list[GoJSON](extras.fail_trigger_tasks)
        item["recover_trigger_tasks"] = list[GoJSON](extras.recover_trigger_tasks)
        return item

    async def _alert_rules_full(self, ctx: Ctx) -> web.StreamResponse:
        """``GET /alert-rule``: admins see all, members their own."""
        rules: list[GoJSON] = [
            self._alert_json(alert.id)
            for alert in sorted(self.actions.alert_rules.values(), key=lambda item: item.id)
            if self._owns_record(ctx.viewer, alert.owner_id)
        ]
        return ok(rules)

    async def _alert_patch(self, ctx: Ctx) -> web.StreamResponse:  # noqa: PLR0911
        """``PATCH /alert-rule/:id``: a full replace, refused without a rule."""
        request = await id_and_form(ctx)
        if isinstance(request, web.Response):
            return request
        alert_id, form = request
        problem = check_form(form, ALERT_FORM, "AlertRuleForm")
        rules = form.get("rules") if problem is None else None
        for rule in rules or []:
            problem = problem or check_form(rule, RULE_FORM, "Rule")
        if problem is not None:
            return error(problem)
        alert = self.actions.alert_rules.get(alert_id)
        if alert is None:
            return error(f"alert id {alert_id} does not exist")
        if not self._owns_record(ctx.viewer, alert.owner_id):
            return error(PERMISSION_DENIED)
        if not rules:
            return error("need to configure at least a single rule")
        parsed: list[tuple[dict[str, GoJSON], CycleRule | None]] = []
        for rule in rules:
            checked = self._check_rule(ctx, rule)
            if isinstance(checked, str):
                return error(checked)
            parsed.append(checked)
        if (refusal := self._links_error(ctx, form)) is not None:
            return refusal
        cycles = [cycle for _, cycle in parsed if cycle is not None]
        if cycles != alert.rules:
            alert.rules, alert.usage = cycles, {}
        alert.name = str(form.get("name") or "")
        alert.enabled = bool(form.get("enable"))
        extras = AlertExtras(
            trigger_mode=int(form.get("trigger_mode") or 0),
            notification_group_id=int(form.get("notification_group_id") or 0),
            fail_trigger_tasks=id_list(form.get("fail_trigger_tasks")),
            recover_trigger_tasks=id_list(form.get("recover_trigger_tasks")),
            rules_json=[rule_json for rule_json, _ in parsed],
            updated_at=self.actions.now,
        )
        self.actions.set_alert_extras(alert_id, extras)
        return ok(alert_id)

    def _check_rule(
        self, ctx: Ctx, rule: dict[str, Any]
    ) -> str | tuple[dict[str, GoJSON], CycleRule | None]:
        """``validateRule`` of one rule: its error, or its stored JSON and cycle rule."""
        cover = int(rule.get("cover") or 0)
        if ctx.v2 and cover not in (0, 1):
            return PERMISSION_DENIED
        kind = str(rule.get("type") or "")
        start_text = rule.get("cycle_start")
        start = None
        if isinstance(start_text, str):
            try:
                start = datetime.fromisoformat(start_text)
            except ValueError:
                return f'parsing time "{start_text}" as "2006-01-02T15:04:05Z07:00"'
        interval = int(rule.get("cycle_interval") or 0)
        problem = rule_error(
            kind, int(rule.get("duration") or 0), interval, start, self.actions.now
        )
        if problem is not None:
            return problem
        ignore = {int(key): bool(value) for key, value in (rule.get("ignore") or {}).items()}
        pairs: list[tuple[str, GoJSON]] = [
            ("min", float(rule.get("min") or 0)),
            ("max", float(rule.get("max") or 0)),
            ("cycle_start", render.format_datetime(start) if start else ""),
            ("cycle_interval", interval),
            ("cycle_unit", str(rule.get("cycle_unit") or "")),
            ("duration", int(rule.get("duration") or 0)),
        ]
        stored: dict[str, GoJSON] = {"type": kind}
        stored |= {key: value for key, value in pairs if value}
        stored["cover"] = cover
        if ignore:
            stored["ignore"] = render.id_map(dict[int, GoJSON](ignore))
        if kind not in CYCLE_KINDS or start is None:
            return stored, None
        if cover == 1:
            servers: tuple[int, ...] | None = tuple(i for i, on in sorted(ignore.items()) if on)
        elif any(ignore.values()):
            servers = tuple(i for i in sorted(self.actions.servers) if not ignore.get(i))
        else:
            servers = None
        unit = str(rule.get("cycle_unit") or "hour")
        cycle = CycleRule(
            kind,  # type: ignore[arg-type]
            int(float(rule.get("max") or 0)),
            int(float(rule.get("min") or 0)),
            start,
            interval,
            unit,  # type: ignore[arg-type]
            servers,
        )
        return stored, cycle

    # Agent updates

    async def _force_update(self, ctx: Ctx) -> web.StreamResponse:
        """``POST /force-update/server [ids]``: v2 puts foreign ids in ``offline``, v1 refuses."""
        ids = await bind(ctx)
        if isinstance(ids, web.Response):
            return ids
        if not fits(ids, "[]uint64") or not all(fits(i, "uint64") for i in ids or []):
            kind = go_kind(ids)
            return error(f"json: cannot unmarshal {kind} into Go value of type []uint64")
        outcome: dict[str, list[GoJSON]] = {"success": [], "failure": [], "offline": []}
        for server_id in id_list(ids):
            server = self.actions.servers.get(server_id)
            if server is None or not self.actions.agent_connected(server):
                outcome["offline"].append(server_id)
            elif not ctx.viewer.owns(server):
                if not ctx.v2:
                    return error(PERMISSION_DENIED)
                outcome["offline"].append(server_id)
            else:
                outcome[self.actions.force_update(server_id)].append(server_id)
        return ok({key: value for key, value in outcome.items() if value})
