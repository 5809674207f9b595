"""Monitor statistics, server groups and traffic cycles of a 1.x/2.x dashboard's world.

``GET /api/v1/service`` reports 30 days of daily up/down/delay per monitor (index 29 = today)
and ``current_up``/``current_down`` (the last 30 checks); tests set them directly. Groups are
the 1.x successor of v0 tags: every tag in use is a group, plus groups added empty.
Cycle usage advances with the servers' NIC counters (``net_in_transfer``/``net_out_transfer``),
so the demo's simulated traffic fills the quota; a new cycle starts again from 0.
"""

from dataclasses import dataclass, field
from datetime import datetime

from .accounts import AccountsWorld
from .cycles import (
    CycleKind,
    CycleRule,
    CycleUnit,
    SimAlertRule,
    Usage,
    as_datetime,
    cycle_bounds,
)
from .world import SimServer

DAYS = 30


@dataclass
class ServiceStats:
    """The 30-day summary of one monitor."""

    up: list[int] = field(default_factory=lambda: [0] * DAYS)
    down: list[int] = field(default_factory=lambda: [0] * DAYS)
    delay: list[float] = field(default_factory=lambda: [0.0] * DAYS)
    current_up: int = 0
    current_down: int = 0


@dataclass
class CycleState:
    """What one alert rule reports now (after the two-rule mixing of NEZHA_API_DELTA.md §4.2)."""

    alert: SimAlertRule
    name: str
    begin: datetime
    end: datetime
    max_bytes: int
    min_bytes: int
    transfer: dict[int, int]


