"""scripts/demo_simulator.py: the demo fleet can be taken offline and back over HTTP."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import aiohttp
import pytest

from nezha_simulator import build_demo_fleet
from scripts.demo_simulator import DemoSimulator

from .conftest import TOKEN


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
