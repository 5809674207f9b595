"""The state of a simulated Nezha v0 dashboard: its clock, servers, monitors and latency history.

The records themselves (``SimServer``, ``SimHost``, …) are in ``model.py`` and re-exported here.
``NezhaWorld`` holds them, steers them as tests ask, and renders them as the v0.20.13 dashboard
would (see ``NEZHA_API.md`` Part A), so the HTTP layer only routes.

How ``last_active`` works: a server whose agent is *reporting* (``SimServer.reporting``) reports
continuously, so its ``last_active`` is the dashboard clock at the moment of the request. A
server that is not reporting keeps the time of its last report (``SimServer.last_report``), or
Go's zero time (``NEVER_ACTIVE``) if it never reported. Host and status values are never aged:
like a real dashboard, an offline server keeps its last (stale) values. How a stopped agent and
a dashboard restart show is in ``agents.py``; answers render ``NezhaWorld.view`` of a server.
"""

from bisect import insort
from collections.abc import Iterable, Mapping
import itertools
import math
import random
import time
from types import MappingProxyType
from typing import Unpack

from .agents import NEVER, Restart, ServerView, plan_restart, server_view
from .gojson import Float32, GoJSON
from .model import (
    HostFields,
    MonitorKind,
    MonitorPoint,
    ServerFields,
    SimHost,
    SimMonitor,
    SimServer,
    SimStatus,
    StatusFields,
)

__all__ = [
    "HISTORY_WINDOW",
    "MAX_PING_MS",
    "NEVER_ACTIVE",
    "HostFields",
    "MonitorKind",
    "MonitorPoint",
    "NezhaWorld",
    "ServerFields",
    "SimHost",
    "SimMonitor",
    "SimServer",
    "SimStatus",
    "StatusFields",
]

NEVER_ACTIVE = -62135596800
"""``last_active`` of a server that never reported: Go's zero ``time.Time`` in Unix seconds."""

HISTORY_WINDOW = 24 * 3600.0
"""``/api/v1/monitor/:id`` only returns points of the last 24 hours of the dashboard clock."""

MAX_PING_MS = 1000.0
"""The dashboard's default ``max_tcpping_value``: recorded latencies are capped at this."""


def _default_host(server_id: int, now: float) -> SimHost:
    """What a plain Debian VPS with a v0.20.5 agent reports."""
    return SimHost(
        platform="debian",
        platform_version="12.7",
        cpu_names=["AMD EPYC 7763 64-Core Processor 2 Virtual Core"],
        mem_total=4_102_029_312,
        disk_total=42_006_183_936,
        swap_total=1_073_737_728,
        arch="amd64",
        virtualization="kvm",
        boot_time=int(now) - 7 * 86400,
        ipv4=f"203.0.113.{server_id % 254 + 1}",
        country_code="hk",
        agent_version="0.20.5",
    )


def _default_status() -> SimStatus:
    """A lightly loaded server a week after boot."""
    return SimStatus(
        cpu=3.0150753768803,
        mem_used=1_214_562_304,
        disk_used=9_812_344_832,
        net_in_transfer=52_114_671_602,
        net_out_transfer=31_004_117_245,
        net_in_speed=10_806,
        net_out_speed=5_303,
        uptime=7 * 86400,
        load1=0.12,
        load5=0.09,
        load15=0.05,
        tcp_conn_count=41,
        udp_conn_count=6,
        process_count=132,
    )


