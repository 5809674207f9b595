"""The HA-free state an entry holds, and its pure transitions.

Servers: what a list read or a frame of the live stream changes (``apply_list``, ``apply_frame``).
Ping monitors (``ServerMonitors``) and ``/service`` (``ServicesData``): what the last poll left.
Every id that goes missing is counted out by ``track_presence`` before its entities are removed.

What online means, by the dashboard's clock (README: "When your dashboard restarts or an agent
stops"):

* a server is online while its agent's last report is within ``online_threshold``;
* a server that reported is offline, and counted so (``offline``), once its last report is older
  than that or (2.x) its agent's connection closed;
* a server that reported before and comes back never-seen (empty host and state) is most likely
  in a dashboard restart, after which agents reconnect one by one: its data and online state are
  held, with no state written, until ``online_threshold`` has passed since the first such answer
  (``waiting``); still never-seen then, its agent is gone: offline and counted;
* a server never seen at all (a new agent) is neither online nor counted.

Nothing older than what is shown overwrites it: a list read answered before a frame that is
already applied (a slow list, a manual update) only brings what frames lack.
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

from .api import (
    CycleUsage,
    Host,
    Monitor,
    MonitorPoint,
    Server,
    ServiceStats,
    Status,
    StreamFrame,
    TrafficCycle,
)
from .const import MONITOR_POINT_MAX_AGE, STALE_AFTER_POLLS


def track_presence[IdT](
    previous_absent: dict[IdT, int], previous_ids: Collection[IdT], current_ids: Collection[IdT]
) -> tuple[dict[IdT, int], set[IdT]]:
    """Count consecutive successful polls each known id has been missing from.

    Returns the ids still missing (with their count) and those missing long enough to remove.
    """
    absent: dict[IdT, int] = {}
    gone: set[IdT] = set()
    for missing_id in (set(previous_ids) | previous_absent.keys()) - set(current_ids):
        count = previous_absent.get(missing_id, 0) + 1
        if count >= STALE_AFTER_POLLS:
            gone.add(missing_id)
        else:
            absent[missing_id] = count
    return absent, gone


def _fields_of(cls: type[Any], prefix: str = "") -> tuple[tuple[str, ...], attrgetter[Any]]:
    """The names of a dataclass's fields (``prefix`` before each) and a getter of their values
    (one C call per object, where a loop of ``getattr`` cost a call per field)."""
    names = tuple(field.name for field in fields(cls))
    return tuple(prefix + name for name in names), attrgetter(*names)


_SERVER_FIELDS, _server_values = _fields_of(Server)
_PARTS = {"host": _fields_of(Host, "host."), "status": _fields_of(Status, "status.")}


def server_changes(old: Server, new: Server) -> frozenset[str]:
    """The fields of ``Server`` that differ, and of ``host`` and ``status`` each field that does
    (``status.cpu``): what an entity names in its ``reads`` to hear only of its own changes."""
    if old is new:
        return frozenset()
    changed: set[str] = set()
    for name, before, after in zip(
        _SERVER_FIELDS, _server_values(old), _server_values(new), strict=True
    ):
        if before == after:
            continue
        changed.add(name)
        if (part := _PARTS.get(name)) is not None:
            names, values = part
            changed.update(
                dotted
                for dotted, was, now in zip(names, values(before), values(after), strict=True)
                if was != now
            )
    return frozenset(changed)


@dataclass(frozen=True, slots=True)
class ServersData:
    """The servers in scope after a successful poll (and the frames since)."""

    servers: dict[int, Server]
    """Servers the dashboard reported in this poll, by id."""
    absent: dict[int, int]
    """Servers we still track that the last polls did not report: id -> polls missing."""
    dashboard_time: datetime
    """The dashboard's clock at this poll or frame (HA's clock when it sent none)."""
    online: frozenset[int] = frozenset()
    """The reported servers whose agent reported within the online threshold, by that clock."""
    offline: frozenset[int] = frozenset()
    """The servers counted offline: they reported, and their agent no longer does."""
    waiting: dict[int, datetime] = field(default_factory=dict)
    """Servers that reported before and came back never-seen: since when, by the dashboard's
    clock. Their data and online state are held until ``online_threshold`` has passed."""

    @property
    def tracked_ids(self) -> set[int]:
        """Every server that still has a device (a new set: call it once per poll, not per item)."""
        return self.servers.keys() | self.absent.keys()

    def is_online(self, server_id: int) -> bool | None:
        """On, off, or unknown: never-seen after a restart with nothing held from before it."""
        if server_id in self.online:
            return True
        if server_id in self.waiting and server_id not in self.offline:
            return None
        return False


@dataclass(frozen=True, slots=True)
class _Verdict:
    """What one answer says of one server's agent."""

    online: bool
    counted: bool
    """Counted offline."""
    waiting_since: datetime | None = None
    """Set when the server reported before and is never-seen now (see ``ServersData.waiting``)."""

    @property
    def shown(self) -> tuple[bool | None, bool]:
        """What the entities show of it: the online state (``None``: unknown) and the count."""
        if self.online or self.counted or self.waiting_since is None:
            return self.online, self.counted
        return None, False


