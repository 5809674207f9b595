"""A reverse proxy without the websocket upgrade headers: a repair issue says how to fix it.

Recorded behind nginx 1.22 (``ws_through_proxy_without_upgrade.json``): the handshake reaches
the dashboard as a plain GET and gets HTTP 400 ``text/plain`` "Bad Request", while every REST
route works through the same proxy.
"""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.nezha.const import DOMAIN
from nezha_simulator import NezhaSimulator

from .conftest import setup_entry
from .test_generations import ENTRY_ID, entry_for
from .test_live import WS_PATH, quick_stream, streaming, wait_for

__all__ = ["quick_stream", "streaming"]  # the fixtures of test_live.py, used here too

ISSUE_ID = f"live_updates_refused_{ENTRY_ID}"


def refuse_upgrades(sim: NezhaSimulator, status: int = 400) -> None:
    """Answer every handshake as the dashboard answers one that lost its upgrade headers."""
    sim.fail_next(
        10**6,
        status=status,
        body="Bad Request\n",
        content_type="text/plain; charset=utf-8",
        path=WS_PATH,
    )


async def issue_raised(
    hass: HomeAssistant, sim: NezhaSimulator, issue_registry: ir.IssueRegistry
) -> MockConfigEntry:
    """A 2.x entry behind the proxy that drops the upgrade headers, once its issue is raised."""
    refuse_upgrades(sim)
    entry = entry_for(sim, "v2", live_updates=True)
    await setup_entry(hass, entry)
    await wait_for(lambda: issue_registry.async_get_issue(DOMAIN, ISSUE_ID) is not None)
    return entry


async def test_refused_upgrade_raises_a_repair_issue_until_the_stream_is_up(
    hass: HomeAssistant,
    streaming: NezhaSimulator,
    issue_registry: ir.IssueRegistry,
    hass_client: ClientSessionGenerator,
) -> None:
    """HTTP 400 to the upgrade, the REST list fine: a warning issue naming the proxy lines,
    polling meanwhile, diagnostics say so; the proxy fixed, the stream comes up and it goes."""
    refuse_upgrades(streaming)
    entry = entry_for(streaming, "v2", live_updates=True)
    await setup_entry(hass, entry)
    updates = entry.runtime_data.live
    assert updates is not None
    await wait_for(lambda: issue_registry.async_get_issue(DOMAIN, ISSUE_ID) is not None)
    issue = issue_registry.async_get_issue(DOMAIN, ISSUE_ID)
    assert issue is not None
    assert (issue.severity, issue.is_fixable) == (ir.IssueSeverity.WARNING, False)
    assert issue.translation_key == "live_updates_refused"
    assert issue.translation_placeholders == {"title": "Nezha test dashboard"}
    coordinator = entry.runtime_data.servers
    assert coordinator.last_update_success
    assert not coordinator.live  # polled every scan_interval meanwhile
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["live"]["upgrade_refused"] is True
    assert diagnostics["live"]["last_error"] == "the dashboard refused the live stream (HTTP 400)"

    streaming.clear_faults()  # the proxy passes the upgrade now
    await wait_for(lambda: updates.state.connected_since is not None)
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_ID) is None
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["live"]["upgrade_refused"] is False


async def test_other_refusals_raise_no_proxy_issue(
    hass: HomeAssistant, streaming: NezhaSimulator, issue_registry: ir.IssueRegistry
) -> None:
    """A 502 from the proxy is an outage like any other: retried, no repair issue."""
    refuse_upgrades(streaming, 502)
    entry = entry_for(streaming, "v2", live_updates=True)
    await setup_entry(hass, entry)
    updates = entry.runtime_data.live
    assert updates is not None
    await wait_for(lambda: updates.state.reconnects >= 3)
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_ID) is None


async def test_the_issue_goes_with_the_entry(
    hass: HomeAssistant, streaming: NezhaSimulator, issue_registry: ir.IssueRegistry
) -> None:
    """Deleting the entry withdraws its proxy issue, as every other issue of it."""
    entry = await issue_raised(hass, streaming, issue_registry)
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_ID) is None


async def test_turning_live_updates_off_withdraws_the_issue(
    hass: HomeAssistant, streaming: NezhaSimulator, issue_registry: ir.IssueRegistry
) -> None:
    """With the stream off in the options, nothing is refused any more: the issue goes."""
    entry = await issue_raised(hass, streaming, issue_registry)
    hass.config_entries.async_update_entry(entry, options={"live_updates": False})
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.runtime_data.live is None
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_ID) is None
