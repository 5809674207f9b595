"""Reauth and reconfigure flows for every kind of credential."""

from __future__ import annotations

import logging
from typing import Any
from unittest.mock import ANY, AsyncMock

from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult
from homeassistant.const import (
    CONF_API_TOKEN,
    CONF_PASSWORD,
    CONF_URL,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    get_schema_suggested_value,
)

from custom_components.nezha.api import (
    Login,
    NezhaAuthError,
    NezhaUnsupportedVersionError,
)
from custom_components.nezha.const import (
    CONF_API,
    CONF_TAG,
    DOMAIN,
)
from custom_components.nezha.flow_helpers import NO_ERROR_PLACEHOLDERS

from .flow_fixtures import (
    BAD_PASSWORD,
    BAD_PAT,
    BAD_TOKEN,
    CHECK_ERRORS,
    DETECT_ERRORS,
    LOGIN_DATA,
    NEW_PASSWORD,
    NEW_PAT,
    NEW_TOKEN,
    OLD_PASSWORD,
    PAT_DATA,
    URL,
    URL_INPUT,
    USERNAME,
    V0_DATA,
    MockDashboard,
    add_entry,
    assert_form,
    assert_logged,
    choose,
    field_names,
    fields,
    is_required,
    load_entry,
    setup_holds_a_client,  # noqa: F401  (a fixture, used by name)
    submit,
)
from .log_check import UNEXPECTED_FLOW_ERROR

pytestmark = pytest.mark.usefixtures("mock_setup_entry", "setup_holds_a_client")


# Reauth


@pytest.mark.parametrize(
    ("data", "new_token", "step"),
    [(V0_DATA, NEW_TOKEN, "reauth_api_token"), (PAT_DATA, NEW_PAT, "reauth_access_token")],
    ids=["v0", "pat"],
)
async def test_reauth_token_entry(
    hass: HomeAssistant,
    mock_setup_entry: AsyncMock,
    dashboard: MockDashboard,
    data: dict[str, Any],
    new_token: str,
    step: str,
) -> None:
    """A 0.x token or 2.x access token entry asks for a new token only, in a step that names
    it; it is checked against the entry's dashboard (no detection), stored, and the entry
    reloaded."""
    entry = add_entry(hass, data, {CONF_TAG: "web"})
    result = await entry.start_reauth_flow(hass)
    assert_form(result, step, {})
    assert result["description_placeholders"] == {
        "name": "nezha.example.com",
        "url": URL,
        **NO_ERROR_PLACEHOLDERS,
        "username": "",
    }
    assert field_names(result) == [CONF_API_TOKEN]
    assert get_schema_suggested_value(fields(result), CONF_API_TOKEN) is None

    result = await submit(hass, result, {CONF_API_TOKEN: f" {new_token} "})
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    dashboard.detect.assert_not_awaited()
    dashboard.created.assert_called_once_with(data[CONF_API], ANY, URL, new_token)
    assert entry.data == {**data, CONF_API_TOKEN: new_token}
    assert entry.title == "nezha.example.com"
    assert entry.options == {CONF_TAG: "web"}
    assert len(mock_setup_entry.mock_calls) == 1  # reloaded


async def test_reauth_login_entry(
    hass: HomeAssistant, mock_setup_entry: AsyncMock, dashboard: MockDashboard
) -> None:
    """A login entry shows its user name and asks only for the password, kept as typed."""
    entry = add_entry(hass, LOGIN_DATA)
    result = await entry.start_reauth_flow(hass)
    assert_form(result, "reauth_login", {})
    assert result["description_placeholders"]["username"] == USERNAME
    assert field_names(result) == [CONF_PASSWORD]

    result = await submit(hass, result, {CONF_PASSWORD: NEW_PASSWORD})
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    dashboard.created.assert_called_once_with("v1", ANY, URL, Login(USERNAME, NEW_PASSWORD))
    assert entry.data == {**LOGIN_DATA, CONF_PASSWORD: NEW_PASSWORD}
    assert len(mock_setup_entry.mock_calls) == 1


async def test_reauth_login_on_an_upgraded_dashboard_stores_v2(
    hass: HomeAssistant, dashboard: MockDashboard
) -> None:
    """A 1.x login entry whose dashboard now answers as 2.x is stored as v2."""
    entry = add_entry(hass, LOGIN_DATA)
    dashboard.upgraded_to_2x()
    result = await entry.start_reauth_flow(hass)
    result = await submit(hass, result, {CONF_PASSWORD: NEW_PASSWORD})
    assert result["reason"] == "reauth_successful"
    assert entry.data == {**LOGIN_DATA, CONF_PASSWORD: NEW_PASSWORD, CONF_API: "v2"}