class NezhaWorld:
    """Clock, servers, monitors and history of one dashboard, and their v0 JSON rendering.

    The clock either follows ``time.time()`` plus an offset (``now=None``; freezegun moves it
    too) or is frozen at a value that only ``advance``/``now =`` change.
    """

    def __init__(self, *, seed: int = 0, now: float | None = None) -> None:
        """Create an empty dashboard whose unfiltered order comes from ``random.Random(seed)``."""
        self.rng = random.Random(seed)
        self._frozen_at = now
        self._offset = 0.0
        self._servers: dict[int, SimServer] = {}
        self._monitors: dict[int, SimMonitor] = {}
        self._points: dict[int, list[MonitorPoint]] = {}
        self._order = itertools.count(1)
        self._restart: Restart | None = None

    # Clock

    @property
    def now(self) -> float:
        """The dashboard clock, Unix seconds."""
        if self._frozen_at is not None:
            return self._frozen_at
        return time.time() + self._offset

    @now.setter
    def now(self, value: float) -> None:
        if self._frozen_at is not None:
            self._frozen_at = value
        else:
            self._offset = value - time.time()

    @property
    def clock_frozen(self) -> bool:
        """Whether the clock stands still between ``advance`` calls."""
        return self._frozen_at is not None

    def advance(self, seconds: float) -> None:
        """Move the dashboard clock forward (or back, with a negative value)."""
        self.now += seconds

    def freeze_clock(self, at: float | None = None) -> None:
        """Stop the clock at ``at`` (default: the current reading)."""
        self._frozen_at = self.now if at is None else at

    def unfreeze_clock(self) -> None:
        """Let the clock run with the real one again, from its current reading."""
        if self._frozen_at is not None:
            self._offset = self._frozen_at - time.time()
            self._frozen_at = None

    # Servers

    @property
    def servers(self) -> Mapping[int, SimServer]:
        """The servers by id (a read-only view of mutable ``SimServer`` objects)."""
        return MappingProxyType(self._servers)

    def server(self, server_id: int) -> SimServer:
        """The server with this id; ``KeyError`` if there is none."""
        try:
            return self._servers[server_id]
        except KeyError:
            raise KeyError(f"no server with id {server_id}") from None

    def add_server(
        self,
        name: str | None = None,
        *,
        tag: str = "",
        server_id: int | None = None,
        reported: bool = True,
        display_index: int = 0,
        hide_for_guest: bool = False,
        owner_id: int = 1,
        **fields: Unpack[ServerFields],
    ) -> SimServer:
        """Add a server; by default its agent is connected and reporting realistic values.

        ``reported=False`` adds a server whose agent never reported: ``last_active`` is
        ``NEVER_ACTIVE`` and host and status are all zero, empty or ``null``.
        """
        if server_id is None:
            server_id = max(self._servers, default=0) + 1
        if server_id < 1:
            raise ValueError("server ids start at 1")
        if server_id in self._servers:
            raise ValueError(f"server {server_id} already exists")
        if not reported and fields:
            raise ValueError("a never-reported server has no host or status values")
        server = SimServer(
            id=server_id,
            name=f"server-{server_id}" if name is None else name,
            tag=tag,
            display_index=display_index,
            hide_for_guest=hide_for_guest,
            tag_order=next(self._order),
            owner_id=owner_id,
        )
        if reported:
            server.host = _default_host(server_id, self.now)
            server.status = _default_status()
            _assign(server.host, server.status, fields)
            if "uptime" not in fields:
                server.status.uptime = max(0, math.floor(self.now) - server.host.boot_time)
            server.reporting = True
        self._servers[server_id] = server
        return server

    def remove_server(self, server_id: int) -> None:
        """Delete a server and its latency history."""
        self.server(server_id)
        del self._servers[server_id]
        self._points.pop(server_id, None)

    def rename_server(self, server_id: int, name: str) -> None:
        """Rename a server (its place in its tag's order is kept)."""
        self.server(server_id).name = name

    def set_tag(self, server_id: int, tag: str) -> None:
        """Move a server to another tag, where it goes last, as an edit in the admin UI does."""
        server = self.server(server_id)
        if server.tag != tag:
            server.tag = tag
            server.tag_order = next(self._order)

    def set_host(
        self, server_id: int, *, report: bool = True, **fields: Unpack[HostFields]
    ) -> None:
        """Change host fields; ``report`` also counts it as a report made now."""
        server = self.server(server_id)
        _assign(server.host, server.status, fields)
        if report:
            self.report(server_id)

    def set_status(
        self, server_id: int, *, report: bool = True, **fields: Unpack[StatusFields]
    ) -> None:
        """Change status fields; ``report`` also counts it as a report made now."""
        server = self.server(server_id)
        _assign(server.host, server.status, fields)
        if report:
            self.report(server_id)

    def report(self, server_id: int) -> None:
        """Record one agent report at the current time (``reporting`` is left as it is)."""
        self.server(server_id).last_report = self.now

    def take_offline(self, server_id: int) -> None:
        """The agent hangs (stream open, no reports): ``last_active`` stays at this moment."""
        self._silence(server_id, closed=False)

    def stop_agent(self, server_id: int) -> None:
        """The agent's process stops (its stream closes): 2.x shows the zero time from now on.

        1.x and 0.x keep the time of the last report, as for a hung agent; every generation
        keeps the last host and state.
        """
        self._silence(server_id, closed=True)

    def _silence(self, server_id: int, *, closed: bool) -> None:
        """The agent stops reporting; one that was still to come back after a restart never does."""
        server = self.server(server_id)
        if server.reporting:
            server.reporting = False
            server.last_report = self.now
        server.agent_closed = closed
        restart = self._restart
        if restart is not None and restart.back_at.get(server_id, -NEVER) > self.now:
            restart.back_at[server_id] = NEVER

    def bring_online(self, server_id: int) -> None:
        """The agent (re)connects and reports continuously again."""
        server = self.server(server_id)
        server.reporting, server.agent_closed = True, False
        restart = self._restart
        if restart is not None and restart.back_at.get(server_id, -NEVER) > self.now:
            restart.back_at[server_id] = max(self.now, restart.listen_at)

    def restart_dashboard(
        self,
        *,
        graceful: float = 0.0,
        refused: float = 0.0,
        agents_back: float | Mapping[int, float] = 0.0,
        host_lead: float = 0.0,
    ) -> Restart:
        """Restart the dashboard process now: in-memory state is lost, the database is kept.

        The old process goes on for ``graceful`` seconds, then nothing listens for ``refused``
        seconds; from then every server is never-seen (zero host and status, zero time) until
        its agent reconnects ``agents_back`` seconds after the new process listens (one delay
        for all or one per server id), host first, its state ``host_lead`` seconds later. Agents
        that are not reporting stay never-seen until ``bring_online``. With the defaults it all
        happens at once. Tag order is reloaded by id.
        ``NezhaSimulator.restart_as_recorded`` picks the recorded timings. While nothing
        listens, each connection is closed unanswered (the client sees a disconnect, not the
        real ``ECONNREFUSED``: the listening socket stays open so that the clock alone decides).
        """
        for server in sorted(self._servers.values(), key=lambda item: item.id):
            server.tag_order = next(self._order)
        self._restart = plan_restart(
            self._servers,
            self.now,
            graceful=graceful,
            refused=refused,
            agents_back=agents_back,
            host_lead=host_lead,
        )
        return self._restart

    @property
    def restart(self) -> Restart | None:
        """The latest dashboard restart, if there was one."""
        return self._restart

    def view(self, server: SimServer, *, zero_when_closed: bool = False) -> ServerView:
        """Host, status and last report as an answer shows them now (``agents.server_view``)."""
        return server_view(server, self._restart, self.now, zero_when_closed=zero_when_closed)

    def last_active(self, server: SimServer) -> int:
        """v0 ``last_active`` as the API sends it: Unix seconds, or ``NEVER_ACTIVE``."""
        at = self.view(server).last_active
        return NEVER_ACTIVE if at is None else math.floor(at)

    # Monitors and history

    @property
    def monitors(self) -> Mapping[int, SimMonitor]:
        """The monitors by id (read-only view)."""
        return MappingProxyType(self._monitors)

    def add_monitor(
        self,
        name: str = "Ping 1.1.1.1",
        *,
        monitor_id: int | None = None,
        kind: MonitorKind = "icmp",
        hide_for_guest: bool = False,
    ) -> int:
        """Add a monitor (ICMP by default) and return its id."""
        if monitor_id is None:
            monitor_id = max(self._monitors, default=0) + 1
        if monitor_id in self._monitors:
            raise ValueError(f"monitor {monitor_id} already exists")
        self._monitors[monitor_id] = SimMonitor(monitor_id, name, kind, hide_for_guest)
        return monitor_id

    def remove_monitor(self, monitor_id: int) -> None:
        """Delete a monitor and its history."""
        if monitor_id not in self._monitors:
            raise KeyError(f"no monitor with id {monitor_id}")
        del self._monitors[monitor_id]
        for server_id, points in self._points.items():
            self._points[server_id] = [p for p in points if p.monitor_id != monitor_id]

    def add_point(
        self, monitor_id: int, server_id: int, delay_ms: float, *, at: float | None = None
    ) -> None:
        """Record one round measured by ``server_id``'s agent; ``0`` is a failed round.

        The value is capped at ``MAX_PING_MS`` and stored as a float32, like the dashboard.
        HTTP monitors have no per-server rows (the dashboard stores them with ``server_id`` 0).
        """
        if monitor_id not in self._monitors:
            raise KeyError(f"no monitor with id {monitor_id}")
        if self._monitors[monitor_id].kind == "http":
            raise ValueError("HTTP monitors have no per-server latency series")
        self.server(server_id)
        at = self.now if at is None else at
        point = MonitorPoint(monitor_id, at, Float32(min(delay_ms, MAX_PING_MS)), delay_ms)
        insort(self._points.setdefault(server_id, []), point, key=lambda p: (p.monitor_id, p.at))

    def points(self, server_id: int) -> list[MonitorPoint]:
        """The stored rounds measured by a server, by monitor id then time."""
        return list(self._points.get(server_id, []))

    def clear_points(self) -> None:
        """Delete all latency history."""
        self._points.clear()

    # v0 rendering

    def ordered(self, *, tag: str = "") -> list[SimServer]:
        """Servers in API order: a fresh random order, or the tag's order when ``tag`` is set."""
        if tag:
            tagged = [server for server in self._servers.values() if server.tag == tag]
            return sorted(tagged, key=lambda server: server.tag_order)
        servers = list(self._servers.values())
        self.rng.shuffle(servers)
        return servers

    def by_ids(self, ids: Iterable[int]) -> list[SimServer]:
        """Servers in the order of ``ids``, with repeats; unknown ids are skipped."""
        return [self._servers[i] for i in ids if i in self._servers]

    def common_info(self, server: SimServer, *, with_display: bool = False) -> dict[str, GoJSON]:
        """``CommonServerInfo``; display fields stay 0/false unless ``with_display``."""
        host = self.view(server).host
        ipv4, ipv6 = host.ipv4, host.ipv6
        return {
            "id": server.id,
            "name": server.name,
            "tag": server.tag,
            "last_active": self.last_active(server),
            "ipv4": ipv4,
            "ipv6": ipv6,
            "valid_ip": ipv4 or ipv6,
            "display_index": server.display_index if with_display else 0,
            "hide_for_guest": server.hide_for_guest if with_display else False,
        }

    def status_response(
        self, server: SimServer, *, with_display: bool = False
    ) -> dict[str, GoJSON]:
        """``StatusResponse``: the common info plus ``host`` and ``status``."""
        info = self.common_info(server, with_display=with_display)
        view = self.view(server)
        info["host"] = view.host.to_json()
        info["status"] = view.status.to_json()
        return info

    def monitor_histories(self, server_id: int) -> list[GoJSON] | None:
        """``MonitorInfo`` list of the last 24 h for a server, or ``None`` if there is none."""
        cutoff = self.now - HISTORY_WINDOW
        server_name = self.server(server_id).name
        infos: dict[int, tuple[list[GoJSON], list[GoJSON]]] = {}
        for point in self._points.get(server_id, []):
            if point.at < cutoff:
                continue
            created_at, avg_delay = infos.setdefault(point.monitor_id, ([], []))
            created_at.append(math.floor(point.at / 60) * 60_000)
            avg_delay.append(point.delay)
        return [
            {
                "monitor_id": monitor_id,
                "server_id": server_id,
                "monitor_name": self._monitors[monitor_id].name,
                "server_name": server_name,
                "created_at": created_at,
                "avg_delay": avg_delay,
            }
            for monitor_id, (created_at, avg_delay) in infos.items()
        ] or None


def _assign(host: SimHost, status: SimStatus, fields: Mapping[str, object]) -> None:
    """Set host and status fields by name."""
    for key, value in fields.items():
        target = host if hasattr(host, key) else status
        setattr(target, key, list(value) if isinstance(value, list) else value)
