"""Benchmark the integration in Home Assistant, side by side with a baseline commit's code.

    scripts/bench [--servers 10,100,1000] [--latency 20] [--polls 5] [--baseline 0186942]

For each fleet size, each code tree (the baseline's git worktree, then this checkout) is set up in
a fresh process: an in-process Home Assistant like the test harness's (no recorder, no frontend,
registries in memory), every entity enabled (HA's cap of 10,000 enabled entities per entry lifted,
so 1,000 servers have all theirs), against ``scripts/bench_server.py``, the simulator in
a process of its own (its CPU is printed apart). Measured per poll: event-loop CPU (the loop
thread's CPU time while the poll runs, state writes and their listeners included), state writes
(``state_changed`` + ``state_reported`` events), the monitor round's wall time against its floor
``ceil(servers / concurrency) x latency``, the integration's own memory per server (tracemalloc:
what a servers poll and a monitor round allocate and keep, from the client and the coordinators)
and the process's RSS (printed only: read after the tracemalloc snapshot, Home Assistant included),
and the longest stretch a changed poll's entity updates hold the event loop (the notification after
the poll, and each pass of updates it leaves for later passes of the loop).
Loop CPU is printed with the garbage collector's time taken out (``gc.callbacks``), median beside
mean, and that time apart, with the full collections per 100 changed polls: a full collection of
Home Assistant's heap takes up to seconds and lands in some polls only, which moves a median.

Then, in the same process (bench_floor.py): one more changed poll, counted (``SensorEntity.state``
evaluations per written sensor, entity callbacks per write, with ``sys.monitoring``; nothing in the
integration is patched), and Home Assistant's floor for it: bare clones of the entities that poll
wrote (plain sensors and binary sensors, with their descriptions, devices and ``_attr_*``), added to
the entry's platforms and written with ``async_write_ha_state`` with the states the poll wrote. A
changed poll's loop CPU over the floor's is what the integration costs beyond Home Assistant's
own write path. Also counted: the memory blocks the integration's code keeps from one poll.

Then this checkout alone, live (``push:`` rows): the same fleet shown as a 2.x dashboard that
streams a frame every ``--frame-ms`` (2 s, as real dashboards do) with every value of every server
changed before each frame (the worst case: real agents report every ~3 s, so many frames repeat),
and ``scan_interval`` = ``--push-scan`` (30 s, the default), for ``--push-windows`` windows. Timed:
a frame's decoding and comparison (CPU per frame, and as a share of one core), all loop CPU per
frame (entity updates included) on average; the worst frame's own loop CPU (the frame handler
timed: its decoding, its comparison and the first pass of entity writes it causes, not other
loop work such as a monitor round that lands between two frames), the worst of the passes of
entity writes a frame leaves for later passes of the loop (``SERVERS_PER_PASS`` servers each) and the worst span from one frame to the next
(everything the loop ran then); state writes per window
beside a changed poll's; the window's loop CPU over the floor of the writes it made.
"""

from __future__ import annotations

import argparse
import asyncio
from functools import partial
import json
import math
from pathlib import Path
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from typing import Any
from unittest.mock import PropertyMock, patch

# Beside this file (scripts/ is first on sys.path).
from bench_floor import GcMeter, kept_blocks, median_mean, poll_floor
from bench_push import measure_push

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BASELINE = ROOT / ".develop" / "bench-baseline"


async def control(url: str, command: str, method: str = "POST") -> dict[str, Any]:
    """One command to the bench server."""
    import aiohttp

    async with aiohttp.ClientSession() as session, session.request(method, url + command) as r:
        result: dict[str, Any] = await r.json()
        return result


