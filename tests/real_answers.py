"""Hold the simulator to what real dashboards answered (``tests/fixtures/real_answers/``).

The recordings are the shared ``real-answers`` of v0.20.13, v1.14.14 and v2.3.7 (README there):
each ``<name>.json`` holds the request, ``status``, ``content_type``, ``set_cookies`` and the
``body`` (or the ``frames`` of a websocket). ``replay`` asks the simulator the same question
with the same kind of credential and records its answer in the same form; ``differences``
lists what differs: status, content type, cookies, every JSON key path with its JSON types,
and the values of ``success``/``code``/``error``/``message`` (the contract). Other values differ
between worlds and are not compared. ``recorded_world`` builds a simulator world like the
recorded one, so that no key needs excusing.

Importable by any test (``from .real_answers import ...``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
import json
from pathlib import Path
from typing import Any

import aiohttp

from nezha_simulator import Generation, NezhaSimulator

FIXTURES = Path(__file__).parent / "fixtures" / "real_answers"
VERSIONS: dict[Generation, str] = {"v0": "v0.20.13", "v1": "v1.14.14", "v2": "v2.3.7"}
CONTRACT_KEYS = frozenset({"success", "code", "error", "message"})
RECORDED_NOW = 1_796_573_000.5
"""About when the recordings were made: 2026-12-07 00:03:20.5 +08:00."""
READ_SCOPES = ("nezha:inventory:read", "nezha:server:read", "nezha:service:read")
"""The recorded 2.x read PAT (``Bearer <pat>`` in the recordings)."""
BILLING_NOTE = json.dumps(
    {
        "billingDataMod": {
            "startDate": "2026-11-01T00:00:00+08:00",
            "endDate": "2026-12-31T00:00:00+08:00",
            "autoRenewal": "1",
            "cycle": "Month",
            "amount": "$5",
        },
        "planDataMod": {"bandwidth": "1Gbps", "trafficVol": "1TB"},
    }
)
AGENT_VERSIONS: dict[Generation, str] = {"v0": "0.20.5", "v1": "1.14.4", "v2": "2.3.3"}

# Requests whose credential the recording's ``auth`` does not tell apart (its recorder names
# any ``Bearer eyJ…`` "<jwt>" and any ``Bearer nzp_…`` "<pat>").
_FIXED_AUTH = {
    "bad_bearer_jwt_shaped": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJ4IjoxfQ.c2ln",
    "bad_bearer_jwt_shaped_public": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJ4IjoxfQ.c2ln",
    "bad_bearer_pat_shaped": "Bearer nzp_" + "0" * 40,
    "bad_bearer_other": "Bearer abc",
    "wrong_token": "wrong-token-0000",
}

_KEPT_COOKIES = frozenset({"server_after_agent_stopped", "server_during_restart"})
"""Recorded by a session that kept its cookies: the request carried the ``nz-csrf`` cookie an
earlier GET seeded, so v2 seeded none (``server_pat``, the same request without it, got one)."""


def load(generation: Generation, name: str) -> Any:
    """One recording of that generation."""
    return json.loads((FIXTURES / VERSIONS[generation] / f"{name}.json").read_text())


COMPARED_ELSEWHERE = ("cron_", "notification_group_")
"""Recordings of the action routes, which ``test_simulator_actions_real.py`` compares in a world
with the recorded cron task and notification group."""


def names(generation: Generation) -> list[str]:
    """The single-answer recordings of a generation (sequences are lists, left out)."""
    return sorted(
        path.stem
        for path in (FIXTURES / VERSIONS[generation]).glob("*.json")
        if isinstance(json.loads(path.read_text()), dict)
        and not path.stem.startswith(COMPARED_ELSEWHERE)
    )


# Shapes


def json_type(value: Any) -> str:
    """The JSON type of a value; a whole float is a number like an int (Go writes ``1`` for 1.0)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


@dataclass
class Shape:
    """Every key path of a JSON value with the types seen there, and the contract values."""

    types: dict[str, set[str]]
    contract: dict[str, set[str]]


def shape(value: Any) -> Shape:
    """The shape of a JSON value: list items merged, numeric keys (ids) as ``<id>``."""
    found = Shape({}, {})

    def walk(item: Any, path: str) -> None:
        found.types.setdefault(path, set()).add(json_type(item))
        if isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{'<id>' if key.isdigit() else key}"
                if key in CONTRACT_KEYS and not isinstance(child, dict | list):
                    found.contract.setdefault(child_path, set()).add(json.dumps(child))
                walk(child, child_path)
        elif isinstance(item, list):
            for child in item:
                walk(child, f"{path}[]")

    walk(value, "$")
    return found


def _topmost(paths: set[str]) -> list[str]:
    """The paths none of whose ancestors is in ``paths``."""
    return sorted(
        path
        for path in paths
        if not any(path.startswith((other + ".", other + "[]")) for other in paths)
    )


