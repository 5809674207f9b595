"""The options of a running entry against the simulator: no new sign-in, no refused credential sent.

Every sign-in is a new session on the dashboard, and every refused one counts towards its WAF
blocking this host: the options use what the entry already has.
"""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import (
    CONF_API_TOKEN,
    CONF_PASSWORD,
    CONF_URL,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nezha.const import CONF_API, CONF_LIVE_UPDATES, DOMAIN
from nezha_simulator import NezhaSimulator

from .conftest import TOKEN, poll, setup_entry


def _entry(sim: NezhaSimulator, generation: str, *, login: bool = True) -> MockConfigEntry:
    """An entry for ``sim`` shown as ``generation``: 0.x's token, the admin's login, or (2.x) an
    access token.

    Live updates are off: these tests poll.
    """
    sim.generation = generation  # type: ignore[assignment]
    data: dict[str, Any] = {CONF_URL: sim.url, CONF_VERIFY_SSL: True, CONF_API: generation}
    if generation == "v0":
        data[CONF_API_TOKEN] = TOKEN
    elif login:
        data |= {CONF_USERNAME: "admin", CONF_PASSWORD: sim.admin.password}
    else:
        data[CONF_API_TOKEN] = sim.create_pat(("nezha:inventory:read", "nezha:service:read"))
    return MockConfigEntry(
        domain=DOMAIN, title="Nezha", data=data, options={CONF_LIVE_UPDATES: False}
    )


@pytest.mark.parametrize("generation", ["v1", "v2"])
async def test_options_of_a_running_login_sign_in_no_more(
    hass: HomeAssistant, fleet: NezhaSimulator, generation: str
) -> None:
    """Opening the options of a loaded login entry reads the groups with its session: no new
    ``POST /login``, however often it is opened."""
    entry = _entry(fleet, generation)
    await setup_entry(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    assert fleet.login_count == 1
    for _ in range(3):
        result = await hass.config_entries.options.async_init(entry.entry_id)
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {}
        hass.config_entries.options.async_abort(result["flow_id"])
    assert fleet.login_count == 1


async def test_options_of_a_running_access_token_entry(
    hass: HomeAssistant, fleet: NezhaSimulator
) -> None:
    """A 2.x access token entry's options read the groups with the running client."""
    entry = _entry(fleet, "v2", login=False)
    await setup_entry(hass, entry)
    requests = len(fleet.requests)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert [r.path_qs for r in fleet.requests[requests:]] == ["/api/v1/server-group"]


async def test_options_never_send_a_password_refused_while_running(
    hass: HomeAssistant, fleet: NezhaSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """The password changed on the dashboard: the next poll is refused and reauth starts; the
    options then abort naming the password, without a request."""
    entry = _entry(fleet, "v1")
    await setup_entry(hass, entry)
    fleet.admin.password = "changed-on-the-dashboard"
    fleet.revoke_sessions()
    await poll(hass, freezer)
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    requests, logins = len(fleet.requests), fleet.login_count

    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "password_refused"
    assert len(fleet.requests) == requests
    assert fleet.login_count == logins


@pytest.mark.parametrize(
    ("generation", "login", "named", "reason"),
    [
        ("v0", False, "API token", "api_token_refused"),
        ("v2", False, "personal access token", "access_token_refused"),
        ("v2", True, "password of this entry's user", "password_refused"),
    ],
    ids=["api-token", "access-token", "password"],
)
async def test_options_never_send_a_credential_refused_at_setup(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    generation: str,
    login: bool,
    named: str,
    reason: str,
) -> None:
    """Refused when the entry was set up (not loaded, reauth pending): the entry's message and
    the options name the credential, and the options send nothing."""
    entry = _entry(fleet, generation, login=login)
    if login:
        fleet.admin.password = "changed-on-the-dashboard"
    elif generation == "v2":
        fleet.revoke_pat(entry.data[CONF_API_TOKEN])
    else:
        fleet.revoke_token()
    await setup_entry(hass, entry)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert named in (entry.reason or "")  # a login is no "API token"
    requests = len(fleet.requests)

    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == reason
    assert len(fleet.requests) == requests
