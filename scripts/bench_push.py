"""The push half of ``scripts/bench`` (see bench_ha.py): live updates measured in one worker.

Imported by ``bench_ha.py --worker --push`` once Home Assistant runs with a 2.x entry whose stream
is up; the bench server streams a frame every ``--frame-ms`` with every value changed before each.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
import time
from typing import Any


async def measure_push(
    hass: Any, entry: Any, args: argparse.Namespace, writes: Callable[[], int]
) -> dict[str, Any]:
    """Loop CPU and state writes while the stream sends a frame every ``args.frame_ms``.

    Every value of every server changes before each frame (bench_server.py), so each frame makes
    every server's entities due; they are told at most once per ``scan_interval`` window. Timed
    apart: decoding a frame (JSON and models) and comparing it with the data held, i.e.
    ``decode_frame`` plus ``async_apply_frame`` less the entity updates it calls.
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

    def timed_decode(data: Any) -> Any:
        nonlocal decode_cpu
        start = time.thread_time()
        try:
            return decode(data)
        finally:
            decode_cpu += time.thread_time() - start

    def timed_apply(frame: Any) -> None:
        nonlocal apply_cpu
        start = time.thread_time()
        try:
            apply(frame)
        finally:
            apply_cpu += time.thread_time() - start

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
    stream_module.decode_frame = timed_decode
    coordinator.async_apply_frame = timed_apply
    coordinator.async_update_listeners = timed_listeners
    frames_before, writes_before = live.state.frames_received, writes()
    cpu, wall = time.thread_time(), time.perf_counter()
    await asyncio.sleep(args.push_scan * args.push_windows)
    cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
    frames = live.state.frames_received - frames_before
    stream_module.decode_frame = decode
    windows = wall / args.push_scan
    parse_compare_ms = (decode_cpu + apply_cpu - listeners_cpu) * 1e3 / max(frames, 1)
    return {
        "push_frames": frames,
        "push_parse_compare_ms": parse_compare_ms,
        "push_core_percent": parse_compare_ms / args.frame_ms * 100,
        "push_loop_cpu_ms": cpu * 1e3 / max(frames, 1),
        "push_writes_per_window": (writes() - writes_before) / windows,
    }
