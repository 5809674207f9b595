"""What the tests of the simulator's write side share: a filled dashboard and a logged-in admin."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from nezha_simulator import Generation, NezhaSimulator

from .sim_client import JSON_TYPE, Reply, call, login, make_sim

READ_SCOPES = ("nezha:inventory:read", "nezha:server:read", "nezha:service:read")
ACTION_SCOPES = (
    "nezha:alertrule:read",
    "nezha:alertrule:write",
    "nezha:service:read",
    "nezha:service:write",
    "nezha:cron:read",
    "nezha:cron:exec",
    "nezha:server:write",
)
CSRF_MISSING = {"error": "ApiErrorForbidden: missing or invalid CSRF token"}
MONTH_START = datetime(2025, 6, 1, tzinfo=UTC)


@pytest.fixture
async def http() -> AsyncGenerator[aiohttp.ClientSession]:
    """A client that keeps no cookies (tests send them explicitly)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session


def fill(sim: NezhaSimulator) -> None:
    """Three servers (``edge-1`` offline), three monitors, a cycle rule and three tasks."""
    sim.add_server("web-1", tag="prod", agent_version="2.3.1")
    sim.add_server("db-1", tag="prod", agent_version="2.3.1")
    edge = sim.add_server("edge-1", hide_for_guest=True, agent_version="2.3.1")
    sim.take_offline(edge.id)
    sim.add_monitor("TCP 127.0.0.1:8008", kind="tcp")
    sim.add_monitor("TCP 127.0.0.1:1", kind="tcp")
    sim.add_monitor("HTTP https://example.com", kind="http")
    sim.add_cycle_rule("quota", max_bytes=10 * 1024**3, cycle_start=MONTH_START)
    sim.add_cron("hello", "echo hello", [1])
    sim.add_cron("everywhere", "uptime", [], cover=1)
    sim.add_cron("on alert", "reboot", [], cover=2)


async def filled(generation: Generation) -> AsyncGenerator[NezhaSimulator]:
    """A started, filled dashboard of that generation, stopped afterwards."""
    simulator = await make_sim(generation)
    fill(simulator)
    yield simulator
    await simulator.stop()


@pytest.fixture(params=["v1", "v2"])
async def sim(request: pytest.FixtureRequest) -> AsyncGenerator[NezhaSimulator]:
    """A filled v1.14.14 and v2.3.7 dashboard."""
    async for simulator in filled(request.param):
        yield simulator


@pytest.fixture
async def v2() -> AsyncGenerator[NezhaSimulator]:
    """A filled v2.3.7 dashboard."""
    async for simulator in filled("v2"):
        yield simulator


@pytest.fixture
async def v1() -> AsyncGenerator[NezhaSimulator]:
    """A filled v1.14.14 dashboard."""
    async for simulator in filled("v1"):
        yield simulator


class Admin:
    """The admin's login with its CSRF pair (v2), sending what a browser would."""

    def __init__(self, http: aiohttp.ClientSession, sim: NezhaSimulator, jwt: str, csrf: str):
        """Keep the session's pieces."""
        self.http, self.sim, self.jwt, self.csrf = http, sim, jwt, csrf

    async def __call__(self, path: str, *, method: str = "GET", body: Any = None) -> Reply:
        """One request with the JWT, the ``nz-csrf`` cookie and the ``X-CSRF-Token`` header."""
        return await call(
            self.http,
            self.sim,
            "/api/v1" + path,
            method=method,
            bearer=self.jwt,
            cookies={"nz-csrf": self.csrf} if self.csrf else None,
            headers={"X-CSRF-Token": self.csrf} if self.csrf else None,
            body=body,
        )

    async def data(self, path: str) -> Any:
        """The ``data`` of a successful read."""
        reply = await self(path)
        assert (reply.status, reply.content_type) == (200, JSON_TYPE), reply.body
        return reply.json().get("data")


async def admin(http: aiohttp.ClientSession, sim: NezhaSimulator, user: str = "admin") -> Admin:
    """Log in; on 2.x read once in the auth group to receive the ``nz-csrf`` cookie."""
    password = sim.admin.password if user == "admin" else "member-password"
    jwt = await login(http, sim, user, password)
    reply = await call(http, sim, "/api/v1/server", bearer=jwt)
    cookie = reply.headers["Set-Cookie"]
    csrf = cookie.split("nz-csrf=")[1].split(";")[0] if "nz-csrf=" in cookie else ""
    assert bool(csrf) is (sim.generation == "v2")
    return Admin(http, sim, jwt, csrf)


def run_verb(sim: NezhaSimulator) -> str:
    """How a task is run by hand: ``POST`` on 2.x, ``GET`` on 1.x."""
    return "POST" if sim.generation == "v2" else "GET"


async def disabling_form(session: Admin) -> dict[str, Any]:
    """The full form that turns the first alert rule off, as read."""
    (rule,) = await session.data("/alert-rule")
    return {"name": rule["name"], "rules": rule["rules"], "enable": False}
