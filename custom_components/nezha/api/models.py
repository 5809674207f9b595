"""Version-neutral data models for a Nezha dashboard.

Every dashboard generation (v0 token API today, v1 JWT and v2 personal access tokens later) is parsed
into these classes, so the entities never see a generation's wire format. A value the dashboard did
not send, or sent with the wrong type, is ``None`` (unknown), never a made-up zero.
"""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Temperature:
    """One temperature sensor of a server."""

    name: str
    celsius: float


@dataclass(frozen=True, slots=True)
class Host:
    """What the agent reports about the machine (sent at connect and every few minutes)."""

    platform: str | None = None
    platform_version: str | None = None
    cpu_models: tuple[str, ...] = ()
    mem_total: int | None = None
    disk_total: int | None = None
    swap_total: int | None = None
    arch: str | None = None
    virtualization: str | None = None
    boot_time: datetime | None = None
    country_code: str | None = None
    agent_version: str | None = None
    gpu_models: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Status:
    """The agent's latest live measurements."""

    cpu: float | None = None
    mem_used: int | None = None
    swap_used: int | None = None
    disk_used: int | None = None
    net_in_transfer: int | None = None
    net_out_transfer: int | None = None
    net_in_speed: int | None = None
    net_out_speed: int | None = None
    uptime: int | None = None
    load_1: float | None = None
    load_5: float | None = None
    load_15: float | None = None
    tcp_connections: int | None = None
    udp_connections: int | None = None
    processes: int | None = None
    temperatures: tuple[Temperature, ...] = ()
    gpu_usage: tuple[float, ...] = ()
    """One percentage per GPU (v0 reports a single figure, later generations one per GPU)."""


@dataclass(frozen=True, slots=True)
class Server:
    """A server (agent) known to the dashboard."""

    id: int
    name: str
    tag: str = ""
    last_active: datetime | None = None
    """When the agent last reported; ``None`` when the dashboard's answer does not say."""
    disconnected: bool = False
    """The agent's connection closed: 2.x zeroes ``last_active`` then and keeps ``host`` and
    ``status``, its last report (1.x and 0.x keep the time instead). Never-seen since the dashboard
    started is the other zero time: empty ``host`` and ``status`` (``never_seen``)."""
    ipv4: str | None = None
    ipv6: str | None = None
    display_index: int = 0
    host: Host = field(default_factory=Host)
    status: Status = field(default_factory=Status)
    public_note: str | None = None
    """1.x/2.x free text shown to everyone; often the billing JSON (``billing.py``). v0: None."""

    @property
    def never_seen(self) -> bool:
        """No report since the dashboard started: a new agent, or every agent for a few seconds
        after the dashboard restarts, until each reconnects."""
        return self.last_active is None and not self.disconnected


@dataclass(frozen=True, slots=True)
class ServersSnapshot:
    """All servers in scope at one moment, keyed by id, with the dashboard's clock."""

    servers: dict[int, Server]
    dashboard_time: datetime | None
    """The dashboard's ``Date`` header: freshness is judged by its clock, not Home Assistant's."""


@dataclass(frozen=True, slots=True)
class MonitorPoint:
    """One averaged round of a ping monitor, the same on every generation.

    ``latency_ms <= 0`` means the round failed: the dashboard stores a failed ping as 0 ms (and
    averages it in), and a negative average is no latency either, so it reads as a failure too.
    """

    time: datetime
    latency_ms: float


@dataclass(frozen=True, slots=True)
class Monitor:
    """An ICMP or TCP ping monitor as seen from one server: its newest round and series size."""

    id: int
    server_id: int
    name: str
    latest: MonitorPoint | None = None
    """The newest usable point of the series (a failed round included)."""
    point_count: int = 0
    """How many usable points the dashboard's series (its last 24 h) holds, on every generation.

    Usable: a whole epoch-millisecond time from 1970-01-01T00:00:01 to the end of year 9999 and a
    finite delay (``MonitorPoint``: 0 ms or less is a failed round, and counts). Pairs without
    one are left out, so ``latest`` is ``None`` exactly when ``point_count`` is 0.
    """


@dataclass(frozen=True, slots=True)
class MonitorsSnapshot:
    """One server's monitors keyed by monitor id, with the dashboard's clock."""

    server_id: int
    monitors: dict[int, Monitor]
    dashboard_time: datetime | None


@dataclass(frozen=True, slots=True)
class ServiceStats:
    """One monitor's 30-day summary in 1.x/2.x ``GET /service`` (ICMP, TCP and HTTP monitors)."""

    id: int
    name: str
    current_up: int | None
    """Passed checks among the last 30 (about 15 minutes)."""
    current_down: int | None
    total_up: int | None
    """Passed checks over the 30 days."""
    total_down: int | None
    delay_today: float | None
    """Today's average delay in ms (``delay[29]``); ``None`` when not sent or 0 (nothing measured)."""


@dataclass(frozen=True, slots=True)
class CycleUsage:
    """One server's traffic in one alert rule's current cycle (``cycle_transfer_stats``)."""

    server_id: int
    used: int
    """Bytes counted this cycle (in, out or both: the rule's type says which, see ``AlertRule``)."""
    quota: int | None
    """The rule's ``max`` in bytes; 0 when the rule sets none."""
    start: datetime | None
    end: datetime | None
    next_update: datetime | None
    """When the dashboard recomputes ``used`` (every 3 to 30 minutes, faster near the quota)."""


@dataclass(frozen=True, slots=True)
class TrafficCycle:
    """One alert rule's traffic cycle, with the servers the credential may see."""

    rule_id: int
    name: str
    servers: dict[int, CycleUsage]


@dataclass(frozen=True, slots=True)
class ServicesSnapshot:
    """One ``GET /service`` answer: monitors by id, traffic cycles by alert-rule id."""

    services: dict[int, ServiceStats]
    cycles: dict[int, TrafficCycle]
    dashboard_time: datetime | None


@dataclass(frozen=True, slots=True)
class AlertRule:
    """An alert rule of ``GET /alert-rule``, reduced to what labels its traffic cycle."""

    id: int
    name: str
    cycle_directions: tuple[str, ...]
    """``in``, ``out`` or ``both`` for each ``_cycle`` rule in it, in order (usually one)."""

    @property
    def direction(self) -> str | None:
        """What the cycle's used bytes count: the last cycle rule's, as its figures win (§4.2)."""
        return self.cycle_directions[-1] if self.cycle_directions else None


@dataclass(frozen=True, slots=True)
class Billing:
    """A server's billing terms from its ``public_note`` (NEZHA_API_DELTA.md §8)."""

    expiry: datetime | None
    """The next expiry (rolled forward for auto-renewal); ``None`` when it never expires."""
    never_expires: bool
    amount: str | None
    """``free``, ``usage_based`` or the price text as written; ``None`` when not given."""
    cycle: str | None
    """``day``, ``week``, ``month``, ``quarter``, ``half_year``, ``year`` or the text as written."""
    auto_renewal: bool
