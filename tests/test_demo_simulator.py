"""scripts/demo_simulator.py: the demo fleet through each generation, steered over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import json
from pathlib import Path
import re
import sys
from typing import Any

import aiohttp
import pytest

from nezha_simulator import build_demo_fleet
from nezha_simulator.__main__ import connect_lines
from nezha_simulator.demo import DEMO_PAT_SCOPES
from scripts.demo_simulator import DemoSimulator, make_demo, parse_args

from .conftest import TOKEN

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
async def demo(socket_enabled: None) -> AsyncGenerator[DemoSimulator]:
    """The demo simulator as scripts/develop runs it, on a free port."""
    sim = DemoSimulator(token=TOKEN)
    build_demo_fleet(sim)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


async def _online(session: aiohttp.ClientSession, sim: DemoSimulator, name: str) -> bool:
    """Whether the dashboard reports the server as just active (its agent reporting)."""
    async with session.get(
        f"{sim.url}/api/v1/server/details", headers={"Authorization": TOKEN}
    ) as response:
        body = await response.json()
    (server,) = (server for server in body["result"] if server["name"] == name)
    return bool(sim.now - server["last_active"] < 5)


async def test_take_a_server_offline_and_back(demo: DemoSimulator) -> None:
    """POST …/offline stops a server's reports, …/online resumes them; the API is unchanged."""
    async with aiohttp.ClientSession() as session:
        assert await _online(session, demo, "web-2")
        async with session.post(f"{demo.url}/demo/servers/web-2/offline") as response:
            assert response.status == 200
            assert await response.text() == "web-2 is offline\n"
        demo.advance(60)
        assert not await _online(session, demo, "web-2")
        assert await _online(session, demo, "web-1")
        async with session.post(f"{demo.url}/demo/servers/web-2/online") as response:
            assert response.status == 200
        assert await _online(session, demo, "web-2")


async def test_stop_an_agent_and_restart_the_dashboard(demo: DemoSimulator) -> None:
    """POST …/stopped stops an agent (2.x: zero time); POST /demo/restart restarts as recorded."""
    demo.generation = "v2"
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{demo.url}/demo/servers/web-2/stopped") as response:
            assert await response.text() == "web-2 is stopped\n"
        (web_2,) = (s for s in demo.servers.values() if s.name == "web-2")
        assert demo.view(web_2, zero_when_closed=True).last_active is None
        async with session.post(f"{demo.url}/demo/restart") as response:
            assert await response.text() == "the dashboard restarts: back in 7 s, agents later\n"
    restart = demo.restart
    assert restart is not None
    assert restart.listen_at - restart.stop_at == 2


async def test_unknown_server_and_other_methods(demo: DemoSimulator) -> None:
    """An unknown name is a 404 that lists the demo servers; a GET is the dashboard's own 404."""
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{demo.url}/demo/servers/nope/offline") as response:
            assert response.status == 404
            assert "web-1" in await response.text()
        async with session.get(f"{demo.url}/demo/servers/web-2/offline") as response:
            assert response.status == 404
            assert "哪吒监控" in await response.text()
    assert all(server.reporting for server in demo.servers.values() if server.name == "web-2")


# --generation: what scripts/develop starts


DEMO_PAT = "nzp_" + "demo0123" * 4
DEMO_PASSWORD = "demo-admin-password"
DEMO_SERVERS = {"web-1", "web-2", "gpu-lab", "nas", "fresh-vps"}


async def _body(response: aiohttp.ClientResponse) -> dict[str, Any]:
    """A JSON object answer, or {} for anything else (a 404 page of another generation)."""
    try:
        body = json.loads(await response.text())
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


async def _v0_names(session: aiohttp.ClientSession, url: str) -> set[str]:
    """The servers a 0.x client sees with the demo token (empty when refused)."""
    async with session.get(
        f"{url}/api/v1/server/details", headers={"Authorization": TOKEN}
    ) as response:
        body = await _body(response)
    return {server["name"] for server in body.get("result") or []}


async def _v1_names(session: aiohttp.ClientSession, url: str, bearer: str) -> set[str]:
    """The servers a 1.x/2.x client sees with a JWT or PAT."""
    async with session.get(
        f"{url}/api/v1/server", headers={"Authorization": f"Bearer {bearer}"}
    ) as response:
        body = await _body(response)
    return {server["name"] for server in body.get("data") or []}


async def _login(session: aiohttp.ClientSession, url: str, password: str) -> str | None:
    """A JWT for the admin, or None when refused (or no such route)."""
    async with session.post(
        f"{url}/api/v1/login", json={"username": "admin", "password": password}
    ) as response:
        body = await _body(response)
    data = body.get("data")
    return str(data["token"]) if data else None


def _args(*extra: str) -> list[str]:
    """scripts/develop's options for the demo simulator, plus ``extra``."""
    return ["--token", TOKEN, "--password", DEMO_PASSWORD, "--pat", DEMO_PAT, *extra]


