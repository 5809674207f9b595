"""Benchmark the v0 client against the in-process simulator: details polls and monitor rounds.

    scripts/bench [--servers 10,100,1000] [--rounds 20] [--latency 50] [--points 60] [--json]
    scripts/bench --quick

Client and simulator share one event loop (and process), so wall times include the simulator's
own work; the raw GET column is that share for the details poll. Peak RSS covers both as well.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
from pathlib import Path
import random
import resource
import statistics
import sys
import time
import types
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# custom_components/nezha/__init__.py imports Home Assistant (~80 MB RSS, ~0.6 s) that neither the
# client nor const.py needs: register the package without running it, so RSS is the client's.
_package = types.ModuleType("custom_components.nezha")
_package.__path__ = [str(ROOT / "custom_components" / "nezha")]
sys.modules.setdefault("custom_components.nezha", _package)

import aiohttp  # noqa: E402

from custom_components.nezha.api.transport import (  # noqa: E402
    MAX_CONCURRENT_REQUESTS as MONITOR_CONCURRENCY,
)
from custom_components.nezha.api.v0 import NezhaV0Client  # noqa: E402
from nezha_simulator import NezhaSimulator  # noqa: E402

TOKEN = "benchToken0123456789abcdefghijkl"
NOW = 1_750_000_000.0  # a frozen dashboard clock keeps the 24 h history window fixed


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def build(servers: int, points: int) -> NezhaSimulator:
    """A simulator with ``servers`` reporting servers, each with one ping monitor's history."""
    sim = NezhaSimulator(token=TOKEN, seed=0, now=NOW)
    monitor = sim.add_monitor("ICMP 1.1.1.1")
    rng = random.Random(0)
    for _ in range(servers):
        server = sim.add_server()
        for minute in range(points):
            sim.add_point(monitor, server.id, rng.uniform(5, 80), at=NOW - 60 * minute)
    return sim


async def details(
    session: aiohttp.ClientSession, sim: NezhaSimulator, client: NezhaV0Client, rounds: int
) -> dict[str, float]:
    """Time ``rounds`` raw GETs and client polls of the details endpoint, paired per round."""
    n = len(sim.servers)
    url, headers = f"{sim.url}/api/v1/server/details", {"Authorization": TOKEN}
    raw: list[float] = []
    polls: list[float] = []
    size = 0
    await client.async_get_servers()  # warm-up: connection, caches
    for _ in range(rounds):
        start = time.perf_counter()
        async with session.get(url, headers=headers) as response:
            size = len(await response.read())
        raw.append(time.perf_counter() - start)
        start = time.perf_counter()
        snapshot = await client.async_get_servers()
        polls.append(time.perf_counter() - start)
        if len(snapshot.servers) != n:
            raise RuntimeError(f"client saw {len(snapshot.servers)} of {n} servers")
    # Both fetch the same bytes; what the client spends beyond a raw GET is decoding and parsing.
    parse = statistics.median(p - r for p, r in zip(polls, raw, strict=True))
    return {
        "poll_median_ms": statistics.median(polls) * 1e3,
        "poll_p95_ms": p95(polls) * 1e3,
        "raw_get_median_ms": statistics.median(raw) * 1e3,
        "response_kib": size / 1024,
        "parse_us_per_server": max(parse, 0.0) / n * 1e6,
    }


async def monitor_round(client: NezhaV0Client, server_ids: list[int], points: int) -> float:
    """One full monitor round (the client bounds how many at once); returns its wall time."""

    async def fetch(server_id: int) -> int:
        snapshot = await client.async_get_monitors(server_id)
        return sum(monitor.point_count for monitor in snapshot.monitors.values())

    start = time.perf_counter()
    seen = await asyncio.gather(*(fetch(server_id) for server_id in server_ids))
    elapsed = time.perf_counter() - start
    expected = len(server_ids) * points
    if sum(seen) != expected:
        raise RuntimeError(f"monitor round saw {sum(seen)} points, not {expected}")
    return elapsed


