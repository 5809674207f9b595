"""A simulated Nezha v0 (v0.20.13) dashboard API for tests, benchmarks and demos."""

from .agents import Restart
from .app import Generation, NezhaSimulator, SimRequest
from .demo import DemoFleet, build_demo_fleet
from .gojson import Float32, dumps
from .model import (
    HostFields,
    MonitorPoint,
    ServerFields,
    SimHost,
    SimMonitor,
    SimServer,
    SimStatus,
    StatusFields,
)
from .world import HISTORY_WINDOW, MAX_PING_MS, NEVER_ACTIVE, NezhaWorld

__all__ = [
    "HISTORY_WINDOW",
    "MAX_PING_MS",
    "NEVER_ACTIVE",
    "DemoFleet",
    "Float32",
    "Generation",
    "HostFields",
    "MonitorPoint",
    "NezhaSimulator",
    "NezhaWorld",
    "Restart",
    "ServerFields",
    "SimHost",
    "SimMonitor",
    "SimRequest",
    "SimServer",
    "SimStatus",
    "StatusFields",
    "build_demo_fleet",
    "dumps",
]