REAUTH_ROUTES = [
    pytest.param(
        V0_DATA, CONF_API_TOKEN, BAD_TOKEN, NEW_TOKEN, "reauth_api_token", "api_token", id="v0"
    ),
    pytest.param(
        PAT_DATA, CONF_API_TOKEN, BAD_PAT, NEW_PAT, "reauth_access_token", "access_token", id="pat"
    ),
    pytest.param(
        LOGIN_DATA,
        CONF_PASSWORD,
        BAD_PASSWORD,
        NEW_PASSWORD,
        "reauth_login",
        "password",
        id="login",
    ),
]
"""Each kind of entry's reauth: (data, field, refused, working, step, credential)."""


@pytest.mark.parametrize(
    ("data", "typed", "error"),
    [(V0_DATA, NEW_PAT, "api_token_format"), (PAT_DATA, NEW_TOKEN, "access_token_format")],
    ids=["v0", "pat"],
)
async def test_reauth_token_of_the_wrong_shape(
    hass: HomeAssistant, dashboard: MockDashboard, data: dict[str, Any], typed: str, error: str
) -> None:
    """The other generation's token is refused under the field, nothing sent."""
    entry = add_entry(hass, data)
    result = await entry.start_reauth_flow(hass)
    result = await submit(hass, result, {CONF_API_TOKEN: f"Bearer {typed}"})
    assert result["errors"] == {CONF_API_TOKEN: error}
    dashboard.created.assert_not_called()


@UNEXPECTED_FLOW_ERROR
@pytest.mark.parametrize(
    ("side_effect", "error"),
    [*CHECK_ERRORS, (NezhaUnsupportedVersionError("answers like 2.x"), "version_changed")],
)
@pytest.mark.parametrize(("data", "field", "refused", "working", "step", "kind"), REAUTH_ROUTES)
async def test_reauth_errors_then_recover(
    hass: HomeAssistant,
    dashboard: MockDashboard,
    caplog: pytest.LogCaptureFixture,
    data: dict[str, Any],
    field: str,
    refused: str,
    working: str,
    step: str,
    kind: str,
    side_effect: Exception,
    error: str,
) -> None:
    """Each failure shows the form again with what was typed (a refusal names the credential or
    its cause), the entry untouched; a working credential finishes."""
    caplog.set_level(logging.DEBUG, logger="custom_components.nezha")
    entry = add_entry(hass, data)
    result = await entry.start_reauth_flow(hass)
    dashboard.servers.side_effect = side_effect
    result = await submit(hass, result, {field: refused})
    error = error.format(kind=kind)
    assert_form(result, step, {"base": error})
    assert get_schema_suggested_value(fields(result), field) == refused
    assert_logged(caplog, side_effect, error)
    assert entry.data == data

    dashboard.servers.side_effect = None
    result = await submit(hass, result, {field: working})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data == {**data, field: working}


@pytest.mark.parametrize(
    ("data", "field", "step"),
    [
        (PAT_DATA, CONF_API_TOKEN, "reauth_access_token"),
        (LOGIN_DATA, CONF_PASSWORD, "reauth_login"),
    ],
    ids=["pat", "login"],
)
async def test_reauth_empty_secret_is_required(
    hass: HomeAssistant, dashboard: MockDashboard, data: dict[str, Any], field: str, step: str
) -> None:
    """As in the other steps, an empty credential is refused on its field with no request."""
    entry = add_entry(hass, data)
    result = await entry.start_reauth_flow(hass)
    result = await submit(hass, result, {field: " " if field == CONF_API_TOKEN else ""})
    dashboard.created.assert_not_called()
    assert_form(result, step, {field: "required"})


# Reconfigure


async def _reconfigure_to(
    hass: HomeAssistant, entry: MockConfigEntry, step: str
) -> ConfigFlowResult:
    """Reconfigure ``entry`` (same URL) up to credential step ``step``, through the 2.x menu."""
    result = await submit(hass, await entry.start_reconfigure_flow(hass), URL_INPUT)
    if result["type"] is FlowResultType.MENU:
        result = await choose(hass, result, step)
    return result