def rss_mib() -> float:
    """This process's resident memory now."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


async def worker(args: argparse.Namespace) -> dict[str, Any]:
    """Set up the integration from ``args.code`` and measure its polls."""
    from aiohttp.resolver import ThreadedResolver
    from homeassistant import loader
    from homeassistant.const import (
        CONF_API_TOKEN,
        CONF_URL,
        CONF_VERIFY_SSL,
        EVENT_STATE_CHANGED,
        EVENT_STATE_REPORTED,
    )
    from homeassistant.core import Event, callback
    from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
        MockConfigEntry,
        async_test_home_assistant,
        mock_storage,
    )

    nezha_dir = str(Path(args.code) / "custom_components" / "nezha")
    writes = 0

    @callback
    def count(_: Event) -> None:
        nonlocal writes
        writes += 1

    @callback
    def every(_: object) -> bool:
        return True

    result: dict[str, Any] = {"servers": args.servers}
    if args.push:
        data = {CONF_URL: args.url, CONF_API_TOKEN: args.token, CONF_VERIFY_SSL: True, "api": "v2"}
        options = {"scan_interval": args.push_scan}
    else:
        data = {CONF_URL: args.url, CONF_API_TOKEN: args.token, CONF_VERIFY_SSL: True, "api": "v0"}
        options = {}
    with (
        mock_storage(),
        tempfile.TemporaryDirectory() as config_dir,
        patch(
            "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
            new_callable=PropertyMock,
            return_value=True,
        ),
        # Every entity of 1,000 servers is ~27,000: past HA's cap of 10,000 enabled entities per
        # entry, which would leave a different part of the fleet out of each tree's figures.
        patch("homeassistant.helpers.entity_platform.MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY", 10**6),
        # As the harness does: no zeroconf (and so no network integration) behind the resolver.
        patch(
            "homeassistant.helpers.aiohttp_client._async_make_resolver",
            return_value=ThreadedResolver(),
        ),
    ):
        async with async_test_home_assistant(config_dir=config_dir) as hass:
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)  # what enable_custom_integrations does
            entry = MockConfigEntry(domain="nezha", title="bench", data=data, options=options)
            entry.add_to_hass(hass)
            start = time.perf_counter()
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            result["setup_s"] = time.perf_counter() - start
            # Monitors and /service are first read in the background; the rest measures an entry
            # that has read them (and their entities).
            if first := [t for t in asyncio.all_tasks() if t.get_name().startswith("nezha first")]:
                await asyncio.wait(first)
                await hass.async_block_till_done()
            result["entities"] = len(hass.states.async_entity_ids())
            for kind in (EVENT_STATE_CHANGED, EVENT_STATE_REPORTED):
                hass.bus.async_listen(kind, count, event_filter=every)
            servers, monitors = entry.runtime_data.servers, entry.runtime_data.monitors
            meter = GcMeter()
            meter.install()
            if args.push:
                result |= await measure_push(hass, entry, args, lambda: writes, meter)
                await hass.config_entries.async_unload(entry.entry_id)
                return result

            async def measure(refresh: Any) -> tuple[float, int, float, float, float]:
                """Loop CPU (GC apart), writes, wall time, simulator CPU, GC of one refresh."""
                nonlocal writes
                sim_before = (await control(args.control, "/stats", "GET"))["cpu_s"]
                writes = 0
                mark, wall = meter.mark(), time.perf_counter()
                await refresh()
                await hass.async_block_till_done()
                span, wall = meter.since(mark), time.perf_counter() - wall
                sim = (await control(args.control, "/stats", "GET"))["cpu_s"] - sim_before
                return span.cpu, writes, wall, sim, span.gc

            await servers.async_refresh()  # settle: the first poll after set-up
            await hass.async_block_till_done()
            stretches = time_update_stretches(servers, meter)
            for name, prepare in (("unchanged", None), ("changed", "/change")):
                stretches.clear()
                rows = []
                full = meter.full
                for _ in range(args.polls):
                    if prepare:
                        await control(args.control, prepare)
                    rows.append(await measure(servers.async_refresh))
                cpu, cpu_mean = median_mean(r[0] for r in rows)
                collected, collected_mean = median_mean(r[4] for r in rows)
                result[f"{name}_cpu_ms"], result[f"{name}_cpu_mean_ms"] = cpu * 1e3, cpu_mean * 1e3
                result[f"{name}_gc_ms"] = collected * 1e3
                result[f"{name}_gc_mean_ms"] = collected_mean * 1e3
                result[f"{name}_full_gc_per_100"] = (meter.full - full) * 100 / args.polls
                result[f"{name}_writes"] = statistics.median(r[1] for r in rows)
                result[f"{name}_sim_cpu_ms"] = statistics.median(r[3] for r in rows) * 1e3
                result[f"{name}_longest_stretch_ms"] = max(stretches, default=0.0) * 1e3
            del servers.async_update_listeners
            if "_run_pass" in vars(servers):
                del servers._run_pass
            rounds = []
            for _ in range(args.rounds):
                await control(args.control, "/reset")
                rounds.append(await measure(monitors.async_refresh))
            result["round_wall_s"] = statistics.median(r[2] for r in rounds)
            result["round_cpu_ms"] = statistics.median(r[0] for r in rounds) * 1e3
            result["round_writes"] = statistics.median(r[1] for r in rounds)
            result["round_sim_cpu_ms"] = statistics.median(r[3] for r in rounds) * 1e3
            stats = await control(args.control, "/stats", "GET")
            result["round_requests"] = stats["requests"]  # of the last round (reset before it)
            result["in_flight_max"] = stats["in_flight_max"]

            # What the integration keeps: allocated by its client and coordinators during one
            # servers poll and one monitor round (the data they replace is freed), still alive.
            tracemalloc.start(64)
            await servers.async_refresh()
            await monitors.async_refresh()
            await hass.async_block_till_done()
            snapshot = tracemalloc.take_snapshot()
            tracemalloc.stop()
            own = ("/api/", "/coordinator.py", "/monitors.py", "/coordinator/")  # then, now
            kept = sum(
                trace.size
                for trace in snapshot.traces
                if any(
                    frame.filename.startswith(nezha_dir)
                    and frame.filename.removeprefix(nezha_dir).startswith(own)
                    for frame in trace.traceback
                )
            )
            result["kib_per_server"] = kept / 1024 / args.servers
            result["rss_mib"] = rss_mib()

            async def change_every_server() -> None:
                await control(args.control, "/change")

            async def refresh() -> None:
                await servers.async_refresh()
                await hass.async_block_till_done()

            async def poll(change: bool) -> None:
                if change:
                    await change_every_server()
                await refresh()

            for name, change in (("unchanged", False), ("changed", True)):
                result[f"{name}_kept_blocks"] = await kept_blocks(nezha_dir, partial(poll, change))

            # Last (its clones stay on the entry's platforms): HA's own cost for the same writes.
            result |= await poll_floor(
                hass,
                entry,
                nezha_dir,
                change=change_every_server,
                poll=refresh,
                writes=lambda: writes,
                rounds=args.polls,
                meter=meter,
            )
            await hass.config_entries.async_unload(entry.entry_id)
    return result


def time_update_stretches(servers: Any, meter: GcMeter) -> list[float]:
    """Loop CPU of each stretch of entity updates a poll holds the event loop for (GC apart).

    The notification after a poll, timed whole (in the baseline it updates every entity at once;
    now it is the first pass), and each pass of updates it leaves for later passes of the loop.
    """
    stretches: list[float] = []
    notify, run_pass = servers.async_update_listeners, getattr(servers, "_run_pass", None)
    notifying = False

    def timed_notify() -> None:
        nonlocal notifying
        mark, notifying = meter.mark(), True
        try:
            notify()
        finally:
            notifying = False
            stretches.append(meter.since(mark).cpu)

    def timed_pass(*args: Any, **kwargs: Any) -> None:
        assert run_pass is not None
        if notifying:
            run_pass(*args, **kwargs)
            return
        mark = meter.mark()
        try:
            run_pass(*args, **kwargs)
        finally:
            stretches.append(meter.since(mark).cpu)

    servers.async_update_listeners = timed_notify
    if run_pass is not None:
        servers._run_pass = timed_pass
    return stretches


def run_worker(
    code: Path, server: dict[str, str], n: int, args: argparse.Namespace, *, push: bool = False
) -> Any:
    """One code tree at one fleet size, in a fresh process with that tree first on sys.path."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        "--code",
        str(code),
        "--url",
        server["url"],
        "--control",
        server["control"],
        "--token",
        server["token"],
        "--servers",
        str(n),
        "--polls",
        str(args.polls),
        "--rounds",
        str(args.rounds),
        "--push-scan",
        str(args.push_scan),
        "--push-windows",
        str(args.push_windows),
        "--frame-ms",
        str(args.frame_ms),
        *(["--push"] if push else []),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=code)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"bench: the worker for {code} failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def cpu(kind: str) -> tuple[str, str]:
    """The keys of a kind's loop CPU, median and mean (GC apart)."""
    return f"{kind}_cpu_ms", f"{kind}_cpu_mean_ms"


