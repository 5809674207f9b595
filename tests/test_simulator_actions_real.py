"""The simulator's cron, notification-group and write answers against real dashboards' answers.

``tests/fixtures/real_answers`` holds what v2.3.7 and v1.14.14 answered (copied from the shared
recordings, secrets replaced): ``cron_*``/``notification_group_*`` reads and ``writes.json``, a
sequence of writes with the answer to each. A simulator world built like the recorded one (three
servers, three monitors, the ``quota`` rule, the ``hello`` task) must answer each with the same
status, content type, cookies, JSON key paths and types, and ``success``/``code``/``error``/
``message`` values.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from nezha_simulator import NezhaSimulator
from nezha_simulator.actions import MonitorConfig

from .sim_client import Reply, call, login

pytestmark = pytest.mark.usefixtures("socket_enabled")

FIXTURES = Path(__file__).parent / "fixtures" / "real_answers"
RECORDED = {"v2": "v2.3.7", "v1": "v1.14.14"}
RECORDED_AT = datetime(2026, 12, 6, 16, 12, 16, tzinfo=UTC).timestamp()
READ_PAT_SCOPES = ("nezha:inventory:read", "nezha:server:read", "nezha:service:read")
COMPARED_VALUES = ("success", "code", "error", "message")


def shape(value: Any, path: str = "$") -> dict[str, str]:
    """Every key path of a JSON value with its JSON type; list items share ``path[]``."""
    if isinstance(value, dict):
        found = {path: "object"}
        for key, item in value.items():
            found |= shape(item, f"{path}.{key}")
        return found
    if isinstance(value, list):
        found = {path: "array"}
        for item in value:
            found |= shape(item, path + "[]")
        return found
    kinds = {bool: "bool", str: "string", type(None): "null"}
    return {path: kinds.get(type(value), "number")}


def verdict(status: int, body: Any, content_type: str | None = None) -> dict[str, Any]:
    """What is compared of one answer."""
    values = {key: body.get(key) for key in COMPARED_VALUES} if isinstance(body, dict) else {}
    found: dict[str, Any] = {"status": status, "shape": shape(body), "values": values}
    if content_type is not None:
        found["content_type"] = content_type
    return found


def _cookie_names(reply: Reply) -> list[str]:
    """Names of the cookies an answer sets."""
    lines = [line for line in reply.headers["Set-Cookie"].split("\n") if line]
    return sorted(line.split("=", 1)[0] for line in lines)


def recorded(generation: str, name: str) -> Any:
    """One recording of the generation's dashboard."""
    return json.loads((FIXTURES / RECORDED[generation] / f"{name}.json").read_text())


def build_recorded_world(sim: NezhaSimulator) -> None:
    """The world of the recordings (real-answers README): servers, monitors, rule, task."""
    sim.add_server("web-1", tag="prod", swap_total=0)
    sim.add_server("db-1", tag="prod", swap_total=0)
    sim.add_server("edge-1", tag="edge", hide_for_guest=True, swap_total=0)
    targets = {"tcp-dashboard": "127.0.0.1:8008", "tcp-closed": "127.0.0.1:1"}
    for name, target in targets.items():
        monitor_id = sim.add_monitor(name, kind="tcp")
        sim.set_monitor_config(monitor_id, MonitorConfig(target, duration=10))
    http_id = sim.add_monitor("http-setting", kind="http")
    sim.set_monitor_config(http_id, MonitorConfig("http://127.0.0.1:8008/api/v1/setting", 10))
    start = datetime(2026, 12, 1, tzinfo=UTC)
    sim.add_cycle_rule("quota", max_bytes=10 * 1024**3, cycle_start=start)
    sim.add_cron("hello", "echo hello", [1])