async def test_reconfigure_form(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """The form shows the entry's URL and certificate check, never its credential."""
    result = await entry.start_reconfigure_flow(hass)
    assert_form(result, "reconfigure", {})
    assert result["description_placeholders"] == {
        "name": "nezha.example.com",
        "example_url": ANY,
        **NO_ERROR_PLACEHOLDERS,
    }
    assert field_names(result) == [CONF_URL, CONF_VERIFY_SSL]
    assert get_schema_suggested_value(fields(result), CONF_URL) == URL
    assert get_schema_suggested_value(fields(result), CONF_VERIFY_SSL) is True


async def test_reconfigure_v0(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mock_setup_entry: AsyncMock,
    mock_unload_entry: AsyncMock,
    dashboard: MockDashboard,
) -> None:
    """URL, token and certificate check change; the title follows the URL; the entry reloads."""
    await load_entry(hass, entry)
    result = await entry.start_reconfigure_flow(hass)
    result = await submit(
        hass, result, {CONF_URL: "http://Monitor.example.org:8008/nezha/", CONF_VERIFY_SSL: False}
    )
    assert_form(result, "reconfigure_api_token", {})
    assert not is_required(result, CONF_API_TOKEN)  # empty keeps the current token
    assert get_schema_suggested_value(fields(result), CONF_API_TOKEN) is None  # never shown
    result = await submit(hass, result, {CONF_API_TOKEN: NEW_TOKEN})
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.title == "monitor.example.org:8008/nezha"
    assert entry.data == {
        CONF_URL: "http://monitor.example.org:8008/nezha",
        CONF_API_TOKEN: NEW_TOKEN,
        CONF_VERIFY_SSL: False,
        CONF_API: "v0",
    }
    assert entry.options == {CONF_TAG: "web"}
    assert len(mock_unload_entry.mock_calls) == 1
    assert len(mock_setup_entry.mock_calls) == 2
    assert entry.state is ConfigEntryState.LOADED


@pytest.mark.parametrize("token_input", [{}, {CONF_API_TOKEN: ""}, {CONF_API_TOKEN: "  "}])
@pytest.mark.parametrize(("data", "api"), [(V0_DATA, "v0"), (PAT_DATA, "v2")], ids=["v0", "pat"])
async def test_reconfigure_keeps_token_when_left_empty(
    hass: HomeAssistant,
    dashboard: MockDashboard,
    data: dict[str, Any],
    api: str,
    token_input: dict[str, Any],
) -> None:
    """An empty token field keeps (and checks) the current token of the same generation."""
    entry = add_entry(hass, data)
    dashboard.answers_as(api)
    result = await entry.start_reconfigure_flow(hass)
    result = await submit(
        hass, result, {CONF_URL: "https://nezha.example.com:8443", CONF_VERIFY_SSL: True}
    )
    if api == "v2":
        result = await choose(hass, result, "token")
    # The step that says an empty field keeps the token.
    assert_form(result, "reconfigure_api_token" if api == "v0" else "reconfigure_token", {})
    result = await submit(hass, result, token_input)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    dashboard.created.assert_called_once_with(
        api, ANY, "https://nezha.example.com:8443", data[CONF_API_TOKEN]
    )
    assert entry.data == {**data, CONF_URL: "https://nezha.example.com:8443"}
    assert entry.title == "nezha.example.com:8443"


@pytest.mark.parametrize("password_input", [{}, {CONF_PASSWORD: ""}])
@pytest.mark.parametrize("api", ["v1", "v2"])
async def test_reconfigure_keeps_password_when_left_empty(
    hass: HomeAssistant, dashboard: MockDashboard, api: str, password_input: dict[str, Any]
) -> None:
    """A 1.x login entry, its dashboard still 1.x or now 2.x: the user name is suggested, an
    empty password keeps the current one (the login is the same after an upgrade)."""
    entry = add_entry(hass, LOGIN_DATA)
    dashboard.answers_as(api)
    result = await _reconfigure_to(hass, entry, "login")
    assert_form(result, "reconfigure_login", {})
    assert get_schema_suggested_value(fields(result), CONF_USERNAME) == USERNAME
    assert not is_required(result, CONF_PASSWORD)
    result = await submit(hass, result, {CONF_USERNAME: USERNAME, **password_input})
    assert result["reason"] == "reconfigure_successful"
    dashboard.created.assert_called_once_with(api, ANY, URL, Login(USERNAME, OLD_PASSWORD))
    assert entry.data == {**LOGIN_DATA, CONF_API: api}


async def test_reconfigure_login_errors_keep_the_user_name(
    hass: HomeAssistant, dashboard: MockDashboard
) -> None:
    """A refused new password shows the form again with the user name typed, not the stored one."""
    entry = add_entry(hass, LOGIN_DATA)
    dashboard.answers_as("v1")
    result = await submit(hass, await entry.start_reconfigure_flow(hass), URL_INPUT)
    dashboard.servers.side_effect = NezhaAuthError("refused")
    result = await submit(hass, result, {CONF_USERNAME: "other", CONF_PASSWORD: BAD_PASSWORD})
    assert_form(result, "reconfigure_login", {"base": "password_refused"})
    assert get_schema_suggested_value(fields(result), CONF_USERNAME) == "other"
    assert get_schema_suggested_value(fields(result), CONF_PASSWORD) == BAD_PASSWORD
    dashboard.servers.side_effect = None
    result = await submit(hass, result, {CONF_USERNAME: "other", CONF_PASSWORD: NEW_PASSWORD})
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {**LOGIN_DATA, CONF_USERNAME: "other", CONF_PASSWORD: NEW_PASSWORD}


@pytest.mark.parametrize(
    ("data", "api", "step", "new"),
    [
        pytest.param(
            PAT_DATA,
            "v2",
            "login",
            {CONF_USERNAME: USERNAME, CONF_PASSWORD: NEW_PASSWORD},
            id="pat-to-login",
        ),
        pytest.param(LOGIN_DATA, "v2", "token", {CONF_API_TOKEN: NEW_PAT}, id="login-to-pat"),
        pytest.param(V0_DATA, "v2", "token", {CONF_API_TOKEN: NEW_PAT}, id="v0-token-to-pat"),
        pytest.param(
            PAT_DATA, "v0", "api_token", {CONF_API_TOKEN: NEW_TOKEN}, id="pat-to-v0-token"
        ),
        pytest.param(LOGIN_DATA, "v0", "api_token", {CONF_API_TOKEN: NEW_TOKEN}, id="login-to-v0"),
    ],
)
async def test_reconfigure_switching_kinds_needs_a_new_credential(
    hass: HomeAssistant,
    dashboard: MockDashboard,
    data: dict[str, Any],
    api: str,
    step: str,
    new: dict[str, str],
) -> None:
    """A credential of another kind (or a token of another generation) can't be kept: the field
    is required; the old credential leaves the entry."""
    entry = add_entry(hass, data)
    dashboard.answers_as(api)
    result = await _reconfigure_to(hass, entry, step)
    field = CONF_PASSWORD if step == "login" else CONF_API_TOKEN
    assert is_required(result, field)
    result = await submit(hass, result, {**new, field: ""})
    assert_form(result, step, {field: "required"})
    dashboard.created.assert_not_called()

    result = await submit(hass, result, new)
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {CONF_URL: URL, CONF_VERIFY_SSL: True, CONF_API: api, **new}


def _add_devices(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, str]:
    """The dashboard device and two server devices, each with an entity: name to entity id."""
    devices = dr.async_get(hass)
    entities = er.async_get(hass)
    dashboard_device = devices.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, entry.entry_id)}
    )
    entity_ids = {
        "dashboard": entities.async_get_or_create(
            "sensor",
            DOMAIN,
            f"{entry.entry_id}_servers",
            config_entry=entry,
            device_id=dashboard_device.id,
        ).entity_id
    }
    for server_id in (1, 7):
        device = devices.async_get_or_create(
            config_entry_id=entry.entry_id,
            identifiers={(DOMAIN, f"{entry.entry_id}_{server_id}")},
            via_device_id=dashboard_device.id,
        )
        entity_ids[f"server {server_id}"] = entities.async_get_or_create(
            "sensor",
            DOMAIN,
            f"{entry.entry_id}_{server_id}_cpu",
            config_entry=entry,
            device_id=device.id,
        ).entity_id
    return entity_ids