def differences(real: Mapping[str, Any], sim: Mapping[str, Any]) -> list[str]:
    """What the simulator's answer does differently from the real one (empty: nothing)."""
    diffs = [
        f"{key}: real {real.get(key)!r} / sim {sim.get(key)!r}"
        for key in ("status", "content_type", "set_cookies")
        if key in real and real.get(key) != sim.get(key)
    ]
    body = "frames" if "frames" in real else "body"
    if isinstance(real.get(body), str):
        if sim.get(body) != real[body] and body == "frames":
            diffs.append(f"{body}: real {real[body]!r} / sim {sim.get(body)!r}")
        return diffs
    ours, theirs = shape(sim.get(body)), shape(real.get(body))
    diffs += [f"only real: {path}" for path in _topmost(set(theirs.types) - set(ours.types))]
    diffs += [f"only sim: {path}" for path in _topmost(set(ours.types) - set(theirs.types))]
    for path in sorted(set(theirs.types) & set(ours.types)):
        # ``null`` stands for an empty Go slice or pointer: it may be seen next to any type.
        a, b = theirs.types[path] - {"null"}, ours.types[path] - {"null"}
        if a != b:
            diffs.append(f"types of {path}: real {sorted(a)} / sim {sorted(b)}")
    for path in sorted(set(theirs.contract) | set(ours.contract)):
        if theirs.contract.get(path) != ours.contract.get(path):
            real_values, sim_values = theirs.contract.get(path), ours.contract.get(path)
            diffs.append(f"value of {path}: real {real_values} / sim {sim_values}")
    return diffs


# The simulator's answers


@dataclass
class Credentials:
    """The simulator's credentials that stand for the recordings' placeholders."""

    token: str | None = None
    jwt: str | None = None
    pat: str | None = None


def authorization(name: str, auth: str, credentials: Credentials) -> str | None:
    """The ``Authorization`` header to send for a recording."""
    if name in _FIXED_AUTH:
        return _FIXED_AUTH[name]
    if name in ("raw_token_no_bearer", "v0_details_on_new", "v0_list_on_new"):
        return credentials.pat or "abc"
    if name == "bearer_token":
        return f"Bearer {credentials.token}"
    return {
        "none": None,
        "Bearer <jwt>": f"Bearer {credentials.jwt}",
        "Bearer <pat>": f"Bearer {credentials.pat}",
        "<raw token>": credentials.token,
    }[auth]


def _with_password(body: Any, password: str) -> Any:
    """A recorded request body with the placeholder password replaced."""
    if isinstance(body, dict):
        return {key: _with_password(value, password) for key, value in body.items()}
    if isinstance(body, str):
        return body.replace("<password>", password)
    return body


async def credentials_for(http: aiohttp.ClientSession, sim: NezhaSimulator) -> Credentials:
    """Log in (1.x/2.x) and make the read PAT (2.x), as the recordings did."""
    if sim.generation == "v0":
        return Credentials(token=sim.token)
    body = {"username": "admin", "password": sim.admin.password}
    async with http.post(sim.url + "/api/v1/login", json=body) as response:
        jwt = (await response.json())["data"]["token"]
    pat = sim.create_pat(READ_SCOPES) if sim.generation == "v2" else None
    return Credentials(jwt=jwt, pat=pat)


