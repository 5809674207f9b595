"""Traffic-cycle rules and their bounds, as v2.3.7 ``model/rule.go`` computes them.

A cycle rule (type ``transfer_in_cycle``/``transfer_out_cycle``/``transfer_all_cycle``) counts
bytes from ``cycle_start`` in steps of ``cycle_interval`` ``cycle_unit``. Month/year/week/day
steps use Go ``time.AddDate`` chained from the start, which normalises overflow (Jan 31 + 1
month = Mar 3), so a cycle anchored on day 29-31 drifts: v2.3.7 (= v2.2.9 = v2.2.7) has no
month-end clamping (only v2.2.8 had it; NEZHA_API_DELTA.md §1.3). Those bounds keep the zone of
the stored ``cycle_start``; hour cycles are whole multiples of the interval from the start, in
the dashboard's zone.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Literal

type CycleKind = Literal["transfer_all_cycle", "transfer_in_cycle", "transfer_out_cycle"]
type CycleUnit = Literal["hour", "day", "week", "month", "year"]


def add_date(moment: datetime, years: int, months: int, days: int) -> datetime:
    """Go ``Time.AddDate``: wall-clock fields added, then normalised (no clamping)."""
    month_index = moment.month - 1 + months
    year = moment.year + years + month_index // 12
    first = moment.replace(year=year, month=month_index % 12 + 1, day=1)
    return first + timedelta(days=moment.day - 1 + days)


def _step(moment: datetime, unit: CycleUnit, interval: int) -> datetime:
    """One cycle further."""
    if unit == "year":
        return add_date(moment, interval, 0, 0)
    if unit == "month":
        return add_date(moment, 0, interval, 0)
    if unit == "week":
        return add_date(moment, 0, 0, 7 * interval)
    return add_date(moment, 0, 0, interval)


def cycle_bounds(
    start: datetime, interval: int, unit: CycleUnit, now: float, utc_offset: int
) -> tuple[datetime, datetime]:
    """``GetTransferDurationStart``/``End`` at ``now`` (Unix seconds).

    ``for time.Now().After(next)``: a cycle ends *at* ``to``, which still belongs to it.
    """
    if unit == "hour":
        length = 3600 * interval
        anchor = int(start.timestamp())
        elapsed = int(now) - anchor
        steps = int(elapsed / length)  # Go integer division truncates toward zero
        zone = timezone(timedelta(seconds=utc_offset))
        begin = datetime.fromtimestamp(anchor + steps * length, zone)
        return begin, datetime.fromtimestamp(begin.timestamp() + length, zone)
    begin, end = start, _step(start, unit, interval)
    while now > end.timestamp():
        begin, end = end, _step(end, unit, interval)
    return begin, end


@dataclass
class CycleRule:
    """One ``_cycle`` rule of an alert rule (``model.Rule``); bytes as ``min``/``max``."""

    kind: CycleKind
    max_bytes: int
    min_bytes: int
    cycle_start: datetime
    cycle_interval: int
    cycle_unit: CycleUnit
    server_ids: tuple[int, ...] | None
    """``None``: cover all servers (``cover`` 0); else only these (``cover`` 1 + ``ignore``)."""

    def covers(self, server_id: int) -> bool:
        """Whether this rule counts ``server_id``."""
        return self.server_ids is None or server_id in self.server_ids

    def counter(self, net_in: int, net_out: int) -> int:
        """The NIC counter this rule follows."""
        if self.kind == "transfer_in_cycle":
            return net_in
        if self.kind == "transfer_out_cycle":
            return net_out
        return net_in + net_out


@dataclass
class Usage:
    """Bytes one rule counted on one server: ``base`` plus the counter's growth since ``mark``."""

    base: int
    mark: int
    cycle_from: datetime

    def used(self, counter: int) -> int:
        """Bytes used this cycle; a counter that went back (reboot) counts from 0."""
        grown = counter - self.mark if counter >= self.mark else counter
        return self.base + grown


@dataclass
class SimAlertRule:
    """An alert rule with one or more ``_cycle`` rules (``model.AlertRule``)."""

    id: int
    name: str
    rules: list[CycleRule]
    owner_id: int = 1
    enabled: bool = True
    usage: dict[tuple[int, int], Usage] = field(default_factory=dict)
    """(rule index, server id) → usage."""


def next_update_delay(used: int, max_bytes: int) -> float:
    """Seconds until a server's value is recomputed: ``max(1800·(max-used)/max, 180)``."""
    if max_bytes <= 0:
        return 180.0
    return max(1800.0 * (max_bytes - used) / max_bytes, 180.0)


def as_datetime(value: datetime | float, utc_offset: int) -> datetime:
    """A ``cycle_start`` given as a datetime (kept) or Unix seconds (dashboard zone; naive = UTC)."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(value, timezone(timedelta(seconds=utc_offset)))