@pytest.mark.parametrize(
    ("data", "api", "step", "credential", "servers_kept"),
    [
        pytest.param(V0_DATA, "v2", "token", {CONF_API_TOKEN: NEW_PAT}, False, id="v0-to-v2"),
        pytest.param(
            V0_DATA,
            "v1",
            "login",
            {CONF_USERNAME: USERNAME, CONF_PASSWORD: NEW_PASSWORD},
            False,
            id="v0-to-v1",
        ),
        pytest.param(V0_DATA, "v0", "token", {}, True, id="v0-to-v0"),
        pytest.param(LOGIN_DATA, "v2", "login", {CONF_USERNAME: USERNAME}, True, id="v1-to-v2"),
    ],
)
async def test_reconfigure_from_v0_removes_the_server_devices(
    hass: HomeAssistant,
    mock_unload_entry: AsyncMock,
    dashboard: MockDashboard,
    data: dict[str, Any],
    api: str,
    step: str,
    credential: dict[str, str],
    servers_kept: bool,
) -> None:
    """0.x to 1.x/2.x: the new dashboard numbers its servers anew, so the 0.x server devices
    (and their entities) go before the reload; the dashboard device stays. Within a database
    (0.x to 0.x, 1.x upgraded to 2.x) every device stays."""
    entry = add_entry(hass, data)
    await load_entry(hass, entry)
    entity_ids = _add_devices(hass, entry)
    dashboard.answers_as(api)
    result = await _reconfigure_to(hass, entry, step)
    result = await submit(hass, result, credential)
    await hass.async_block_till_done()
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_API] == api
    assert entry.state is ConfigEntryState.LOADED

    devices = dr.async_get(hass)
    identifiers = {
        identifier
        for device in dr.async_entries_for_config_entry(devices, entry.entry_id)
        for identifier in device.identifiers
    }
    servers = {(DOMAIN, f"{entry.entry_id}_1"), (DOMAIN, f"{entry.entry_id}_7")}
    assert identifiers == {(DOMAIN, entry.entry_id)} | (servers if servers_kept else set())
    entities = er.async_get(hass)
    assert entities.async_get(entity_ids["dashboard"]) is not None
    for name in ("server 1", "server 7"):
        assert (entities.async_get(entity_ids[name]) is not None) is servers_kept