class ServiceWorld(AccountsWorld):
    """Adds monitor statistics, groups and cycle rules to the accounts world."""

    def __init__(self, *, seed: int = 0, now: float | None = None) -> None:
        """No groups, stats or alert rules yet."""
        super().__init__(seed=seed, now=now)
        self._stats: dict[int, ServiceStats] = {}
        self._groups: dict[str, int] = {}
        self._alerts: dict[int, SimAlertRule] = {}

    # Monitors

    def service_stats(self, monitor_id: int) -> ServiceStats:
        """The 30-day summary of a monitor (zeros until set)."""
        if monitor_id not in self.monitors:
            raise KeyError(f"no monitor with id {monitor_id}")
        return self._stats.setdefault(monitor_id, ServiceStats())

    def set_service_day(
        self, monitor_id: int, day_index: int, *, up: int, down: int, delay: float
    ) -> None:
        """Set one day of the 30-day stats; ``day_index`` 29 is today."""
        if not 0 <= day_index < DAYS:
            raise ValueError("day_index is 0..29")
        stats = self.service_stats(monitor_id)
        stats.up[day_index], stats.down[day_index], stats.delay[day_index] = up, down, delay

    def set_service_current(self, monitor_id: int, *, up: int, down: int) -> None:
        """Set ``current_up``/``current_down`` (results of the last 30 checks)."""
        stats = self.service_stats(monitor_id)
        stats.current_up, stats.current_down = up, down

    # Groups

    def add_group(self, name: str) -> int:
        """Add a server group (servers join by having it as their ``tag``); returns its id."""
        self._register_tags()
        return self._groups.setdefault(name, len(self._groups) + 1)

    def _register_tags(self) -> None:
        """Every tag in use is a group; new ones get the next ids, in the order they appeared."""
        for server in sorted(self.servers.values(), key=lambda item: item.tag_order):
            if server.tag:
                self._groups.setdefault(server.tag, len(self._groups) + 1)

    def server_groups(self) -> list[tuple[int, str, list[int]]]:
        """``(id, name, server ids)`` of every group, by id."""
        self._register_tags()
        members: dict[str, list[int]] = {name: [] for name in self._groups}
        for server in sorted(self.servers.values(), key=lambda item: item.id):
            if server.tag:
                members[server.tag].append(server.id)
        return [(group_id, name, members[name]) for name, group_id in self._groups.items()]

    # Traffic cycles

    @property
    def alert_rules(self) -> dict[int, SimAlertRule]:
        """Alert rules by id (a copy of the mapping; the rules are live)."""
        return dict(self._alerts)

    def add_cycle_rule(
        self,
        name: str,
        *,
        kind: CycleKind = "transfer_all_cycle",
        max_bytes: int,
        min_bytes: int = 0,
        cycle_start: datetime | float,
        cycle_interval: int = 1,
        cycle_unit: CycleUnit = "month",
        server_ids: list[int] | tuple[int, ...] | None = None,
        owner_id: int = 1,
        enabled: bool = True,
    ) -> int:
        """Add an alert rule holding one ``_cycle`` rule; returns the alert-rule id.

        ``cycle_start`` as a datetime keeps its zone in ``from``/``to``; Unix seconds are taken
        in the dashboard's zone. ``server_ids=None`` covers every server.
        """
        alert_id = max(self._alerts, default=0) + 1
        self._alerts[alert_id] = SimAlertRule(alert_id, name, [], owner_id, enabled)
        self.add_second_cycle_rule(
            alert_id,
            kind=kind,
            max_bytes=max_bytes,
            min_bytes=min_bytes,
            cycle_start=cycle_start,
            cycle_interval=cycle_interval,
            cycle_unit=cycle_unit,
            server_ids=server_ids,
        )
        return alert_id

    def add_second_cycle_rule(
        self,
        alert_rule_id: int,
        *,
        kind: CycleKind = "transfer_all_cycle",
        max_bytes: int,
        min_bytes: int = 0,
        cycle_start: datetime | float,
        cycle_interval: int = 1,
        cycle_unit: CycleUnit = "month",
        server_ids: list[int] | tuple[int, ...] | None = None,
    ) -> None:
        """Add another ``_cycle`` rule to an alert rule (the mixing quirk of DELTA §4.2)."""
        if cycle_interval < 1:
            raise ValueError("cycle_interval must be at least 1")
        start = as_datetime(cycle_start, self.utc_offset)
        ids = None if server_ids is None else tuple(server_ids)
        rule = CycleRule(kind, max_bytes, min_bytes, start, cycle_interval, cycle_unit, ids)
        self._alerts[alert_rule_id].rules.append(rule)

    def set_cycle_transfer(
        self, alert_rule_id: int, server_id: int, used_bytes: int, *, rule_index: int | None = None
    ) -> None:
        """Set the bytes used this cycle (every cycle rule of the alert, or one of them)."""
        alert = self._alerts[alert_rule_id]
        server = self.server(server_id)
        for index, rule in enumerate(alert.rules):
            if rule_index is not None and index != rule_index:
                continue
            begin, _ = cycle_bounds(
                rule.cycle_start, rule.cycle_interval, rule.cycle_unit, self.now, self.utc_offset
            )
            mark = rule.counter(server.status.net_in_transfer, server.status.net_out_transfer)
            alert.usage[(index, server_id)] = Usage(used_bytes, mark, begin)

    def _covered(self, alert: SimAlertRule, rule: CycleRule) -> list[SimServer]:
        """Servers a rule counts; a member's rule counts only the member's servers."""
        owner = self.users.get(alert.owner_id)
        return [
            server
            for server in sorted(self.servers.values(), key=lambda item: item.id)
            if rule.covers(server.id)
            and (owner is None or owner.role == "admin" or server.owner_id == owner.id)
        ]

    def cycle_states(self) -> list[CycleState]:
        """Every enabled alert rule's current cycle, by id.

        Name, max and min come from the first rule; ``from``/``to`` and each server's transfer
        from the last rule that ran (covering it), as v2.3.7 ``addCycleTransferStatsInfo`` does.
        """
        states = []
        for alert in sorted(self._alerts.values(), key=lambda item: item.id):
            if not alert.enabled or not alert.rules:
                continue
            first = alert.rules[0]
            state = None
            for index, rule in enumerate(alert.rules):
                begin, end = cycle_bounds(
                    rule.cycle_start,
                    rule.cycle_interval,
                    rule.cycle_unit,
                    self.now,
                    self.utc_offset,
                )
                if state is None:
                    state = CycleState(
                        alert, alert.name, begin, end, first.max_bytes, first.min_bytes, {}
                    )
                state.begin, state.end = begin, end
                for server in self._covered(alert, rule):
                    counter = rule.counter(
                        server.status.net_in_transfer, server.status.net_out_transfer
                    )
                    usage = alert.usage.get((index, server.id))
                    if usage is None or usage.cycle_from != begin:
                        usage = alert.usage[(index, server.id)] = Usage(0, counter, begin)
                    state.transfer[server.id] = usage.used(counter)
            if state is not None:
                states.append(state)
        return states
