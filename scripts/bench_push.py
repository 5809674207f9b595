"""The push half of ``scripts/bench`` (see bench_ha.py): live updates measured in one worker.

Imported by ``bench_ha.py --worker --push`` once Home Assistant runs with a 2.x entry whose stream
is up; the bench server streams a frame every ``--frame-ms`` with every value changed before each.
Then Home Assistant's floor for the same window (bench_floor.py): bare clones of the entities the
measured windows wrote, writing the states they showed before and after them.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
import time
from typing import Any

from bench_floor import (
    GcMeter,
    add_clones,
    capture,
    entry_entities,
    floor_writes,
    median_mean,
    reported,
    written_since,
)


async def measure_push(
    hass: Any, entry: Any, args: argparse.Namespace, writes: Callable[[], int], meter: GcMeter
) -> dict[str, Any]:
    """Loop CPU and state writes while the stream sends a frame every ``args.frame_ms``.

    Every value of every server changes before each frame (bench_server.py), so each frame makes
    every server's entities due; they are told at most once per ``scan_interval`` window. Timed
    apart: decoding a frame (JSON and models) and comparing it with the data held, i.e.
    ``decode_frame`` plus ``async_apply_frame`` less the entity updates it calls. A frame's own
    work is its ``decode_frame`` plus its ``async_apply_frame`` (the first pass of entity updates
    and writes it causes included), timed around those calls, so other loop work between two
    frames (a monitor round, HA's own timers) is not in it; the passes of entity updates it leaves
    for later passes of the loop (coordinator/base.py ``SERVERS_PER_PASS``) are timed each. The
    worst of these is the longest a frame holds the event loop. Beside it, all loop CPU from one
    frame's decoding to the next's, whatever ran then (GC apart in both).
    """
    from custom_components.nezha.api import stream as stream_module

    live = entry.runtime_data.live
    coordinator = entry.runtime_data.servers
    decode_cpu = apply_cpu = listeners_cpu = 0.0
    decode, apply, listeners = (
        stream_module.decode_frame,
        coordinator.async_apply_frame,
        coordinator.async_update_listeners,
    )

    frames_cpu: list[float] = []
    frame_mark: tuple[float, float, int] | None = None
    frames_own: list[float] = []  # per frame: its decode + apply (its first pass of writes)
    later_passes: list[float] = []  # the passes of entity updates a frame leaves for later
    last_decode = 0.0
    applying = False
    run_pass = coordinator._run_pass

    def timed_decode(data: Any) -> Any:
        nonlocal decode_cpu, frame_mark, last_decode
        if frame_mark is not None:
            frames_cpu.append(meter.since(frame_mark).cpu)
        frame_mark = meter.mark()
        start = time.thread_time()
        try:
            return decode(data)
        finally:
            decode_cpu += time.thread_time() - start
            last_decode = meter.since(frame_mark).cpu

    def timed_apply(frame: Any) -> None:
        nonlocal apply_cpu, applying
        start, own, applying = time.thread_time(), meter.mark(), True
        try:
            apply(frame)
        finally:
            applying = False
            apply_cpu += time.thread_time() - start
            frames_own.append(last_decode + meter.since(own).cpu)

    def timed_pass(*args: Any, **kwargs: Any) -> None:
        if applying:  # the first pass, timed with its frame
            run_pass(*args, **kwargs)
            return
        mark = meter.mark()
        try:
            run_pass(*args, **kwargs)
        finally:
            later_passes.append(meter.since(mark).cpu)

    def timed_listeners() -> None:
        nonlocal listeners_cpu
        start = time.thread_time()
        try:
            listeners()
        finally:
            listeners_cpu += time.thread_time() - start

    deadline = time.monotonic() + 30
    while live.state.connected_since is None:
        if time.monotonic() > deadline:
            raise SystemExit("bench: the stream did not connect")
        await asyncio.sleep(0.05)
    await asyncio.sleep(args.push_scan)  # a first window, with the set-up's writes in it
    entities = entry_entities(hass, entry)
    before = capture(entities)
    at = reported(hass, before)
    stream_module.decode_frame = timed_decode
    coordinator.async_apply_frame = timed_apply
    coordinator.async_update_listeners = timed_listeners
    coordinator._run_pass = timed_pass
    frames_before, writes_before = live.state.frames_received, writes()
    mark, wall = meter.mark(), time.perf_counter()
    await asyncio.sleep(args.push_scan * args.push_windows)
    span, wall = meter.since(mark), time.perf_counter() - wall
    if frame_mark is not None:
        frames_cpu.append(meter.since(frame_mark).cpu)
    frames = live.state.frames_received - frames_before
    stream_module.decode_frame = decode
    coordinator.async_apply_frame = apply
    coordinator.async_update_listeners = listeners
    del coordinator._run_pass
    windows = wall / args.push_scan
    window_writes = (writes() - writes_before) / windows
    parse_compare_ms = (decode_cpu + apply_cpu - listeners_cpu) * 1e3 / max(frames, 1)

    # The floor: the entities these windows wrote, as bare clones writing the same states. Only
    # the writes are timed (no await in them, so no frame lands inside).
    written = set(written_since(hass, at))
    originals = [entity for entity in entities if entity.entity_id in written]
    pairs = await add_clones(hass, entry, originals, before)
    await hass.async_block_till_done()
    shown = (before, capture(originals))
    floor = await floor_writes(hass, pairs, shown, args.polls, meter, settle=False)
    floor_write, floor_mean = median_mean(one.cpu for one in floor)
    floor_window = floor_write * window_writes / max(len(pairs), 1)
    return {
        "push_frames": frames,
        "push_parse_compare_ms": parse_compare_ms,
        "push_core_percent": parse_compare_ms / args.frame_ms * 100,
        "push_loop_cpu_ms": span.cpu * 1e3 / max(frames, 1),
        "push_worst_frame_ms": max(frames_cpu, default=0.0) * 1e3,
        "push_worst_frame_own_ms": max(frames_own, default=0.0) * 1e3,
        "push_worst_later_pass_ms": max(later_passes, default=0.0) * 1e3,
        "push_gc_ms_per_window": span.gc * 1e3 / windows,
        "push_full_gc_per_window": span.full / windows,
        "push_writes_per_window": window_writes,
        "push_window_cpu_ms": span.cpu * 1e3 / windows,
        "push_floor_ms": floor_window * 1e3,
        "push_floor_mean_ms": floor_mean * window_writes / max(len(pairs), 1) * 1e3,
        "push_floor_writes": len(pairs),
    }