async def test_command_line_defaults_to_v2_and_prints_how_to_connect(socket_enabled: None) -> None:
    """Run as scripts/develop runs it: a 2.x dashboard, the given login and PAT printed, working."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "scripts/demo_simulator.py",
        *_args("--port", "0"),
        stdout=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    try:
        assert process.stdout is not None
        lines = [
            (await asyncio.wait_for(process.stdout.readline(), 30)).decode().strip()
            for _ in range(4)
        ]
        url = lines[0].split(" at ")[1]
        assert lines[0] == f"Nezha v2.3.7 dashboard simulator at {url}"
        assert lines[1] == f"User: admin  Password: {DEMO_PASSWORD}"
        assert lines[2] == (f"PAT ({' '.join(DEMO_PAT_SCOPES)}): {DEMO_PAT}")
        assert lines[3] == f"Steer it: POST {url}/demo/servers/NAME/offline (or /online)"
        async with aiohttp.ClientSession() as session:
            assert await _v1_names(session, url, DEMO_PAT) == DEMO_SERVERS
            jwt = await _login(session, url, DEMO_PASSWORD)
            assert jwt is not None
            assert await _v1_names(session, url, jwt) == DEMO_SERVERS
            assert await _v0_names(session, url) == set()
    finally:
        process.terminate()
        await process.wait()


@pytest.mark.parametrize("generation", ["v0", "v1", "v2"])
async def test_each_generation_serves_the_fleet_with_its_credential(
    socket_enabled: None, generation: str
) -> None:
    """--generation picks what the fleet answers as; each takes exactly its own credentials."""
    sim = make_demo(parse_args(_args("--generation", generation)))
    build_demo_fleet(sim)
    url = await sim.start()
    try:
        lines = connect_lines(sim, url, DEMO_PAT)
        async with aiohttp.ClientSession() as session:
            v0 = await _v0_names(session, url)
            jwt = await _login(session, url, DEMO_PASSWORD)
            login = await _v1_names(session, url, jwt) if jwt else set()
            pat = await _v1_names(session, url, DEMO_PAT)
    finally:
        await sim.stop()
    expected = {
        "v0": (DEMO_SERVERS, set(), set(), f"API token: {TOKEN}"),
        "v1": (set(), DEMO_SERVERS, set(), f"User: admin  Password: {DEMO_PASSWORD}"),
        "v2": (set(), DEMO_SERVERS, DEMO_SERVERS, DEMO_PAT),
    }[generation]
    assert (v0, login, pat) == expected[:3]
    assert expected[3] in lines[-1]


async def test_switch_the_generation(demo: DemoSimulator) -> None:
    """POST /demo/generation/v2 makes the same fleet a 2.x dashboard, …/v0 a 0.x one again."""
    pat = demo.create_pat(plaintext=DEMO_PAT)
    async with aiohttp.ClientSession() as session:
        assert await _v0_names(session, demo.url) == DEMO_SERVERS
        async with session.post(f"{demo.url}/demo/generation/v2") as response:
            assert (response.status, await response.text()) == (200, "the demo answers as v2 now\n")
        assert await _v0_names(session, demo.url) == set()
        assert await _v1_names(session, demo.url, pat) == DEMO_SERVERS
        async with session.post(f"{demo.url}/demo/generation/v3") as response:
            assert "answers as" not in await response.text()  # the dashboard's own page
        assert demo.generation == "v2"
        async with session.post(f"{demo.url}/demo/generation/v0") as response:
            assert response.status == 200
        assert await _v0_names(session, demo.url) == DEMO_SERVERS


def _setup_values() -> dict[str, str]:
    """The public demo values scripts/setup defines (``NZ_DEMO_…=value`` lines)."""
    text = (REPO / "scripts" / "setup").read_text(encoding="utf-8")
    return {
        match["name"]: match["value"].strip('"')
        for match in re.finditer(r"^\s+(?P<name>NZ_DEMO_\w+)=(?P<value>.+)$", text, re.M)
    }


def test_the_published_demo_values_agree() -> None:
    """The READMEs quote scripts/setup's demo values; its PAT has the shape and scopes it claims."""
    values = _setup_values()
    assert re.fullmatch(r"nzp_[0-9A-Za-z]{32}", values["NZ_DEMO_PAT"])
    assert values["NZ_DEMO_PAT_SCOPES"] == " ".join(DEMO_PAT_SCOPES)
    for name in ("README.md", "README.zh-Hans.md"):
        readme = " ".join((REPO / name).read_text(encoding="utf-8").split())
        for key in ("NZ_DEMO_PAT", "NZ_DEMO_PAT_SCOPES", "NZ_DEMO_TOKEN", "NZ_DEMO_NEZHA_USER"):
            assert f"`{values[key]}`" in readme, (name, key)
        assert f"`{values['NZ_DEMO_NEZHA_PASSWORD']}`" in readme, name