def table(n: int, latency: float, rows: dict[str, dict[str, Any]], limits: dict[str, int]) -> None:
    """One fleet's figures, baseline and now side by side."""
    names = [name for name in rows if name != "push"]
    first = rows[names[0]]
    print(
        f"\nN = {n} servers, {first['entities']} entities, {latency:g} ms per request", flush=True
    )
    lines: list[tuple[str, ...]] = [("", *names)]

    def add(label: str, fmt: str, *keys: str) -> None:
        lines.append((label, *(fmt.format(*(rows[name][k] for k in keys)) for name in names)))

    def ratio(row: dict[str, Any]) -> str:
        return f"{row['paired_cpu_ms'] / row['floor_cpu_ms']:.2f}x"

    add("unchanged poll: loop CPU ms, median / mean", "{:.1f} / {:.1f}", *cpu("unchanged"))
    add("unchanged poll: state writes", "{:.0f}", "unchanged_writes")
    add("changed poll: loop CPU ms, median / mean", "{:.1f} / {:.1f}", *cpu("changed"))
    add(
        "changed poll: GC ms, median / mean",
        "{:.1f} / {:.1f}",
        "changed_gc_ms",
        "changed_gc_mean_ms",
    )
    add("changed poll: full GC collections per 100", "{:.0f}", "changed_full_gc_per_100")
    add("changed poll: state writes", "{:.0f}", "changed_writes")
    add("changed poll: longest stretch of updates, ms", "{:.1f}", "changed_longest_stretch_ms")
    add("in turn: changed poll, loop CPU ms, median / mean", "{:.1f} / {:.1f}", *cpu("paired"))
    add("in turn: floor, HA's loop CPU ms, median / mean", "{:.1f} / {:.1f}", *cpu("floor"))
    add("floor: state writes", "{:.0f}", "floor_writes")
    add("floor: states identical to the poll's", "{:.0f}", "floor_same_states")
    lines.append(
        ("in turn: changed poll / floor (medians)", *(ratio(rows[name]) for name in names))
    )
    add("floor: giving the clones their values, ms", "{:.1f}", "floor_given_ms")

    def given_ratio(row: dict[str, Any]) -> str:
        return f"{row['paired_cpu_ms'] / (row['floor_cpu_ms'] + row['floor_given_ms']):.2f}x"

    lines.append(
        (
            "in turn: changed poll / (floor + values given)",
            *(given_ratio(rows[name]) for name in names),
        )
    )
    add("SensorEntity.state per written sensor", "{:.2f}", "state_per_sensor")
    add("  the same, floor", "{:.2f}", "floor_state_per_sensor")
    add("entity callbacks per changed poll / writes", "{:.2f}", "callbacks_per_write")
    add("kept blocks (integration's): unchanged poll", "{:.0f}", "unchanged_kept_blocks")
    add("kept blocks (integration's): changed poll", "{:.0f}", "changed_kept_blocks")
    add("monitor round: wall s", "{:.2f}", "round_wall_s")
    floors = []
    for name in names:
        polled = rows[name]["round_requests"]
        floors.append(f"{math.ceil(polled / limits[name]) * latency / 1000:.2f}")
    lines.append(("monitor round: floor s (ceil(n/C) x RTT)", *floors))
    lines.append(("monitor round: C (requests at once)", *(str(limits[x]) for x in names)))
    add("monitor round: most in flight", "{}", "in_flight_max")
    add("monitor round: loop CPU ms", "{:.0f}", "round_cpu_ms")
    add("monitor round: state writes", "{:.0f}", "round_writes")
    add("integration data KiB/server", "{:.1f}", "kib_per_server")
    add("process RSS MiB", "{:.0f}", "rss_mib")
    add("simulator CPU ms: unchanged poll", "{:.1f}", "unchanged_sim_cpu_ms")
    add("simulator CPU ms: monitor round", "{:.0f}", "round_sim_cpu_ms")
    add("set-up s", "{:.1f}", "setup_s")
    if push := rows.get("push"):

        def push_row(label: str, value: str) -> None:
            lines.append((label, *(value if name == "now" else "–" for name in names)))

        push_row("push: frames measured", f"{push['push_frames']}")
        push_row("push: frame parse + compare ms", f"{push['push_parse_compare_ms']:.1f}")
        push_row("push: parse + compare, % of one core", f"{push['push_core_percent']:.2f}")
        push_row("push: loop CPU ms per frame (all)", f"{push['push_loop_cpu_ms']:.1f}")
        push_row("push: worst frame, own loop CPU ms", f"{push['push_worst_frame_own_ms']:.1f}")
        push_row("push: worst later pass, loop CPU ms", f"{push['push_worst_later_pass_ms']:.1f}")
        push_row("push: worst frame-to-frame, loop CPU ms", f"{push['push_worst_frame_ms']:.1f}")
        push_row("push: GC ms per scan_interval", f"{push['push_gc_ms_per_window']:.0f}")
        push_row("push: full GC per scan_interval", f"{push['push_full_gc_per_window']:.2f}")
        push_row("push: loop CPU ms per scan_interval", f"{push['push_window_cpu_ms']:.0f}")
        push_row(
            "push: floor ms for its writes, median / mean",
            f"{push['push_floor_ms']:.0f} / {push['push_floor_mean_ms']:.0f}",
        )
        push_row(
            "push: window / floor",
            f"{push['push_window_cpu_ms'] / push['push_floor_ms']:.2f}x",
        )
        push_row(
            "push: state writes per scan_interval",
            f"{push['push_writes_per_window']:.0f}",
        )
        lines.append(
            (
                "poll: state writes per scan_interval",
                *(f"{rows[name]['changed_writes']:.0f}" for name in names),
            )
        )
        push_row(
            "push: state writes per minute",
            f"{push['push_writes_per_window'] * 60 / push['push_scan']:.0f}",
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    for line in lines:
        print(
            "  ".join(
                cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i])
                for i, cell in enumerate(line)
            ),
            flush=True,
        )