async def replay(
    http: aiohttp.ClientSession,
    sim: NezhaSimulator,
    name: str,
    recorded: Mapping[str, Any],
    credentials: Credentials,
) -> dict[str, Any]:
    """Ask the simulator what the recording asked; its answer in the recording's form."""
    request = recorded["request"]
    header = authorization(name, request["auth"], credentials)
    headers = {} if header is None else {"Authorization": header}
    if name in _KEPT_COOKIES:
        headers["Cookie"] = "nz-csrf=seeded-before"
    if request["method"] == "WS":
        return await _frames(http, sim, request["path"], headers)
    method = request["method"].split()[0]
    if "websocket handshake" in request["method"]:
        headers |= {"Connection": "Upgrade", "Upgrade": "websocket"}
        headers |= {"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    body = request.get("body")
    if body is not None:
        body = _with_password(body, sim.admin.password)
    async with http.request(
        method,
        sim.url + request["path"],
        params=request.get("params"),
        headers=headers,
        json=body,
        allow_redirects=False,
    ) as response:
        raw = await response.read()
        try:
            parsed: Any = json.loads(raw)
        except ValueError:
            parsed = raw.decode("utf-8", "replace")[:600]
        return {
            "status": response.status,
            "content_type": response.headers.get("Content-Type", ""),
            "set_cookies": sorted(cookie.key for cookie in response.cookies.values()),
            "body": parsed,
        }


async def _frames(
    http: aiohttp.ClientSession, sim: NezhaSimulator, path: str, headers: dict[str, str]
) -> dict[str, Any]:
    """The first two frames of a stream, as the recorder took them."""
    frames: list[Any] = []
    ws = await http.ws_connect(sim.url + path, headers=headers, heartbeat=None)
    try:
        while len(frames) < 2:
            message = await ws.receive(timeout=5)
            if message.type is aiohttp.WSMsgType.TEXT:
                frames.append(json.loads(message.data))
            elif message.type is not aiohttp.WSMsgType.PING:
                frames.append(f"{message.type.name}: {message.data!r}")
                break
    finally:
        # The dashboard never answers a close frame and keeps sending: hang up regardless.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.2):
                await ws.close()
    return {"frames": frames, "error": None}


# The recorded world


def recorded_world(generation: Generation, *, now: float = RECORDED_NOW) -> NezhaSimulator:
    """A simulator (not started) holding what the recorded dashboards held.

    Servers web-1, db-1 (tag/group ``prod``) and edge-1 (hidden from guests; tag ``edge`` on
    0.x) on one Linux host with no swap, GPU or temperature sensors and a loopback address
    (which 0.x does not show); web-1's billing ``public_note`` (1.x/2.x); TCP monitors
    ``tcp-dashboard`` (up) and ``tcp-closed`` (down) measured by every server and an HTTP
    monitor; one ``transfer_all_cycle`` rule of 10 GiB a month from 2026-12-01 (UTC) over every
    server; times in +08:00; 2.x servers registered by agents (owner id 0).
    """
    sim = NezhaSimulator(now=now, generation=generation)
    sim.site_name = f"Real {generation}"
    sim.utc_offset = 8 * 3600
    for server_id, name in enumerate(("web-1", "db-1", "edge-1"), start=1):
        tag = "prod" if name != "edge-1" else ("edge" if generation == "v0" else "")
        server = sim.add_server(
            name,
            tag=tag,
            hide_for_guest=name == "edge-1",
            owner_id=0 if generation == "v2" else 1,
            platform="debian",
            platform_version="12.11",
            cpu_names=["AMD EPYC 2 Virtual Core"],
            mem_total=25_276_194_816,
            disk_total=270_553_174_016,
            swap_total=0,
            arch="x86_64",
            virtualization="docker",
            boot_time=int(now) - 680,
            ipv4="" if generation == "v0" else "127.0.0.1",
            country_code="",
            agent_version=AGENT_VERSIONS[generation],
            cpu=50.5 + server_id,
            mem_used=639_418_368,
            disk_used=16_228_978_688,
            net_in_transfer=2_180_072,
            net_out_transfer=2_180_072,
            net_in_speed=2708,
            net_out_speed=2708,
            load1=0.25,
            load5=0.92,
            load15=0.71,
            tcp_conn_count=78,
            udp_conn_count=0,
            process_count=87,
        )
        if name == "web-1" and generation != "v0":
            server.public_note = BILLING_NOTE
    up = sim.add_monitor("tcp-dashboard", kind="tcp")
    down = sim.add_monitor("tcp-closed", kind="tcp")
    http_monitor = sim.add_monitor("http-setting", kind="http")
    for server_id in sim.servers:
        sim.add_point(up, server_id, 0.11, at=now - 40)
        sim.add_point(down, server_id, 0.0, at=now - 40)
    if generation != "v0":
        sim.set_service_day(up, 29, up=9, down=0, delay=0.1518888912267155)
        sim.set_service_current(up, up=1, down=0)
        sim.set_service_day(down, 29, up=0, down=9, delay=0.0)
        sim.set_service_current(down, up=0, down=1)
        sim.set_service_day(http_monitor, 29, up=9, down=0, delay=1.0952222413486905)
        sim.set_service_current(http_monitor, up=1, down=0)
        sim.add_cycle_rule(
            "quota",
            max_bytes=10 * 2**30,
            cycle_start=datetime(2026, 12, 1, tzinfo=UTC),
            owner_id=1,
        )
    return sim


# Sequences


def server_phase(item: Mapping[str, Any]) -> str:
    """How one server shows: ``seen``, ``zero time`` (host and state kept), ``host only``, ``blank``."""
    zero = item.get("last_active", item.get("LastActive")) in (
        "0001-01-01T00:00:00Z",
        -62135596800,
    )
    host = item.get("host") or {}
    state = item.get("state", item.get("status")) or {}
    has_host = any(value not in ("", 0, None) for value in host.values())
    has_state = any(value not in ("", 0, None) for value in state.values())
    if not zero:
        return "seen"
    if has_host and has_state:
        return "zero time"
    return "host only" if has_host else "blank"


def step_phase(step: Mapping[str, Any]) -> str:
    """One step of a sequence as text: an event, or each server's phase by name."""
    if "event" in step:
        event = str(step["event"])
        return "failed" if "failed" in event else event
    if "status" in step and step["status"] != 200:
        return f"HTTP {step['status']}"
    payload = step.get("frame") or step.get("body") or {}
    items = payload.get("servers") or payload.get("data") or payload.get("result") or []
    return ", ".join(f"{item['name']}: {server_phase(item)}" for item in sorted_by_name(items))


def sorted_by_name(items: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Servers by name (0.x answers in random order)."""
    return sorted(items, key=lambda item: str(item["name"]))


def phases(steps: Iterable[Mapping[str, Any]], *, keep: Iterable[str] = ()) -> list[str]:
    """A sequence as its phases: consecutive equal steps collapsed; events not in ``keep`` dropped."""
    kept = set(keep)
    out: list[str] = []
    for step in steps:
        if "event" in step and step_phase(step) not in kept:
            continue
        phase = step_phase(step)
        if not out or out[-1] != phase:
            out.append(phase)
    return out
