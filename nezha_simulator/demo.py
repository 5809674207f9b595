"""A lively demo fleet: a few servers in different states and 24 h of ICMP/TCP latency history.

``build_demo_fleet`` fills a simulator; ``DemoFleet.tick`` moves it along the dashboard clock
(CPU, memory, load, network speeds and counters, temperatures, one latency point per minute per
monitor and reporting server). ``DemoFleet.run`` ticks forever, which with a simulator that
follows the real clock gives a dashboard that changes as time passes.
"""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
import math
import random
import re

from .actions import COVER_ALL_BUT_LISTED, COVER_LISTED, TASK_SCHEDULED, ActionsWorld
from .services import ServiceWorld
from .world import HISTORY_WINDOW, NezhaWorld, SimServer

GIB = 1024**3
_CORES = re.compile(r"(\d+) (?:Physical|Virtual) Core")
POINT_SECOND = 23
"""Second of each minute at which a latency round is stored."""


@dataclass(frozen=True)
class _Link:
    """One monitor measured from one server, around ``base_ms``."""

    monitor_id: int
    server_id: int
    base_ms: float


def _point_times(after: float, until: float) -> list[float]:
    """Times of stored rounds (one a minute) in ``(after, until]``."""
    first = math.floor((after - POINT_SECOND) / 60) + 1
    last = math.floor((until - POINT_SECOND) / 60)
    return [minute * 60.0 + POINT_SECOND for minute in range(first, last + 1)]


class DemoFleet:
    """The demo servers and monitors of one simulator, and the random walk that moves them."""

    def __init__(
        self,
        sim: NezhaWorld,
        links: list[_Link],
        *,
        seed: int = 0,
        events: dict[tuple[int, int, float], float] | None = None,
    ) -> None:
        """Take over a filled simulator; ``events`` fixes the value of some rounds."""
        self.sim = sim
        self._links = links
        self._events = events or {}
        self._rng = random.Random(seed)
        self._last_tick = sim.now
        self._last_point = sim.now
        self._base_speed = {
            server.id: (server.status.net_in_speed, server.status.net_out_speed)
            for server in sim.servers.values()
        }

    def _sample(self, link: _Link) -> float:
        """One round's average: mostly near the base, sometimes one or both pings failed."""
        roll = self._rng.random()
        delay = max(0.1, self._rng.gauss(link.base_ms, link.base_ms * 0.08))
        if roll < 0.003:
            return 0.0
        if roll < 0.013:
            return delay / 2
        return delay

    def record_history(self, after: float, until: float) -> None:
        """Add the rounds between two times for every link whose agent was reporting."""
        for link in self._links:
            server = self.sim.servers.get(link.server_id)
            if server is None or link.monitor_id not in self.sim.monitors:
                continue
            end = until
            if not server.reporting:
                end = min(until, after if server.last_report is None else server.last_report)
            for at in _point_times(after, end):
                delay = self._events.get((link.monitor_id, link.server_id, at))
                if delay is None:
                    delay = self._sample(link)
                self.sim.add_point(link.monitor_id, link.server_id, delay, at=at)

    def tick(self) -> None:
        """Move every reporting server's values and add the latency rounds due by now."""
        now = self.sim.now
        elapsed = now - self._last_tick
        if elapsed <= 0:
            return
        self._last_tick = now
        for server in self.sim.servers.values():
            if server.reporting:
                self._step(server, elapsed, now)
        start = max(self._last_point, now - HISTORY_WINDOW)
        self.record_history(start, now)
        self._last_point = now

    def _step(self, server: SimServer, elapsed: float, now: float) -> None:
        """One random-walk step of a server's status."""
        rng, status, host = self._rng, server.status, server.host
        cores = sum(int(match) for name in host.cpu_names for match in _CORES.findall(name))
        status.cpu = min(98.0, max(0.3, status.cpu + rng.gauss(0, 4)))
        status.load1 = round(status.cpu / 100 * max(1, cores) + rng.random() * 0.2, 2)
        status.load5 = round(status.load5 + (status.load1 - status.load5) * 0.2, 2)
        status.load15 = round(status.load15 + (status.load1 - status.load15) * 0.07, 2)
        low, high = int(host.mem_total * 0.15), int(host.mem_total * 0.9)
        status.mem_used = min(high, max(low, status.mem_used + int(rng.gauss(0, 0.01) * high)))
        base_in, base_out = self._base_speed.get(server.id, (10_000, 5_000))
        status.net_in_speed = int(base_in * rng.uniform(0.3, 1.8))
        status.net_out_speed = int(base_out * rng.uniform(0.3, 1.8))
        status.net_in_transfer += round(status.net_in_speed * elapsed)
        status.net_out_transfer += round(status.net_out_speed * elapsed)
        status.uptime = max(0, math.floor(now) - host.boot_time)
        status.tcp_conn_count = max(1, status.tcp_conn_count + rng.randint(-3, 3))
        status.process_count = max(20, status.process_count + rng.randint(-2, 2))
        if host.gpu_names:
            status.gpu = min(100.0, max(0.0, status.gpu + rng.gauss(0, 6)))
        status.temperatures = [
            (name, round(min(95.0, max(25.0, value + rng.gauss(0, 0.8))), 1))
            for name, value in status.temperatures
        ]

    async def run(self, interval: float = 2.0) -> None:
        """Tick every ``interval`` real seconds until cancelled."""
        while True:
            await asyncio.sleep(interval)
            self.tick()


