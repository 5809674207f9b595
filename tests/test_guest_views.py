"""A login whose JWT silently stops working: guest answers are no answers about the fleet.

A 2.x dashboard with a real-IP header binds each JWT session to the address it logged in from.
When this host's address changes, routes that need a login refuse the JWT (and the client logs
in again), but public routes (``/service``, ``/server-group``) answer it as a guest: servers
hidden from guests, and their cycles, are missing from those answers. Nothing may be removed,
or shown unavailable, because of such an answer.
"""

from __future__ import annotations

from collections import Counter

import aiohttp
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er, issue_registry as ir
import pytest

from custom_components.nezha.api import Login, NezhaResponseError, NezhaV1Client
from custom_components.nezha.const import (
    CONF_GROUP_ID,
    CONF_GROUP_NAME,
    CONF_MONITOR_INTERVAL,
    CONF_SCAN_INTERVAL,
    DOMAIN,
)
from nezha_simulator import NezhaSimulator

from .conftest import poll, setup_entry
from .test_generations import ENTRY_ID, entry_for
from .test_services import TCP_UP, USED, requests_to, state, world  # noqa: F401 (the world fixture)

PEER_IP = "NZ::Use-Peer-IP"
"""``web_real_ip_header`` set to the socket's peer: JWT sessions are bound to 127.0.0.1."""
ELSEWHERE = "192.0.2.1"
VPS_USED = "sensor.vps_hk_monthly_1_tib_traffic_used"


async def test_cycles_of_hidden_servers_survive_guest_answers(
    hass: HomeAssistant,
    world: NezhaSimulator,  # noqa: F811
    freezer: FrozenDateTimeFactory,
    entity_registry: er.EntityRegistry,
) -> None:
    """``/service`` seen as a guest lacks gpu-box's cycle and a hidden monitor: asked again."""
    world.real_ip_header = PEER_IP
    world.server(1).hide_for_guest = True
    world.monitors[sorted(world.monitors)[1]].hide_for_guest = True
    # The server list (which needs the login, so it would notice) is read far less often.
    entry = entry_for(
        world, "v2", login=True, **{CONF_SCAN_INTERVAL: 3600, CONF_MONITOR_INTERVAL: 60}
    )
    await setup_entry(hass, entry)
    used, tcp_up = state(hass, USED), state(hass, TCP_UP)
    logins = world.login_count

    world.move_sessions(ELSEWHERE)
    for _ in range(4):
        await poll(hass, freezer, 60)
        assert (state(hass, USED), state(hass, TCP_UP)) == (used, tcp_up)
    assert entity_registry.async_get(USED) is not None
    assert world.login_count == logins + 1  # one new login, then its JWT serves every poll
    assert state(hass, VPS_USED) == "10.0"


async def test_an_access_token_needs_no_proof(
    hass: HomeAssistant,
    world: NezhaSimulator,  # noqa: F811
    freezer: FrozenDateTimeFactory,
) -> None:
    """A personal access token is never taken for a guest: ``/service`` alone is asked."""
    await setup_entry(
        hass, entry_for(world, "v2", scopes=("nezha:inventory:read", "nezha:service:read"))
    )
    asked = requests_to(world, "/api/v1/alert-rule")
    await poll(hass, freezer, 60)
    assert requests_to(world, "/api/v1/alert-rule") == asked


async def test_group_members_hidden_from_guests_stay(
    hass: HomeAssistant,
    world: NezhaSimulator,  # noqa: F811
    freezer: FrozenDateTimeFactory,
    device_registry: dr.DeviceRegistry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A guest sees no group "prod" (its servers are hidden): no "group is empty" issue."""
    world.real_ip_header = PEER_IP
    world.server(2).hide_for_guest = True
    world.server(3).hide_for_guest = True
    groups = {name: group_id for group_id, name, _ in world.server_groups()}
    entry = entry_for(
        world, "v2", login=True, **{CONF_GROUP_ID: groups["prod"], CONF_GROUP_NAME: "prod"}
    )
    await setup_entry(hass, entry)
    assert state(hass, "sensor.vps_hk_cpu_usage") != "unavailable"

    world.move_sessions(ELSEWHERE)
    await poll(hass, freezer)
    assert issue_registry.async_get_issue(DOMAIN, f"tag_not_found_{ENTRY_ID}") is None
    assert state(hass, "sensor.vps_hk_cpu_usage") != "unavailable"
    device = device_registry.async_get_device_by_identifier((DOMAIN, f"{ENTRY_ID}_2"), ENTRY_ID)
    assert device is not None


async def test_the_options_see_the_groups_of_the_login(
    world: NezhaSimulator,  # noqa: F811
    http: aiohttp.ClientSession,
) -> None:
    """The group list the options offer is the login's, not a guest's (which lacks "prod")."""
    world.generation = "v2"
    world.real_ip_header = PEER_IP
    world.server(2).hide_for_guest = True
    world.server(3).hide_for_guest = True
    client = NezhaV1Client(http, world.url, Login("admin", world.admin.password), api_version="v2")
    groups = await client.async_get_groups()
    assert sorted(groups.values()) == ["lab", "prod"]

    world.move_sessions(ELSEWHERE)
    assert await client.async_get_groups() == groups


async def test_a_login_whose_jwts_never_last_gets_no_guest_answer(
    world: NezhaSimulator,  # noqa: F811
    http: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each JWT works once (the host shows a new address every request): an error, no guess."""
    world.generation = "v2"
    checks: Counter[str] = Counter()
    check = world.jwt_user

    def once(token: str, ip: str, *, v2: bool) -> tuple[str, object]:
        checks[token] += 1
        return check(token, ip, v2=v2) if checks[token] == 1 else ("bad", None)

    monkeypatch.setattr(world, "jwt_user", once)
    client = NezhaV1Client(http, world.url, Login("admin", world.admin.password), api_version="v2")
    with pytest.raises(NezhaResponseError, match="keeps refusing"):
        await client.async_get_services()
    assert world.login_count == 3
