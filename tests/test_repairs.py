"""Every repair issue goes when its cause does, whichever way the cause goes.

The kinds and what withdraws them: ``dashboard_upgraded`` (a good server list: the dashboard is
0.x again, or Reconfigure reloaded the entry), ``tag_not_found`` and ``no_servers`` (a list with
servers, the user choosing another group in the options, or, for ``no_servers``, the user deleting
the last of the devices by hand), ``missing_scope`` (a good monitor
or ``/service`` poll after Reconfigure, or monitors turned off in the options). Removing the
entry withdraws all of them.
"""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.nezha.const import DOMAIN
from nezha_simulator import NezhaSimulator

from .conftest import poll, setup_entry
from .test_generations import ENTRY_ID, INVENTORY_SCOPE, entry_for
from .test_group_change import choose, setup_for_tag


async def test_monitors_turned_off_withdraw_the_missing_scope_issue(
    hass: HomeAssistant, fleet: NezhaSimulator, issue_registry: ir.IssueRegistry
) -> None:
    """The options text suggests it to a token without the scope: the issue must go then."""
    entry = entry_for(fleet, "v2", scopes=(INVENTORY_SCOPE,))
    await setup_entry(hass, entry)
    assert issue_registry.async_get_issue(DOMAIN, f"missing_scope_{ENTRY_ID}") is not None

    await choose(hass, entry, None, monitor_interval=0)
    assert entry.state is ConfigEntryState.LOADED
    assert issue_registry.async_get_issue(DOMAIN, f"missing_scope_{ENTRY_ID}") is None


@pytest.fixture
async def empty_group_issue(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
) -> str:
    """A 0.x entry for tag "prod" whose servers moved to "production": its issue's id."""
    await setup_for_tag(hass, config_entry, "prod")
    fleet.set_tag(2, "production")
    fleet.set_tag(3, "production")
    await poll(hass, freezer)
    issue_id = f"tag_not_found_{config_entry.entry_id}"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    return issue_id


async def test_another_group_withdraws_the_empty_group_issue_at_once(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    empty_group_issue: str,
) -> None:
    """The issue is about the old choice: it goes with it, even while the dashboard is down."""
    await choose(hass, config_entry, "lab", before_saving=lambda: fleet.fail_next(5))
    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    assert issue_registry.async_get_issue(DOMAIN, empty_group_issue) is None


async def test_all_servers_of_an_empty_dashboard_is_the_other_issue(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    empty_group_issue: str,
) -> None:
    """Group "prod" -> all servers, and the dashboard has none: "no servers" replaces it."""

    def empty_the_dashboard() -> None:
        for server_id in list(fleet.servers):
            fleet.remove_server(server_id)

    await choose(hass, config_entry, None, before_saving=empty_the_dashboard)
    assert issue_registry.async_get_issue(DOMAIN, empty_group_issue) is None
    no_servers = issue_registry.async_get_issue(DOMAIN, f"no_servers_{config_entry.entry_id}")
    assert no_servers is not None


async def test_deleting_every_device_of_an_emptied_dashboard_ends_its_issue(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    device_registry: dr.DeviceRegistry,
    issue_registry: ir.IssueRegistry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """The issue's own advice: once the last device is deleted by hand, the issue goes at once."""
    assert await async_setup_component(hass, "config", {})
    await setup_entry(hass, config_entry)
    for server_id in list(fleet.servers):
        fleet.remove_server(server_id)
    await poll(hass, freezer)
    issue_id = f"no_servers_{config_entry.entry_id}"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None

    client = await hass_ws_client(hass)
    servers = [
        device
        for device in dr.async_entries_for_config_entry(device_registry, config_entry.entry_id)
        if (DOMAIN, config_entry.entry_id) not in device.identifiers
    ]
    for device in servers:
        assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
        await client.send_json_auto_id(
            {"type": "config/device_registry/remove", "device_id": device.id}
        )
        assert (await client.receive_json())["success"]
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