def build_demo_fleet(sim: NezhaWorld, *, seed: int = 0) -> DemoFleet:
    """Add the demo servers and monitors, with 24 h of history, and return their ticker.

    Servers: ``web-1`` and ``web-2`` (tag ``prod``; dual stack and IPv4 only), ``gpu-lab``
    (tag ``lab``, IPv6 only, a GPU, temperatures), ``nas`` (no tag, hidden from guests, offline
    for 10 minutes) and ``fresh-vps`` (tag ``staging``, never reported). Monitors: two ICMP pings
    and one TCP ping, measured by every server that reported, with a failed round 3 minutes
    ago on ``web-2`` and a clamped 1000 ms spike 2 hours ago on ``gpu-lab``.
    """
    now = sim.now
    boot = int(now)
    web1 = sim.add_server(
        "web-1",
        tag="prod",
        display_index=10,
        platform="debian",
        platform_version="12.7",
        cpu_names=["AMD EPYC 7B13 4 Virtual Core"],
        mem_total=8 * GIB,
        disk_total=80 * 10**9,
        swap_total=0,
        virtualization="kvm",
        boot_time=boot - 36 * 86400,
        ipv4="203.0.113.10",
        ipv6="2001:db8:10::1",
        country_code="hk",
        cpu=14.7,
        mem_used=3 * GIB,
        disk_used=31 * 10**9,
        net_in_transfer=4_210_331_906_112,
        net_out_transfer=1_930_118_004_735,
        net_in_speed=1_204_000,
        net_out_speed=3_110_000,
        load1=0.6,
        load5=0.5,
        load15=0.4,
        tcp_conn_count=388,
        udp_conn_count=12,
        process_count=187,
    )
    web2 = sim.add_server(
        "web-2",
        tag="prod",
        display_index=9,
        platform="ubuntu",
        platform_version="24.04",
        cpu_names=["Intel(R) Xeon(R) Platinum 8272CL CPU @ 2.60GHz 2 Virtual Core"],
        mem_total=4 * GIB,
        disk_total=40 * 10**9,
        swap_total=2 * GIB,
        boot_time=boot - 12 * 86400,
        ipv4="198.51.100.20",
        country_code="de",
        cpu=6.2,
        mem_used=int(1.7 * GIB),
        swap_used=180 * 1024**2,
        disk_used=17 * 10**9,
        net_in_speed=402_000,
        net_out_speed=950_000,
        tcp_conn_count=142,
    )
    gpu = sim.add_server(
        "gpu-lab",
        tag="lab",
        display_index=5,
        platform="ubuntu",
        platform_version="22.04",
        cpu_names=["13th Gen Intel(R) Core(TM) i9-13900K 32 Physical Core"],
        gpu_names=["NVIDIA GeForce RTX 4090"],
        mem_total=64 * GIB,
        disk_total=2 * 10**12,
        swap_total=8 * GIB,
        virtualization="",
        boot_time=boot - 3 * 86400,
        ipv4="",
        ipv6="2001:db8:42::7",
        country_code="us",
        cpu=41.0,
        mem_used=22 * GIB,
        disk_used=1_100 * 10**9,
        net_in_speed=88_000,
        net_out_speed=21_000,
        load1=13.1,
        load5=12.4,
        load15=11.8,
        process_count=412,
        temperatures=[
            ("coretemp_package_id_0", 61.0),
            ("coretemp_core_0", 58.0),
            ("nvme_composite", 44.85),
        ],
        gpu=73.0,
    )
    nas = sim.add_server(
        "nas",
        hide_for_guest=True,
        platform="debian",
        platform_version="12.7",
        cpu_names=["Cortex-A76 4 Physical Core"],
        arch="arm64",
        virtualization="",
        mem_total=8 * GIB,
        disk_total=8 * 10**12,
        boot_time=boot - 90 * 86400,
        ipv4="192.0.2.44",
        country_code="nl",
        temperatures=[("cpu_thermal", 52.6)],
    )
    sim.take_offline(nas.id)
    nas.last_report = now - 600
    sim.add_server("fresh-vps", tag="staging", reported=False)

    icmp1 = sim.add_monitor("ICMP 1.1.1.1")
    tcp = sim.add_monitor("TCP github.com:443")
    icmp2 = sim.add_monitor("ICMP 223.5.5.5")
    bases = {web1.id: (2.1, 38.5, 31.0), web2.id: (9.8, 21.4, 187.0)}
    bases |= {gpu.id: (14.2, 62.7, 201.3), nas.id: (6.4, 44.0, 240.9)}
    links = [
        _Link(monitor_id, server_id, base)
        for server_id, values in bases.items()
        for monitor_id, base in zip((icmp1, tcp, icmp2), values, strict=True)
    ]
    events = {
        (tcp, web2.id, _point_times(now - 240, now - 180)[0]): 0.0,
        (icmp1, gpu.id, _point_times(now - 7260, now - 7200)[0]): 1800.0,
    }
    fleet = DemoFleet(sim, links, seed=seed, events=events)
    fleet.record_history(now - HISTORY_WINDOW, now)
    if isinstance(sim, ServiceWorld):
        _add_v1_extras(sim, random.Random(seed))
    return fleet