def driver(args: argparse.Namespace) -> int:
    """Start the bench server, run every fleet size with both code trees, print the tables."""
    trees = {"baseline": Path(args.baseline_tree), "now": ROOT}
    if not (trees["baseline"] / "custom_components" / "nezha").is_dir():
        raise SystemExit(f"bench: no baseline tree at {trees['baseline']} (scripts/bench makes it)")
    limits = {"baseline": 5, "now": 10}  # MONITOR_CONCURRENCY then, MAX_CONCURRENT_REQUESTS now
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "bench_server.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        info = json.loads(server.stdout.readline())
        asyncio.run(control(info["control"], f"/latency?ms={args.latency}"))
        print(
            f"scripts/bench: baseline {args.baseline} vs this checkout; Home Assistant in-process"
            " (recorder off), simulator in its own process; medians of"
            f" {args.polls} polls and {args.rounds} monitor rounds",
            flush=True,
        )
        for n in args.servers:
            asyncio.run(control(info["control"], f"/fleet?servers={n}&points={args.points}"))
            rows = {name: run_worker(tree, info, n, args) for name, tree in trees.items()}
            streamed = asyncio.run(control(info["control"], f"/stream?frame_ms={args.frame_ms}"))
            rows["push"] = run_worker(ROOT, info | streamed, n, args, push=True)
            rows["push"]["push_scan"] = args.push_scan
            table(n, args.latency, rows, limits)
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=30)
    return 0


