"""What 1.x/2.x dashboards let a client change or trigger: cron tasks, notification groups, the
full configuration of monitors and alert rules, and forced agent updates (NEZHA_ACTIONS.md).

The records follow the Go models of v2.3.7/v1.14.14 (``model/cron.go``, ``service.go``,
``alertrule.go``, ``notification_group.go``). A manual cron run reaches the agents at once and
their result comes back at once (a real agent answers within a second): ``last_executed_at``
moves to the clock, ``last_result`` only ever turns true (GORM ``Updates`` skips zero values).
A forced update restarts the agent with ``agent_release``, which its next report carries; with
every server reporting continuously, that is the next answer or frame.
"""

from dataclasses import dataclass, field
from typing import Literal

from .gojson import GoJSON
from .model import MonitorKind, SimServer
from .services import ServiceWorld

type Cover = Literal[0, 1, 2]
type ForceUpdateOutcome = Literal["success", "offline"]

COVER_LISTED = 0
"""``CronCoverIgnoreAll``: run on the listed servers only."""
COVER_ALL_BUT_LISTED = 1
"""``CronCoverAll``: run on every server of the owner but the listed ones."""
COVER_ALERT = 2
"""``CronCoverAlertTrigger``: run on the server whose alert fired; a manual run does nothing."""
TASK_SCHEDULED = 0
TASK_TRIGGER = 1
MONITOR_TYPES: dict[MonitorKind, int] = {"http": 1, "icmp": 2, "tcp": 3}
"""``TaskTypeHTTPGet``, ``TaskTypeICMPPing``, ``TaskTypeTCPPing``: the monitor ``type``."""


@dataclass
class SimCron:
    """A cron task (``model.Cron``)."""

    id: int
    name: str
    command: str
    servers: list[int]
    cover: int = COVER_LISTED
    task_type: int = TASK_TRIGGER
    scheduler: str = ""
    push_successful: bool = False
    notification_group_id: int = 0
    owner_id: int = 1
    last_executed_at: float | None = None
    last_result: bool = False
    cron_job_id: int = 0
    """robfig/cron's entry id of a scheduled task (0 for trigger tasks: left out)."""
    succeeds: bool = True
    """What the agents report for a run: a failure leaves ``last_result`` as it was."""


@dataclass
class MonitorConfig:
    """The fields of ``model.Service`` that ``GET /service`` does not show (``/service/list``)."""

    target: str
    duration: int = 30
    display_index: int = 0
    notify: bool = False
    notification_group_id: int = 0
    cover: int = 0
    enable_trigger_task: bool = False
    fail_trigger_tasks: list[int] = field(default_factory=list)
    recover_trigger_tasks: list[int] = field(default_factory=list)
    min_latency: float = 0.0
    max_latency: float = 0.0
    latency_notify: bool = False
    skip_servers: dict[int, bool] = field(default_factory=dict)
    owner_id: int = 1
    updated_at: float | None = None


@dataclass
class AlertExtras:
    """The fields of ``model.AlertRule`` beyond its cycle rules, as the last write left them."""

    trigger_mode: int = 0
    notification_group_id: int = 0
    fail_trigger_tasks: list[int] = field(default_factory=list)
    recover_trigger_tasks: list[int] = field(default_factory=list)
    rules_json: list[GoJSON] | None = None
    """The ``rules`` as written (``None``: rendered from the cycle rules)."""
    updated_at: float | None = None


@dataclass
class SimNotificationGroup:
    """A notification group (``model.NotificationGroup``) and its notification ids."""

    id: int
    name: str
    notifications: list[int]
    owner_id: int = 1


@dataclass(frozen=True)
class CronRun:
    """One run of a task on one agent."""

    task_id: int
    server_id: int
    at: float


