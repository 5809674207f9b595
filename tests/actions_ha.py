"""What the tests of the actions in Home Assistant share: a filled dashboard, entries, the release.

The dashboard is the ``simulator`` fixture filled by ``actions_client.fill`` (web-1, db-1, edge-1
offline, agents 2.3.1; three monitors; the alert rule "quota"; tasks "hello" (cover 0),
"everywhere" (cover 1) and "on alert" (cover 2)). GitHub's latest agent release is served by a
local server: the tests never reach the internet.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any
from unittest.mock import patch

from aiohttp import web
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nezha.const import CONF_ACTIONS, DOMAIN
from nezha_simulator import NezhaSimulator

from .actions_client import ACTION_SCOPES, fill
from .test_generations import ENTRY_ID, INVENTORY_SCOPE, entry_for

ALL_SCOPES = (INVENTORY_SCOPE, *ACTION_SCOPES)
CREDENTIALS = [
    pytest.param("v1", False, id="v1-login"),
    pytest.param("v2", True, id="v2-login"),
    pytest.param("v2", False, id="v2-pat"),
]
"""(generation, login): every credential that can act."""
LATEST = "2.3.3"


@dataclass
class Releases:
    """GitHub's answer about the agent's latest release, and how often it was asked."""

    status: int = 200
    body: dict[str, Any] = field(
        default_factory=lambda: {
            "tag_name": f"v{LATEST}",
            "html_url": f"https://github.com/nezhahq/agent/releases/tag/v{LATEST}",
        }
    )
    reads: int = 0

    async def handle(self, _: web.Request) -> web.Response:
        """``GET /repos/nezhahq/agent/releases/latest``."""
        self.reads += 1
        return web.json_response(self.body, status=self.status)


@pytest.fixture
async def releases(socket_enabled: None) -> AsyncGenerator[Releases]:
    """A local stand-in for GitHub's releases API, which the coordinator is pointed at."""
    releases = Releases()
    app = web.Application()
    app.router.add_get("/repos/nezhahq/agent/releases/latest", releases.handle)
    runner = web.AppRunner(app, access_log=None)  # its logger trips over the frozen clock
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/repos/nezhahq/agent/releases/latest"
    try:
        with patch("custom_components.nezha.coordinator.actions.AGENT_RELEASE_URL", url):
            yield releases
    finally:
        await runner.cleanup()


@pytest.fixture
def dash(simulator: NezhaSimulator, releases: Releases) -> NezhaSimulator:
    """The filled dashboard (any generation: the entry picks it)."""
    fill(simulator)
    return simulator


def actions_entry(
    sim: NezhaSimulator,
    generation: str,
    *,
    login: bool = False,
    scopes: tuple[str, ...] = ALL_SCOPES,
    actions: bool = True,
    **options: Any,
) -> MockConfigEntry:
    """An entry for ``sim`` as ``generation`` with actions on (unless told otherwise)."""
    return entry_for(
        sim, generation, login=login, scopes=scopes, **{CONF_ACTIONS: actions, **options}
    )


def entity_id(entity_registry: er.EntityRegistry, platform: Platform, key: str) -> str | None:
    """The entity id of the entry's entity with unique id ``{entry_id}_{key}``, if registered."""
    return entity_registry.async_get_entity_id(platform, DOMAIN, f"{ENTRY_ID}_{key}")


def action_entities(entity_registry: er.EntityRegistry) -> dict[str, str]:
    """Every action entity of the entry: unique id (without the entry id) -> entity id."""
    keys = ("_alertrule", "_notify", "_cron", "_agent_update")
    return {
        entity.unique_id.removeprefix(f"{ENTRY_ID}_"): entity.entity_id
        for entity in er.async_entries_for_config_entry(entity_registry, ENTRY_ID)
        if any(key in entity.unique_id for key in keys)
    }


def writes(sim: NezhaSimulator) -> list[str]:
    """Every request that changes or triggers something (logins aside), as ``METHOD path``."""
    return [
        f"{request.method} {request.path_qs}"
        for request in sim.requests
        if request.path_qs != "/api/v1/login"
        and (request.method != "GET" or request.path_qs.endswith("/manual"))
    ]


def state(hass: HomeAssistant, entity: str | None) -> str:
    """An entity's state (the entity must exist)."""
    assert entity is not None
    current = hass.states.get(entity)
    assert current is not None, entity
    return current.state
