"""Diagnostics: useful to support, with nothing that identifies the user's dashboard or servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import json
from typing import Any

from homeassistant.const import CONF_API_TOKEN
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from yarl import URL

from nezha_simulator import NezhaSimulator

from .conftest import TOKEN, setup_entry
from .test_generations import INVENTORY_SCOPE, SERVICE_SCOPE, entry_for
from .test_live import quick_stream, wait_for

__all__ = ["quick_stream"]  # test_live.py's short stall and reconnect times, here too


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


async def test_diagnostics_of_cycles_and_billing(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, fleet: NezhaSimulator
) -> None:
    """1.x/2.x: the parsed cycles and billing terms; no note text, monitor name or secret."""
    note = (
        '{"billingDataMod":{"endDate":"2027-01-13T00:00:00+08:00","autoRenewal":"0",'
        '"cycle":"Year","amount":"$48"},"planDataMod":{"extra":"root@198.51.100.7"}}'
    )
    fleet.server(1).public_note = note
    rule = fleet.add_cycle_rule(
        "Monthly", max_bytes=1000, cycle_start=datetime(2025, 11, 1, tzinfo=UTC), server_ids=[1]
    )
    fleet.set_cycle_transfer(rule, 1, 400)
    fleet.set_service_current(1, up=30, down=0)
    entry = entry_for(fleet, "v2", scopes=(INVENTORY_SCOPE, SERVICE_SCOPE))
    await setup_entry(hass, entry)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    services = diagnostics["services"]
    assert services["last_update_success"] is True
    usage = services["data"]["cycles"]["1"]["servers"]["1"]
    assert (usage["used"], usage["quota"]) == (400, 1000)
    assert usage["end"] == "2025-12-01T00:00:00+00:00"
    assert services["data"]["services"]["1"]["current_up"] == 30
    assert diagnostics["billing"]["1"] == {
        "expiry": "2027-01-13T00:00:00+08:00",
        "never_expires": False,
        "amount": "$48",
        "cycle": "year",
        "auto_renewal": False,
    }
    text = json.dumps(diagnostics)
    for hidden in ("198.51.100.7", "Ping 1.1.1.1", entry.data[CONF_API_TOKEN]):
        assert hidden not in text


def diagnostics_text(value: Any) -> list[str]:
    """Every key and value of the diagnostics, as text."""
    if isinstance(value, dict):
        return [t for key, item in value.items() for t in (str(key), *diagnostics_text(item))]
    if isinstance(value, list | tuple):
        return [t for item in value for t in diagnostics_text(item)]
    return [str(value)]


@pytest.mark.parametrize(("generation", "login"), [("v0", False), ("v1", True), ("v2", False)])
async def test_diagnostics_name_no_address_or_credential_after_a_failure(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    fleet: NezhaSimulator,
    generation: str,
    login: bool,
) -> None:
    """0.x token, 1.x login, 2.x access token: the dashboard goes away (refused connections);
    nowhere in diagnostics is its host, its port, the user name, the password, a token or a
    JWT (the stream's last error once quoted "Cannot connect to host 127.0.0.1:…")."""
    entry = entry_for(fleet, generation, login=login, live_updates=generation != "v0")
    await setup_entry(hass, entry)
    url = URL(fleet.url)
    updates = entry.runtime_data.live
    if updates is not None:
        await wait_for(lambda: updates.state.connected_since is not None)
    await fleet.stop()
    if updates is not None:
        await wait_for(lambda: updates.state.reconnects >= 2)  # one refused connection at least
        # A list read failing right after a frame is held; with no threshold it fails at once.
        entry.runtime_data.servers.online_threshold = timedelta(0)
    await entry.runtime_data.servers.async_refresh()
    assert not entry.runtime_data.servers.last_update_success

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    bearers = {r.authorization.split()[-1] for r in fleet.requests if r.authorization}
    secrets = {str(url.host), str(url.port), *bearers}
    secrets.update(str(value) for key, value in entry.data.items() if key not in ("url", "api"))
    secrets.discard("True")  # verify_ssl
    found = {
        secret for text in diagnostics_text(diagnostics) for secret in secrets if secret in text
    }
    assert not found
    if updates is not None:
        assert diagnostics["live"]["last_error"] == "ClientConnectorError: Connection refused"