@pytest.fixture(params=["v1", "v2"])
async def sim(request: pytest.FixtureRequest) -> AsyncGenerator[NezhaSimulator]:
    """A v1.14.14 and a v2.3.7 dashboard holding the recorded world."""
    simulator = NezhaSimulator(seed=0, now=RECORDED_AT, generation=request.param)
    build_recorded_world(simulator)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def http() -> AsyncGenerator[aiohttp.ClientSession]:
    """A client that keeps no cookies (the replay sends them as recorded)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session


@pytest.mark.parametrize("route", ["cron", "notification_group"])
async def test_reads_match_the_recordings(
    http: aiohttp.ClientSession, sim: NezhaSimulator, route: str
) -> None:
    credentials = {"jwt": await login(http, sim)}
    if sim.generation == "v2":
        credentials["pat"] = sim.create_pat(READ_PAT_SCOPES)
    for kind, bearer in credentials.items():
        real = recorded(sim.generation, f"{route}_{kind}")
        assert real["request"]["auth"] == f"Bearer <{kind}>"
        reply = await call(http, sim, real["request"]["path"], bearer=bearer)
        assert verdict(reply.status, reply.json(), reply.content_type) == verdict(
            real["status"], real["body"], real["content_type"]
        ), (route, kind)
        assert _cookie_names(reply) == sorted(real["set_cookies"]), (route, kind)


class Replayer:
    """Sends the recorded steps of ``writes.json`` with the credential each names."""

    def __init__(self, http: aiohttp.ClientSession, sim: NezhaSimulator, jwt: str) -> None:
        """Log in once; on 2.x take the CSRF cookie a read seeds, and make the two PATs."""
        self.http, self.sim, self.jwt, self.csrf = http, sim, jwt, ""
        self.pats: dict[str, str] = {}
        if sim.generation == "v2":
            self.pats = {
                "pat-read": sim.create_pat(READ_PAT_SCOPES),
                "pat-full": sim.create_pat(["nezha:*"]),
            }

    async def seed_csrf(self) -> None:
        """A read in the auth group answers with the ``nz-csrf`` cookie (2.x)."""
        reply = await call(self.http, self.sim, "/api/v1/profile", bearer=self.jwt)
        cookie = reply.headers["Set-Cookie"]
        self.csrf = cookie.split("nz-csrf=")[1].split(";")[0] if "nz-csrf=" in cookie else ""

    async def send(self, step: dict[str, Any]) -> Reply:
        """One step as recorded: method, path and body, with its credential."""
        method, path = step["request"].split(" ", 1)
        if method == "GET/POST":
            method = "POST" if self.sim.generation == "v2" else "GET"
        auth = step["auth"]
        cookies: dict[str, str] = {}
        headers: dict[str, str] = {}
        if "cookie jar" in step["step"] or auth == "jwt+csrf":
            cookies["nz-csrf"] = self.csrf
        if auth == "jwt+csrf":
            headers["X-CSRF-Token"] = self.csrf
        bearer = self.pats.get(auth, self.jwt)
        return await call(
            self.http,
            self.sim,
            "/api/v1" + path,
            method=method,
            bearer=bearer,
            cookies={key: value for key, value in cookies.items() if value},
            headers={key: value for key, value in headers.items() if value},
            body=step["sent"],
        )


def _answer_as_recorded(step: dict[str, Any], body: Any) -> Any:
    """A read step's recording holds the object of the written id, not the envelope."""
    if step["sent"] is None and step["status"] == 200 and "id" in step["body"]:
        (item,) = [item for item in body["data"] if item["id"] == step["body"]["id"]]
        return item
    return body


def _as_sent(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps with the bodies really sent.

    The recorder logged each body after a later step had changed the same dict back, so a
    toggled ``enable``/``notify`` shows its restored value; when the next step reads the same
    object back, that shows what was sent (``notify`` left out = false).
    """
    fixed = []
    for step, after in zip(steps, [*steps[1:], None], strict=True):
        sent = step["sent"]
        method, path = step["request"].split(" ", 1)
        resource = path.split("/")[1]
        toggled = {"alert-rule": "enable", "service": "notify"}.get(resource)
        if method == "PATCH" and toggled and after is not None and after["sent"] is None:
            read_back = after["request"].startswith(f"GET /{resource}") and "id" in after["body"]
            if read_back:
                sent = sent | {toggled: after["body"].get(toggled, False)}
        fixed.append(step | {"sent": sent})
    return fixed


async def test_writes_match_the_recordings(
    http: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    replayer = Replayer(http, sim, await login(http, sim))
    await replayer.seed_csrf()
    steps = _as_sent(recorded(sim.generation, "writes"))
    assert len(steps) == (26 if sim.generation == "v2" else 20)
    for step in steps:
        reply = await replayer.send(step)
        body = reply.json()
        answer = _answer_as_recorded(step, body)
        assert verdict(reply.status, answer) == verdict(step["status"], step["body"]), step["step"]
        if answer is not body:  # an object read back: the written fields hold
            for key in ("name", "enable", "notify"):
                assert answer.get(key) == step["body"].get(key), (step["step"], key)


def test_shape_tells_types_and_paths_apart() -> None:
    """The comparison fails on a missing key, another type or another error text."""
    base = verdict(200, {"success": True, "data": [{"id": 1, "servers": [1]}]})
    assert base == verdict(200, {"success": True, "data": [{"id": 2, "servers": [3]}]})
    assert base != verdict(200, {"success": True, "data": [{"id": 1}]})
    assert base != verdict(200, {"success": True, "data": [{"id": "1", "servers": [1]}]})
    assert verdict(200, {"error": "a"}) != verdict(200, {"error": "b"})