class ActionsWorld(ServiceWorld):
    """Adds cron tasks, notification groups, monitor and rule configuration, agent updates."""

    def __init__(self, *, seed: int = 0, now: float | None = None) -> None:
        """No tasks or groups; forced updates bring agent ``2.3.3`` (the recorded release)."""
        super().__init__(seed=seed, now=now)
        self.crons: dict[int, SimCron] = {}
        self.notification_groups: dict[int, SimNotificationGroup] = {}
        self.cron_runs: list[CronRun] = []
        """Every run that reached an agent, in order."""
        self.agent_release = "2.3.3"
        """The agent version a forced update installs (the newest release of nezhahq/agent)."""
        self.refuse_force_update: set[int] = set()
        """Servers whose agent has ``disable_force_update``: it ignores the task (still success)."""
        self.force_updates: list[tuple[int, float]] = []
        """``(server id, time)`` of every update task that reached an agent."""
        self._monitor_configs: dict[int, MonitorConfig] = {}
        self._alert_extras: dict[int, AlertExtras] = {}

    # Cron tasks

    def add_cron(
        self,
        name: str,
        command: str,
        servers: list[int] | tuple[int, ...] = (),
        *,
        cover: int = COVER_LISTED,
        task_type: int = TASK_TRIGGER,
        scheduler: str = "",
        owner_id: int = 1,
    ) -> int:
        """Add a task; returns its id. A scheduled task (type 0) needs a ``scheduler``."""
        if cover not in (COVER_LISTED, COVER_ALL_BUT_LISTED, COVER_ALERT):
            raise ValueError("cover is 0, 1 or 2")
        if task_type == TASK_SCHEDULED and (cover == COVER_ALERT or not scheduler):
            raise ValueError("a scheduled task has a scheduler and is not run by alerts")
        task_id = max(self.crons, default=0) + 1
        job = 0
        if task_type == TASK_SCHEDULED:
            job = 1 + sum(1 for task in self.crons.values() if task.cron_job_id)
        self.crons[task_id] = SimCron(
            task_id,
            name,
            command,
            list(servers),
            cover,
            task_type,
            scheduler,
            owner_id=owner_id,
            cron_job_id=job,
        )
        return task_id

    def cron_targets(self, task: SimCron) -> list[SimServer]:
        """The servers a run of ``task`` goes to (``CronTrigger``), online or not."""
        if task.cover == COVER_ALERT:
            return []
        owner = self.users.get(task.owner_id)
        mine = [
            server
            for server in sorted(self.servers.values(), key=lambda item: item.id)
            if owner is not None and (owner.role == "admin" or server.owner_id == owner.id)
        ]
        if task.cover == COVER_LISTED:
            return [server for server in mine if server.id in task.servers]
        return [server for server in mine if server.id not in task.servers]

    def run_cron(self, task_id: int) -> list[int]:
        """Run a task by hand: the ids of the online servers it ran on (cover 2: none)."""
        task = self.crons[task_id]
        ran = [server.id for server in self.cron_targets(task) if self.agent_connected(server)]
        for server_id in ran:
            self.cron_runs.append(CronRun(task_id, server_id, self.now))
        if ran:
            task.last_executed_at = self.now
            task.last_result = task.last_result or task.succeeds
        return ran

    # Notification groups

    def add_notification_group(
        self, name: str, notifications: list[int] | tuple[int, ...] = (), *, owner_id: int = 1
    ) -> int:
        """Add a notification group; returns its id."""
        group_id = max(self.notification_groups, default=0) + 1
        self.notification_groups[group_id] = SimNotificationGroup(
            group_id, name, list(notifications), owner_id
        )
        return group_id

    # Monitor and alert-rule configuration

    def monitor_config(self, monitor_id: int) -> MonitorConfig:
        """The full configuration of a monitor (made up from its kind and name until written)."""
        monitor = self.monitors.get(monitor_id)
        if monitor is None:
            raise KeyError(f"no monitor with id {monitor_id}")
        config = self._monitor_configs.get(monitor_id)
        if config is None:
            host = monitor.name.split()[-1]
            target = f"https://{host}" if monitor.kind == "http" and "//" not in host else host
            config = self._monitor_configs[monitor_id] = MonitorConfig(target)
        return config

    def set_monitor_config(self, monitor_id: int, config: MonitorConfig) -> None:
        """Replace a monitor's configuration (what ``PATCH /service/:id`` does)."""
        self.monitor_config(monitor_id)
        self._monitor_configs[monitor_id] = config

    def alert_extras(self, alert_rule_id: int) -> AlertExtras:
        """What an alert rule holds beyond its cycle rules (defaults until written)."""
        if alert_rule_id not in self.alert_rules:
            raise KeyError(f"no alert rule with id {alert_rule_id}")
        return self._alert_extras.setdefault(alert_rule_id, AlertExtras())

    def set_alert_extras(self, alert_rule_id: int, extras: AlertExtras) -> None:
        """Replace what an alert rule holds beyond its cycle rules."""
        self.alert_extras(alert_rule_id)
        self._alert_extras[alert_rule_id] = extras

    # Agent updates

    def agent_connected(self, server: SimServer) -> bool:
        """Whether the dashboard holds the agent's task stream (tasks can reach it now).

        A reporting agent; a hung one (stream open, no reports) would count too on a real
        dashboard, which the world does not tell apart from a stopped one here.
        """
        return server.reporting

    def force_update(self, server_id: int) -> ForceUpdateOutcome:
        """Send the upgrade task: a connected agent restarts with ``agent_release``."""
        server = self.server(server_id)
        if not self.agent_connected(server):
            return "offline"
        self.force_updates.append((server_id, self.now))
        if server_id not in self.refuse_force_update:
            server.host.agent_version = self.agent_release
        return "success"