async def test_reconfigure_same_url(
    hass: HomeAssistant, entry: MockConfigEntry, dashboard: MockDashboard
) -> None:
    """The entry's own URL (written differently) is not a duplicate of itself."""
    result = await entry.start_reconfigure_flow(hass)
    result = await submit(
        hass, result, {CONF_URL: "HTTPS://nezha.example.com/", CONF_VERIFY_SSL: False}
    )
    result = await submit(hass, result, {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {**V0_DATA, CONF_VERIFY_SSL: False}


async def test_reconfigure_already_configured(
    hass: HomeAssistant, entry: MockConfigEntry, dashboard: MockDashboard
) -> None:
    """Pointing an entry at another entry's dashboard aborts before any request."""
    add_entry(hass, {**LOGIN_DATA, CONF_URL: "https://other.example.com/nezha"})
    result = await entry.start_reconfigure_flow(hass)
    result = await submit(
        hass, result, {CONF_URL: "https://Other.example.com/nezha/", CONF_VERIFY_SSL: True}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    dashboard.detect.assert_not_awaited()
    assert entry.data == V0_DATA


@UNEXPECTED_FLOW_ERROR
@pytest.mark.parametrize(("side_effect", "error"), DETECT_ERRORS)
async def test_reconfigure_errors_then_recover(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    dashboard: MockDashboard,
    caplog: pytest.LogCaptureFixture,
    side_effect: Exception,
    error: str,
) -> None:
    """Each detection failure shows the form again with the input kept; fixing it updates the
    entry."""
    caplog.set_level(logging.DEBUG, logger="custom_components.nezha")
    result = await entry.start_reconfigure_flow(hass)
    dashboard.detect.side_effect = side_effect
    user_input = {CONF_URL: "https://new.example.com", CONF_VERIFY_SSL: False}
    result = await submit(hass, result, user_input)
    assert_form(result, "reconfigure", {"base": error})
    assert get_schema_suggested_value(fields(result), CONF_URL) == "https://new.example.com"
    assert get_schema_suggested_value(fields(result), CONF_VERIFY_SSL) is False
    assert_logged(caplog, side_effect, error)
    assert entry.data == V0_DATA

    dashboard.detect.side_effect = None
    result = await submit(hass, result, user_input)
    result = await submit(hass, result, {CONF_API_TOKEN: NEW_TOKEN})
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {
        **V0_DATA,
        CONF_URL: "https://new.example.com",
        CONF_API_TOKEN: NEW_TOKEN,
        CONF_VERIFY_SSL: False,
    }


async def test_reconfigure_invalid_url_then_recovers(
    hass: HomeAssistant, entry: MockConfigEntry, dashboard: MockDashboard
) -> None:
    """A URL without a scheme is refused on the field; a good one then saves."""
    result = await entry.start_reconfigure_flow(hass)
    result = await submit(hass, result, {CONF_URL: "nezha.example.org", CONF_VERIFY_SSL: True})
    assert_form(result, "reconfigure", {CONF_URL: "invalid_url"})
    dashboard.detect.assert_not_awaited()

    result = await submit(
        hass, result, {CONF_URL: "https://nezha.example.org", CONF_VERIFY_SSL: True}
    )
    result = await submit(hass, result, {})
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_URL] == "https://nezha.example.org"