DEMO_PAT_SCOPES = (
    "nezha:inventory:read",
    "nezha:service:read",
    "nezha:alertrule:read",
    "nezha:alertrule:write",
    "nezha:service:write",
    "nezha:cron:read",
    "nezha:cron:exec",
    "nezha:server:write",
)
"""The scopes of the demo's printed v2 PAT: everything a client reads, and the actions' writes
(alert rules and monitors on and off, running tasks, forcing agent updates)."""
DEMO_MEMBER = ("lab", "lab-password-1")
"""The demo's member user (a public demo value): it owns ``gpu-lab``."""
BILLING_WEB1 = (
    '{"billingDataMod":{"startDate":"2026-01-13T00:00:00+08:00","endDate":"2027-01-13T00:00:00+08:00",'
    '"autoRenewal":"1","cycle":"Year","amount":"$48"},"planDataMod":{"bandwidth":"1Gbps",'
    '"trafficVol":"10TB","trafficType":"2","IPv4":"1","IPv6":"1","networkRoute":"CN2 GIA"}}'
)
BILLING_WEB2 = (
    '{"billingDataMod":{"startDate":"2025-11-02T00:00:00+08:00","endDate":"0000-00-00T23:59:59+08:00",'
    '"autoRenewal":"0","cycle":"Month","amount":"0"},"planDataMod":{"trafficVol":"1TB","IPv4":"1"}}'
)


def _add_v1_extras(sim: ServiceWorld, rng: random.Random) -> None:
    """What only 1.x/2.x show: a member, billing notes, an HTTP monitor, stats, a near-full cycle,
    and the two tasks.

    ``web-1`` and ``web-2`` carry the billing JSON of NEZHA_API_DELTA.md §8; ``gpu-lab`` belongs to
    the member ``lab``; the HTTP monitor has no per-server series (as without TSDB); the monthly
    10 TiB cycle over ``web-1`` starts at 93 % used and fills with its traffic.
    """
    member = sim.add_user(*DEMO_MEMBER)
    names = {server.name: server for server in sim.servers.values()}
    names["gpu-lab"].owner_id = member.id
    names["web-1"].public_note = BILLING_WEB1
    names["web-2"].public_note = BILLING_WEB2
    names["nas"].note = "Home NAS behind the router"
    sim.add_monitor("HTTP https://example.com", kind="http")
    for monitor_id in sim.monitors:
        for day in range(30):
            down = 1 if rng.random() < 0.15 else 0
            delay = round(rng.uniform(20, 60), 2)
            sim.set_service_day(monitor_id, day, up=2880 - down, down=down, delay=delay)
        sim.set_service_current(monitor_id, up=30, down=0)
    quota = 10 * 1024**4
    start = datetime.fromtimestamp(sim.now, UTC).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    rule = sim.add_cycle_rule(
        "Monthly 10 TiB", max_bytes=quota, cycle_start=start, server_ids=[names["web-1"].id]
    )
    sim.set_cycle_transfer(rule, names["web-1"].id, int(quota * 0.93))
    if isinstance(sim, ActionsWorld):
        _add_tasks(sim, names)


def _add_tasks(sim: ActionsWorld, names: dict[str, SimServer]) -> None:
    """Two tasks that can be run by hand: one on the web servers, one everywhere but the NAS."""
    web = [names["web-1"].id, names["web-2"].id]
    sim.add_cron("Restart nginx", "systemctl restart nginx", web, cover=COVER_LISTED)
    sim.add_cron(
        "Clean package cache",
        "apt-get clean",
        [names["nas"].id],
        cover=COVER_ALL_BUT_LISTED,
        task_type=TASK_SCHEDULED,
        scheduler="0 0 4 * * *",
    )
