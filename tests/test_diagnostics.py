"""Diagnostics: useful to support, with nothing that identifies the user's dashboard or servers."""

from __future__ import annotations

import json

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from yarl import URL

from nezha_simulator import NezhaSimulator

from .conftest import TOKEN, setup_entry


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """Settings and both coordinators' data, with the token, address and every IP redacted."""
    await setup_entry(hass, config_entry)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, config_entry)

    assert diagnostics == snapshot
    text = json.dumps(diagnostics)
    for secret in (TOKEN, f":{URL(fleet.url).port}", config_entry.title):
        assert secret not in text
    for server in fleet.servers.values():
        for address in (server.host.ipv4, server.host.ipv6):
            if address:
                assert address not in text
    assert diagnostics["servers"]["data"]["servers"]["1"]["status"]["cpu"] == 42.5


async def test_diagnostics_with_monitors_off(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
) -> None:
    """No monitor coordinator, no monitor section."""
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(config_entry, options={"monitor_interval": 0})
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, config_entry)
    assert diagnostics["monitors"] is None
    assert diagnostics["entry"]["options"] == {"monitor_interval": 0}
