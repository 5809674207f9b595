"""The records of a simulated dashboard, after the Go ``model`` package: host, state, server, monitor.

They are plain mutable data that tests steer directly; ``NezhaWorld`` (``world.py``) holds them
and keeps them consistent. ``SimHost.to_json`` and ``SimStatus.to_json`` are the v0.20.13
PascalCase objects; 1.x/2.x render the same records in ``render_v1.py``.
"""

from dataclasses import dataclass, field
from typing import Literal, NamedTuple, TypedDict

from .gojson import Float32, GoJSON


class HostFields(TypedDict, total=False):
    """Keyword arguments that set ``SimHost`` fields (what the agent reports at connect)."""

    platform: str
    platform_version: str
    cpu_names: list[str]
    mem_total: int
    disk_total: int
    swap_total: int
    arch: str
    virtualization: str
    boot_time: int
    ipv4: str
    ipv6: str
    country_code: str
    agent_version: str
    gpu_names: list[str]


class StatusFields(TypedDict, total=False):
    """Keyword arguments that set ``SimStatus`` fields (what the agent reports every second)."""

    cpu: float
    mem_used: int
    swap_used: int
    disk_used: int
    net_in_transfer: int
    net_out_transfer: int
    net_in_speed: int
    net_out_speed: int
    uptime: int
    load1: float
    load5: float
    load15: float
    tcp_conn_count: int
    udp_conn_count: int
    process_count: int
    temperatures: list[tuple[str, float]]
    gpu: float


class ServerFields(HostFields, StatusFields, total=False):
    """Host and status keyword arguments of ``NezhaWorld.add_server``."""


@dataclass(slots=True)
class SimHost:
    """``model.Host``; the zero value is what a never-reported server shows."""

    platform: str = ""
    platform_version: str = ""
    cpu_names: list[str] = field(default_factory=list)
    mem_total: int = 0
    disk_total: int = 0
    swap_total: int = 0
    arch: str = ""
    virtualization: str = ""
    boot_time: int = 0
    ipv4: str = ""
    ipv6: str = ""
    country_code: str = ""
    agent_version: str = ""
    gpu_names: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, GoJSON]:
        """The ``host`` object, in Go field order; empty lists are Go nil slices (``null``)."""
        return {
            "Platform": self.platform,
            "PlatformVersion": self.platform_version,
            "CPU": list(self.cpu_names) or None,
            "MemTotal": self.mem_total,
            "DiskTotal": self.disk_total,
            "SwapTotal": self.swap_total,
            "Arch": self.arch,
            "Virtualization": self.virtualization,
            "BootTime": self.boot_time,
            "CountryCode": self.country_code,
            "Version": self.agent_version,
            "GPU": list(self.gpu_names) or None,
        }


@dataclass(slots=True)
class SimStatus:
    """``model.HostState``; the zero value is what a never-reported server shows."""

    cpu: float = 0.0
    mem_used: int = 0
    swap_used: int = 0
    disk_used: int = 0
    net_in_transfer: int = 0
    net_out_transfer: int = 0
    net_in_speed: int = 0
    net_out_speed: int = 0
    uptime: int = 0
    load1: float = 0.0
    load5: float = 0.0
    load15: float = 0.0
    tcp_conn_count: int = 0
    udp_conn_count: int = 0
    process_count: int = 0
    temperatures: list[tuple[str, float]] = field(default_factory=list)
    gpu: float = 0.0

    def to_json(self) -> dict[str, GoJSON]:
        """The ``status`` object, in Go field order; no temperatures is ``null``."""
        temperatures: list[GoJSON] = [
            {"Name": name, "Temperature": value} for name, value in self.temperatures
        ]
        return {
            "CPU": self.cpu,
            "MemUsed": self.mem_used,
            "SwapUsed": self.swap_used,
            "DiskUsed": self.disk_used,
            "NetInTransfer": self.net_in_transfer,
            "NetOutTransfer": self.net_out_transfer,
            "NetInSpeed": self.net_in_speed,
            "NetOutSpeed": self.net_out_speed,
            "Uptime": self.uptime,
            "Load1": self.load1,
            "Load5": self.load5,
            "Load15": self.load15,
            "TcpConnCount": self.tcp_conn_count,
            "UdpConnCount": self.udp_conn_count,
            "ProcessCount": self.process_count,
            "Temperatures": temperatures or None,
            "GPU": self.gpu,
        }


@dataclass
class SimServer:
    """One server of the dashboard. Fields may be mutated directly, except ``id``."""

    id: int
    name: str
    tag: str = ""
    display_index: int = 0
    hide_for_guest: bool = False
    host: SimHost = field(default_factory=SimHost)
    status: SimStatus = field(default_factory=SimStatus)
    reporting: bool = False
    """The agent is connected and reporting: ``last_active`` follows the dashboard clock."""
    last_report: float | None = None
    """Time of the last report while not ``reporting``; ``None`` = never reported."""
    agent_closed: bool = False
    """The agent's connection closed (its process stopped), not merely silent: 2.x zeroes the time."""
    tag_order: int = field(default=0, repr=False, compare=False)
    """Position in the dashboard's tag list: ``?tag=`` answers in this order."""
    owner_id: int = 1
    """The user who owns it (1.x/2.x; v0 has no owners). 1 is the admin."""
    public_note: str = ""
    """1.x/2.x ``public_note``: free text, often the billing JSON of NEZHA_API_DELTA.md §8."""
    note: str = ""
    """1.x/2.x admin-only ``note``."""


type MonitorKind = Literal["icmp", "tcp", "http"]


@dataclass
class SimMonitor:
    """A monitor. v0 ``/api/v1/monitor/:id`` shows only ICMP and TCP ones (the ones with points)."""

    id: int
    name: str
    kind: MonitorKind = "icmp"
    hide_for_guest: bool = False
    """2.x ``hide_for_guest``; on 1.x it means ``enable_show_in_service`` is off."""


class MonitorPoint(NamedTuple):
    """One ``monitor_histories`` row: the average latency of one round, as stored."""

    monitor_id: int
    at: float
    delay: Float32
    raw: float
    """The value before the v0 clamp and float32 rounding (1.x removed the clamp)."""