def parse_args() -> argparse.Namespace:
    """Options for the driver and (``--worker``) for one measured process."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="'push: worst frame, own loop CPU' times the frame handler itself (a frame's"
        " decoding, comparison and the first pass of entity writes it causes), 'worst later"
        " pass' each pass of writes it leaves for later; 'worst frame-to-frame' is all"
        " loop CPU between two frames, other work such as a monitor round included.",
    )
    add = parser.add_argument
    add("--servers", default="10,100,1000", help="fleet sizes, comma-separated (10,100,1000)")
    add("--latency", type=float, default=20.0, help="ms the dashboard waits per request (20)")
    add("--polls", type=int, default=10, help="details polls measured per kind (10)")
    add("--rounds", type=int, default=2, help="monitor rounds measured (2)")
    add("--points", type=int, default=1440, help="points per monitor series (1440: 24 h)")
    add("--baseline", default="0186942", help="the baseline commit (0186942)")
    add("--frame-ms", type=float, default=2000, help="ms between stream frames (2000)")
    add("--push-scan", type=float, default=30.0, help="scan_interval s of the push run (30)")
    add("--push-windows", type=int, default=2, help="scan_interval windows measured (2)")
    add("--push", action="store_true", help=argparse.SUPPRESS)
    add("--baseline-tree", default=str(DEFAULT_BASELINE), help="its worktree")
    add("--worker", action="store_true", help=argparse.SUPPRESS)
    for hidden in ("--code", "--url", "--control", "--token"):
        add(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if isinstance(args.servers, str):
        args.servers = [int(part) for part in args.servers.split(",")]
    return args


def main() -> int:
    """The driver, or one worker (which prints its figures as JSON)."""
    args = parse_args()
    if not args.worker:
        return driver(args)
    args.servers = args.servers[0]
    sys.path.insert(0, args.code)
    import custom_components.nezha  # noqa: F401 - this tree's, before HA looks

    print(json.dumps(asyncio.run(worker(args))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