_REPORTING = _Verdict(online=True, counted=False)
_LATE = _Verdict(online=False, counted=True)
_NEW_AGENT = _Verdict(online=False, counted=False)


def _news(previous: ServersData, server_id: int, verdict: _Verdict) -> bool:
    """Whether the entities must hear of the verdict: what they show changes, or the server is
    back from a restart window (its data is current again even if its state never changed)."""
    if server_id in previous.waiting:
        shown = (previous.is_online(server_id), server_id in previous.offline)
        return verdict.waiting_since is None or verdict.shown != shown
    # Most servers of most frames: a plain comparison (nothing was unknown before).
    return (
        verdict.online != (server_id in previous.online)
        or verdict.counted != (server_id in previous.offline)
        or verdict.shown[0] is None
    )


@dataclass(slots=True)
class _States:
    """The servers' states an answer is building."""

    online: set[int]
    offline: set[int]
    waiting: dict[int, datetime]

    def add(self, server_id: int, verdict: _Verdict) -> None:
        """Take one server's verdict."""
        if verdict.online:
            self.online.add(server_id)
        if verdict.counted:
            self.offline.add(server_id)
        if verdict.waiting_since is not None:
            self.waiting[server_id] = verdict.waiting_since


def _judge(
    server_id: int,
    last_active: datetime | None,
    disconnected: bool,
    *,
    now: datetime,
    previous: ServersData | None,
    reported: set[int],
    threshold: timedelta,
) -> _Verdict:
    """One server in an answer at dashboard time ``now``; ``reported`` learns who has reported."""
    if last_active is not None:
        reported.add(server_id)
        return _REPORTING if now - last_active <= threshold else _LATE
    if disconnected:
        reported.add(server_id)
        return _LATE
    if server_id not in reported:
        return _NEW_AGENT  # no outage to count
    # It reported before: the dashboard restarted, or the agent is gone; only time tells.
    since = previous.waiting.get(server_id, now) if previous is not None else now
    if now - since >= threshold:
        return _Verdict(online=False, counted=True, waiting_since=since)
    if previous is None:
        return _Verdict(online=False, counted=False, waiting_since=since)
    return _Verdict(
        server_id in previous.online, server_id in previous.offline, waiting_since=since
    )


def _take(answered: Server, held: Server | None, verdict: _Verdict) -> Server:
    """The data to keep of a server: never-seen data (empty) never replaces a report."""
    if held is None:
        return answered
    if verdict.waiting_since is not None:
        return held
    if answered.disconnected and answered.last_active is None:
        # 2.x zeroed the time; the time of the last report is the one held.
        return replace(answered, last_active=held.last_active)
    return answered


@dataclass(frozen=True, slots=True)
class ListOutcome:
    """A list read applied: the new data (``absent`` left to the caller) and what changed."""

    servers: dict[int, Server]
    online: frozenset[int]
    offline: frozenset[int]
    waiting: dict[int, datetime]
    changed: set[int]