async def bench_fleet(
    session: aiohttp.ClientSession, n: int, args: argparse.Namespace
) -> dict[str, Any]:
    """All figures for one fleet size, on a fresh simulator."""
    sim = build(n, args.points)
    await sim.start()
    try:
        client = NezhaV0Client(session, sim.url, TOKEN)
        row: dict[str, Any] = {"servers": n, **await details(session, sim, client, args.rounds)}
        ids = sorted(sim.servers)
        monitor_rounds = max(1, args.rounds // 10)
        for latency_ms, key in ((0.0, "monitor_round_s"), (args.latency, "monitor_round_lat_s")):
            sim.latency = latency_ms / 1e3
            times = [await monitor_round(client, ids, args.points) for _ in range(monitor_rounds)]
            row[key] = statistics.median(times)
            sim.latency = 0.0
        row["monitor_bound_s"] = math.ceil(n / MONITOR_CONCURRENCY) * args.latency / 1e3
        return row
    finally:
        await sim.stop()


def table(headers: list[str], rows: list[list[str]]) -> None:
    """Print right-aligned columns as wide as their headers (or values)."""
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    for line in [headers, *rows]:
        print("  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))


def print_table(rows: list[dict[str, Any]], args: argparse.Namespace, rss_mib: float) -> None:
    """Human-readable figures."""
    print(f"details poll: {args.rounds} polls per fleet, no added latency")
    headers = ["servers", "median ms", "p95 ms", "raw GET ms", "KiB", "parse µs/server"]
    keys = ["poll_median_ms", "poll_p95_ms", "raw_get_median_ms", "response_kib"]
    parse = "parse_us_per_server"
    table(
        headers,
        [[str(r["servers"]), *(f"{r[k]:.2f}" for k in keys), f"{r[parse]:.1f}"] for r in rows],
    )
    print(
        f"\nmonitor round: concurrency {MONITOR_CONCURRENCY}, 1 monitor x {args.points} points per"
        f" server, median of {max(1, args.rounds // 10)}; bound = ceil(n/{MONITOR_CONCURRENCY})"
        " x latency"
    )
    headers = ["servers", "0 ms: s", f"{args.latency:g} ms: s", "bound s", "ratio"]
    lines = []
    for r in rows:
        bound = r["monitor_bound_s"]
        ratio = f"{r['monitor_round_lat_s'] / bound:.2f}" if bound else "-"
        times = (r["monitor_round_s"], r["monitor_round_lat_s"], bound)
        lines.append([str(r["servers"]), *(f"{t:.3f}" for t in times), ratio])
    table(headers, lines)
    print(f"\npeak RSS (client + simulator, one process): {rss_mib:.1f} MiB")


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every fleet, on one session, within the overall time limit."""
    async with asyncio.timeout(args.timeout), aiohttp.ClientSession() as session:
        return [await bench_fleet(session, n, args) for n in args.servers]


# The simulator's Go-exact float32 JSON takes ~7 ms for a 24 h series (1440 points): with 1000
# servers that alone would be seconds per round, hence a shorter default series.
DEFAULTS = {"servers": "10,100,1000", "rounds": 20, "latency": 50.0, "points": 60}
QUICK = {"servers": "10,50", "rounds": 5, "latency": 20.0, "points": 30}


def parse_args() -> argparse.Namespace:
    """Command-line options; ``--quick`` changes the defaults, explicit options still win."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--servers", help=f"fleet sizes, comma-separated (default {DEFAULTS['servers']})")
    add("--rounds", type=int, help="details polls per fleet; monitor rounds are a tenth (20)")
    add("--latency", type=float, help="ms the simulator waits per request, monitor round (50)")
    add("--points", type=int, help="monitor points per server (60; 24 h would be 1440)")
    add("--timeout", type=float, default=120.0, help="give up after this many s (120)")
    add("--json", action="store_true", help="print JSON instead of tables")
    add("--quick", action="store_true", help=f"a tiny run: {QUICK}")
    args = parser.parse_args()
    for key, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.servers = [int(part) for part in args.servers.split(",")]
    if args.rounds < 1 or min(args.servers) < 1 or args.points < 1 or args.latency < 0:
        parser.error("--servers, --rounds and --points must be positive, --latency not negative")
    return args


def main() -> int:
    """Run, print, and exit 0 (1 on a timeout)."""
    args = parse_args()
    try:
        rows = asyncio.run(run(args))
    except TimeoutError:
        print(f"bench: gave up after {args.timeout:g} s", file=sys.stderr)
        return 1
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    if args.json:
        print(json.dumps({"fleets": rows, "peak_rss_mib": rss_mib, "options": vars(args)}))
    else:
        print_table(rows, args, rss_mib)
    return 0


if __name__ == "__main__":
    sys.exit(main())
