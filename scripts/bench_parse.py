"""Micro-benchmark of the client's reading of a server list: decoding and parsing, no network.

    scripts/bench_parse [--servers 1000] [--runs 40] [--baseline REV]

Each case is built from the recorded real answers (``tests/fixtures/real_answers/``): one real
server copied ``--servers`` times with its own id, name and figures. The cases are what the
event loop spends per poll or frame at that size:

* ``v0 details``: a 0.x ``/api/v1/server/details`` answer, decoded and every server parsed;
* ``2.x list``: a 2.x ``/api/v1/server`` body (the ``data`` list), decoded and parsed;
* ``..., parse only``: the same without decoding (the standard library's ``json`` decodes both);
* ``2.x frame, times``: a ``/ws/server`` frame decoded and every server's last report read
  (what most frames need);
* ``2.x frame, all``: the same, with every server parsed too (a frame where all are compared).

Figures are the median of ``--runs`` runs, in microseconds per server, for this checkout and,
when ``--baseline-dir`` names a copy of an older ``custom_components/nezha/api`` (the shell
wrapper makes one from ``--baseline REV``, default ``5703f24``), for that copy side by side, after
checking that both read every server the same.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
import copy
from dataclasses import asdict
import importlib.util
import json
from pathlib import Path
import random
import statistics
import sys
import time
import types
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "real_answers"

Case = Callable[[], list[Any]]


def load_api(name: str, folder: Path) -> types.ModuleType:
    """The api package in ``folder`` imported as ``name`` (so two copies can sit side by side)."""
    spec = importlib.util.spec_from_file_location(
        name, folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    if spec is None or spec.loader is None:
        raise SystemExit(f"no api package in {folder}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    for part in ("parsing", "v0", "v1_parse", "stream"):
        importlib.import_module(f"{name}.{part}")
    return module


def recorded(version: str, answer: str) -> Any:
    """One recorded answer's JSON (``body``, or ``frames`` of a websocket)."""
    data = json.loads((FIXTURES / version / f"{answer}.json").read_text())
    return data.get("body", data.get("frames"))


def vary(server: Mapping[str, Any], server_id: int, rng: random.Random) -> dict[str, Any]:
    """A copy of ``server`` with its own id and name, and each figure moved a little."""
    item = copy.deepcopy(dict(server))
    item["id"] = server_id
    item["name"] = f"server-{server_id}"
    for key in ("status", "state"):
        figures = item.get(key)
        if not isinstance(figures, dict):
            continue
        for field, value in figures.items():
            if isinstance(value, float):
                figures[field] = round(value * rng.uniform(0.5, 1.5), 2)
            elif isinstance(value, int) and value and not isinstance(value, bool):
                figures[field] = value + rng.randrange(1000)
    if isinstance(item.get("last_active"), str):
        # A frame's times have nanoseconds and the dashboard's offset.
        item["last_active"] = (
            f"2026-12-06T23:58:{rng.randrange(60):02}.{rng.randrange(10**9):09}+08:00"
        )
    return item


def fleet(server: Mapping[str, Any], count: int) -> list[dict[str, Any]]:
    """``count`` varied copies of ``server``, in a random order as dashboards send them."""
    rng = random.Random(count)
    items = [vary(server, server_id, rng) for server_id in range(1, count + 1)]
    rng.shuffle(items)
    return items


def cases(api: str, count: int) -> dict[str, Case]:
    """Each case as a function of no arguments returning what it read (to compare copies)."""
    parsing = sys.modules[f"{api}.parsing"]
    v0 = sys.modules[f"{api}.v0"]
    v1_parse = sys.modules[f"{api}.v1_parse"]
    stream = sys.modules[f"{api}.stream"]
    details = json.dumps(
        {
            "code": 0,
            "message": "success",
            "result": fleet(recorded("v0.20.13", "server_details")["result"][0], count),
        }
    ).encode()
    listed = json.dumps(
        {"success": True, "data": fleet(recorded("v2.3.7", "server_pat")["data"][0], count)}
    ).encode()
    first = recorded("v2.3.7", "ws_server_pat")[0]
    frame = json.dumps(
        {"now": first["now"], "online": count, "servers": fleet(first["servers"][0], count)}
    ).encode()

    decoded_details = json.loads(details)["result"]
    decoded_list = json.loads(listed)["data"]

    def v0_details() -> list[Any]:
        payload = parsing.decode_json_object(details, 200)
        return [v0._parse_server(item) for item in parsing.objects(payload.get("result"), "result")]

    def v0_parse() -> list[Any]:
        return [v0._parse_server(item) for item in decoded_details]

    def list_2x() -> list[Any]:
        payload = parsing.decode_json_object(listed, 200)
        return [v1_parse.parse_server(item) for item in parsing.objects(payload.get("data"))]

    def list_parse() -> list[Any]:
        return [v1_parse.parse_server(item) for item in decoded_list]

    def frame_times() -> list[Any]:
        decoded = stream.decode_frame(frame)
        return [decoded.last_active(server_id) for server_id in decoded.server_ids]

    def frame_all() -> list[Any]:
        decoded = stream.decode_frame(frame)
        return [
            (decoded.last_active(server_id), decoded.server(server_id))
            for server_id in decoded.server_ids
        ]

    return {
        "v0 details": v0_details,
        "v0, parse only": v0_parse,
        "2.x list": list_2x,
        "2.x list, parse only": list_parse,
        "2.x frame, times": frame_times,
        "2.x frame, all": frame_all,
    }


def medians_us(pair: list[Case], runs: int, count: int) -> list[float]:
    """Each case's median time over ``runs`` runs, in microseconds per server.

    The cases take turns run by run, so that a busy moment of the machine hits both alike.
    """
    times: list[list[float]] = [[] for _ in pair]
    for _ in range(runs):
        for case, spent in zip(pair, times, strict=True):
            start = time.perf_counter()
            case()
            spent.append(time.perf_counter() - start)
    return [statistics.median(spent) / count * 1e6 for spent in times]


def plain(values: list[Any]) -> list[Any]:
    """Read values as plain data, so two copies' model classes compare."""

    def one(value: Any) -> Any:
        if isinstance(value, tuple):
            return tuple(map(one, value))
        if hasattr(value, "__dataclass_fields__"):
            return asdict(value)
        return value

    return [one(value) for value in values]


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--baseline-dir", type=Path, help="a copy of an older api package")
    return parser.parse_args()


def main() -> int:
    """Print the table: per case, this checkout, the baseline, and their ratio."""
    args = parse_args()
    load_api("now_api", ROOT / "custom_components" / "nezha" / "api")
    mine = cases("now_api", args.servers)
    theirs: dict[str, Case] = {}
    if args.baseline_dir:
        load_api("baseline_api", args.baseline_dir)
        theirs = cases("baseline_api", args.servers)
        for name, case in mine.items():
            if plain(case()) != plain(theirs[name]()):
                raise SystemExit(
                    f"{name}: this checkout and the baseline read the servers differently"
                )
    print(f"{args.servers} servers, median of {args.runs} runs, µs per server")
    print(f"{'case':<20} {'baseline':>9} {'now':>9} {'speed-up':>9}")
    for name, case in mine.items():
        if name in theirs:
            before, now = medians_us([theirs[name], case], args.runs, args.servers)
            print(f"{name:<20} {before:>9.2f} {now:>9.2f} {before / now:>8.2f}x")
        else:
            (now,) = medians_us([case], args.runs, args.servers)
            print(f"{name:<20} {'-':>9} {now:>9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