def apply_list(
    previous: ServersData | None,
    listed: Mapping[int, Server],
    dashboard_time: datetime,
    *,
    reported: set[int],
    frame_clock: Mapping[int, datetime],
    threshold: timedelta,
) -> ListOutcome:
    """A list read on top of ``previous``.

    A server whose last applied frame (``frame_clock``, the dashboard's clock) is newer than the
    list's answer keeps its data and state: the list only brings its IPs and note, which frames
    lack. The servers whose data or state changed are ``changed``.
    """
    servers: dict[int, Server] = {}
    states = _States(set(), set(), {})
    changed: set[int] = set()
    for server_id, answered in listed.items():
        held = previous.servers.get(server_id) if previous is not None else None
        clock = frame_clock.get(server_id)
        if (
            held is not None
            and previous is not None
            and clock is not None
            and dashboard_time < clock
        ):
            server = replace(
                held, ipv4=answered.ipv4, ipv6=answered.ipv6, public_note=answered.public_note
            )
            states.add(
                server_id,
                _Verdict(
                    server_id in previous.online,
                    server_id in previous.offline,
                    previous.waiting.get(server_id),
                ),
            )
            if server == held:
                server = held  # keep the held object graph (see below)
            else:
                changed.add(server_id)
            servers[server_id] = server
            continue
        verdict = _judge(
            server_id,
            answered.last_active,
            answered.disconnected,
            now=dashboard_time,
            previous=previous,
            reported=reported,
            threshold=threshold,
        )
        server = _take(answered, held, verdict)
        if server == held:
            # Keep the held objects: a fresh graph per poll for an unchanged server only feeds
            # the cyclic garbage collector (its full collections stall a 1,000-server poll).
            server = held
        servers[server_id] = server
        states.add(server_id, verdict)
        if server is not held or previous is None or _news(previous, server_id, verdict):
            changed.add(server_id)
    return ListOutcome(
        servers, frozenset(states.online), frozenset(states.offline), states.waiting, changed
    )


MIN_COMPARED_PER_FRAME = 20
"""A frame compares at least this many due servers: a small fleet's are never held back."""


def compare_budget(servers: int, gap: timedelta | None, window: timedelta) -> int | None:
    """How many due servers one frame compares: the fleet spread over the frames of a window.

    A window's comparisons all falling due in one frame (every server was compared at the
    connection's first frame or at a list read) write the whole fleet at once: a 1,000-server
    frame stalled the event loop for a third of a second. Capped, the servers left over are
    compared at the next frames, most overdue first, and stay spread from then on. ``None`` (no
    cap) before the time between frames (``gap``) is known.
    """
    if gap is None or gap <= timedelta(0):
        return None
    return max(MIN_COMPARED_PER_FRAME, -(-servers * gap // window))


def apply_frame(
    data: ServersData,
    frame: StreamFrame,
    listed: Mapping[int, Server],
    compared: dict[int, datetime],
    *,
    reported: set[int],
    frame_clock: dict[int, datetime],
    now: datetime,
    window: timedelta,
    threshold: timedelta,
    budget: int | None = None,
) -> tuple[ServersData, set[int]]:
    """``data`` after one frame, and the servers whose entities must hear of it.

    Only servers of the last list (``listed``) are taken: a member's stream also carries other
    users' public servers. What frames lack comes from what is held: the IPs, and the note after
    a connection's first frame. ``frame_clock`` learns the frame's clock for each of them.

    A server whose shown state (online, counted offline) the frame changes is told at once, and
    so is one reporting again after a restart window. Any other server is compared (parsed, and
    told if it changed) at most once per ``window`` (``compared`` says when it last was, and is
    updated): so a metric entity writes at most once per ``scan_interval``, and a change inside
    the window reaches it with the first frame after the window, with the latest value. At most
    ``budget`` servers are compared so (see ``compare_budget``); the others due wait for the
    next frames. Most servers of most frames are only checked for their last report: a frame of
    1,000 servers comes every 2 s.
    """
    dashboard_time = frame.dashboard_time or now
    in_frame = frame.server_ids & listed.keys()
    states = _States(
        set(data.online - in_frame),
        set(data.offline - in_frame),
        {key: since for key, since in data.waiting.items() if key not in in_frame},
    )
    updated: dict[int, Server] = {}
    tell: set[int] = set()
    due: list[tuple[datetime, int, _Verdict]] = []
    for server_id in in_frame:
        last_active = frame.last_active(server_id)
        # A zero time is rare (a stopped 2.x agent, a restart): only then is the state read.
        streamed = frame.server(server_id) if last_active is None else None
        verdict = _judge(
            server_id,
            last_active,
            streamed is not None and streamed.disconnected,
            now=dashboard_time,
            previous=data,
            reported=reported,
            threshold=threshold,
        )
        states.add(server_id, verdict)
        if _news(data, server_id, verdict):
            compared[server_id] = now
            updated[server_id] = _framed(data, frame, listed, server_id, verdict, streamed=streamed)
            tell.add(server_id)
            continue
        last = compared.get(server_id)
        if last is None or now - last >= window:
            due.append((last or datetime.min.replace(tzinfo=now.tzinfo), server_id, verdict))
    if budget is not None and len(due) > budget:
        due.sort(key=lambda item: item[:2])  # most overdue first, then by id
        del due[budget:]
    for _last, server_id, verdict in due:
        compared[server_id] = now
        server = _framed(data, frame, listed, server_id, verdict, streamed=None)
        if server != data.servers.get(server_id):
            updated[server_id] = server
            tell.add(server_id)
    frame_clock.update(dict.fromkeys(in_frame, dashboard_time))
    merged = ServersData(
        servers={**data.servers, **updated} if updated else data.servers,
        absent=data.absent,
        dashboard_time=dashboard_time,
        online=frozenset(states.online),
        offline=frozenset(states.offline),
        waiting=states.waiting,
    )
    return merged, tell


def _framed(
    data: ServersData,
    frame: StreamFrame,
    listed: Mapping[int, Server],
    server_id: int,
    verdict: _Verdict,
    *,
    streamed: Server | None,
) -> Server:
    """A server as a frame shows it, with what frames lack taken from what is held."""
    held = data.servers.get(server_id) or listed[server_id]
    if streamed is None:
        streamed = frame.server(server_id)
    return _take(
        replace(
            streamed,
            tag=held.tag,
            ipv4=held.ipv4,
            ipv6=held.ipv6,
            public_note=streamed.public_note or held.public_note,
        ),
        held,
        verdict,
    )


def current_point(
    point: MonitorPoint | None, dashboard_time: datetime | None
) -> MonitorPoint | None:
    """``point``, unless it is too old (by the dashboard's clock) to be a current reading."""
    if point is None or (
        dashboard_time is not None and dashboard_time - point.time > MONITOR_POINT_MAX_AGE
    ):
        return None
    return point


@dataclass(frozen=True, slots=True)
class ServerMonitors:
    """One server's ping monitors after its latest monitor poll."""

    monitors: dict[int, Monitor] = field(default_factory=dict)
    """Monitors the last successful poll of this server reported, by id."""
    absent: dict[int, int] = field(default_factory=dict)
    """Monitors still tracked that the last successful polls did not report: id -> polls missing."""
    dashboard_time: datetime | None = None
    ok: bool = True
    """False when the last poll of this server failed; its monitors then are unavailable."""

    @property
    def tracked_ids(self) -> set[int]:
        """Every monitor that still has entities."""
        return self.monitors.keys() | self.absent.keys()

    def reads_like(self, other: ServerMonitors) -> bool:
        """Whether every entity of these monitors shows the same as with ``other``.

        The dashboard's clock moves each poll; it matters only when it ages a point out.
        """
        if (self.monitors, self.absent, self.ok) != (other.monitors, other.absent, other.ok):
            return False
        return all(
            current_point(monitor.latest, self.dashboard_time)
            == current_point(monitor.latest, other.dashboard_time)
            for monitor in self.monitors.values()
        )


type CycleKey = tuple[int, int]
"""(alert-rule id, server id): one cycle's figures for one server."""


def cycle_keys(cycles: Mapping[int, TrafficCycle]) -> set[CycleKey]:
    """The (rule, server) pairs of some cycles."""
    return {
        (rule_id, server_id) for rule_id, cycle in cycles.items() for server_id in cycle.servers
    }


@dataclass(frozen=True, slots=True)
class ServicesData:
    """What the latest ``/service`` poll left: monitors, cycles and what each cycle counts."""

    services: dict[int, ServiceStats] = field(default_factory=dict)
    services_absent: dict[int, int] = field(default_factory=dict)
    """Monitors still tracked that the last polls did not report: id -> polls missing."""
    cycles: dict[int, TrafficCycle] = field(default_factory=dict)
    cycles_absent: dict[CycleKey, int] = field(default_factory=dict)
    """(rule, server) pairs still tracked that the last polls did not report -> polls missing."""
    directions: dict[int, str] = field(default_factory=dict)
    """Alert-rule id -> ``in``/``out``/``both``; empty when the alert rules can't be read."""
    dashboard_time: datetime | None = None

    def usage(self, rule_id: int, server_id: int) -> CycleUsage | None:
        """One server's figures in one cycle, if the last poll reported them."""
        cycle = self.cycles.get(rule_id)
        return None if cycle is None else cycle.servers.get(server_id)

    @property
    def cycle_keys(self) -> set[CycleKey]:
        """The (rule, server) pairs the last poll reported."""
        return cycle_keys(self.cycles)

    @property
    def tracked_cycle_keys(self) -> set[CycleKey]:
        """Every (rule, server) pair that still has sensors."""
        return self.cycle_keys | self.cycles_absent.keys()

    @property
    def tracked_service_ids(self) -> set[int]:
        """Every monitor that still has entities."""
        return self.services.keys() | self.services_absent.keys()
