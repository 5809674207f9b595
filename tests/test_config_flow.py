"""The config flow for every Nezha generation: URL, detection and the credential steps."""

from __future__ import annotations

import json
import logging
from pathlib import Path
import re
from typing import Any
from unittest.mock import ANY, AsyncMock

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
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    get_schema_suggested_value,
)

from custom_components.nezha.api import (
    Login,
    NezhaAuthError,
    NezhaError,
    NezhaPermissionError,
    NezhaSchemeError,
    NezhaUnsupportedVersionError,
)
from custom_components.nezha.config_flow import normalize_url, url_title
from custom_components.nezha.const import (
    CONF_API,
)
from custom_components.nezha.flow_helpers import ERROR_REASONS, NO_ERROR_PLACEHOLDERS

from .conftest import TOKEN
from .flow_fixtures import (
    CHECK_ERRORS,
    CREDENTIAL_ROUTES,
    DETECT_ERRORS,
    EVERY_CLIENT_ERROR,
    KINDS,
    LOGIN_DATA,
    NEW_PASSWORD,
    NEW_PAT,
    NEW_TOKEN,
    PAT_DATA,
    URL,
    URL_INPUT,
    USERNAME,
    V0_DATA,
    MockDashboard,
    add_entry,
    assert_form,
    assert_logged,
    assert_no_secret,
    choose,
    credential_step,
    field_names,
    fields,
    is_required,
    missing_placeholders,
    setup_holds_a_client,  # noqa: F401  (a fixture, used by name)
    start_user,
    submit,
)
from .log_check import UNEXPECTED_FLOW_ERROR

pytestmark = pytest.mark.usefixtures("mock_setup_entry", "setup_holds_a_client")


def _descendants(cls: type[NezhaError]) -> set[type[NezhaError]]:
    """The errors of ``api/errors.py`` (the stream's are never raised to a flow)."""
    return {
        sub
        for child in cls.__subclasses__()
        for sub in (child, *_descendants(child))
        if sub.__module__ == NezhaError.__module__
    }


def test_every_client_error_has_a_reason_and_a_test() -> None:
    """A new error type in the client needs a form error (or abort reason) and a test here; a
    refused credential and a wrong scheme have reasons of their own (``error_reason``)."""
    every = _descendants(NezhaError)
    assert set(ERROR_REASONS) == every - {NezhaAuthError, NezhaSchemeError}
    assert every == EVERY_CLIENT_ERROR


# URL normalisation


@pytest.mark.parametrize(
    ("raw", "normalised", "title"),
    [
        (
            "https://Example.com:8443/nezha/ ",
            "https://example.com:8443/nezha",
            "example.com:8443/nezha",
        ),
        ("http://nezha.example.com", "http://nezha.example.com", "nezha.example.com"),
        ("HTTPS://NEZHA.EXAMPLE.COM/", "https://nezha.example.com", "nezha.example.com"),
        ("  http://10.0.0.5:8008//\n", "http://10.0.0.5:8008", "10.0.0.5:8008"),
        ("https://nezha.example.com:443/", "https://nezha.example.com", "nezha.example.com"),
        (
            "http://nezha.example.com:80/status",
            "http://nezha.example.com/status",
            "nezha.example.com/status",
        ),
        ("http://nezha.example.com:443", "http://nezha.example.com:443", "nezha.example.com:443"),
        ("http://[FE80::1]:8008/", "http://[fe80::1]:8008", "[fe80::1]:8008"),
        ("https://[2001:db8::7]/nezha/", "https://[2001:db8::7]/nezha", "[2001:db8::7]/nezha"),
        ("http://[::1]", "http://[::1]", "[::1]"),
        (
            "https://nezha.example.com/a/b/?x=1#top",
            "https://nezha.example.com/a/b",
            "nezha.example.com/a/b",
        ),
        ("https://nezha.example.com#/", "https://nezha.example.com", "nezha.example.com"),
        ("https://哪吒.example.com/", "https://xn--jqr9s.example.com", "哪吒.example.com"),
        (
            "https://nezha.example.com/my%20panel/",
            "https://nezha.example.com/my%20panel",
            "nezha.example.com/my panel",
        ),
    ],
)
def test_normalize_url(raw: str, normalised: str, title: str) -> None:
    """Scheme and host lowercased; default port, trailing slash, query and fragment dropped."""
    assert normalize_url(raw) == normalised
    assert normalize_url(normalised) == normalised
    assert url_title(normalised) == title


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "nezha.example.com",
        "nezha.example.com:8008",
        "//nezha.example.com",
        "ftp://nezha.example.com",
        "ws://nezha.example.com",
        "https://",
        "https:///nezha",
        "http://:8008",
        "https:nezha.example.com",
        "https://nezha.example.com:99999",
        "http://[::1",
        "https://nezha example.com",
        "https://nezha.example.com/my panel",
        "https://admin:secret@nezha.example.com",
        "https://admin@nezha.example.com",
        "https://:secret@nezha.example.com",
    ],
)
def test_normalize_url_refuses(raw: str) -> None:
    """No scheme, another scheme, no host, a bad port, inner whitespace or user info."""
    with pytest.raises(ValueError):  # noqa: PT011
        normalize_url(raw)


# User step and detection


async def test_user_form(hass: HomeAssistant) -> None:
    """The first step asks only for the URL and the certificate check (on by default)."""
    result = await start_user(hass)
    assert field_names(result) == [CONF_URL, CONF_VERIFY_SSL]
    assert result["description_placeholders"] == {
        "example_url": "https://nezha.example.com:8008",
        **NO_ERROR_PLACEHOLDERS,
    }
    assert missing_placeholders(result) == set()
    verify = next(key for key in fields(result) if key == CONF_VERIFY_SSL)
    assert verify.default() is True


@pytest.mark.parametrize(
    ("api", "kind", "step"),
    [("v0", FlowResultType.FORM, "api_token"), ("v1", FlowResultType.FORM, "login")],
)
async def test_detection_routes_to_the_credential_step(
    hass: HomeAssistant, dashboard: MockDashboard, api: str, kind: FlowResultType, step: str
) -> None:
    """0.x asks for its API token, 1.x for a login (saying it is 1.x); the URL is detected in its
    normal form."""
    dashboard.answers_as(api)
    result = await start_user(hass)
    result = await submit(
        hass, result, {CONF_URL: " HTTPS://Nezha.Example.com/ ", CONF_VERIFY_SSL: False}
    )
    assert result["type"] is kind
    assert_form(result, step, {})
    dashboard.detect.assert_awaited_once_with(ANY, URL)
    generation = {"generation": "1.x"} if api == "v1" else {}
    assert result["description_placeholders"] == {
        "url": URL,
        **NO_ERROR_PLACEHOLDERS,
        **generation,
    }
    dashboard.created.assert_not_called()


async def test_detection_of_2x_offers_a_menu(hass: HomeAssistant, dashboard: MockDashboard) -> None:
    """2.x lets the user choose an access token or a login, then shows that form."""
    dashboard.answers_as("v2")
    result = await start_user(hass)
    result = await submit(hass, result, URL_INPUT)
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "auth_method"
    assert result["menu_options"] == ["token", "login"]
    assert result["description_placeholders"] == {"url": URL}
    assert missing_placeholders(result) == set()

    token = await choose(hass, result, "token")
    assert_form(token, "token", {})
    assert field_names(token) == [CONF_API_TOKEN]
    assert is_required(token, CONF_API_TOKEN)
    login = await choose(
        hass,
        await submit(hass, await start_user(hass), {**URL_INPUT, CONF_URL: URL + "/b"}),
        "login",
    )
    assert_form(login, "login", {})
    assert login["description_placeholders"]["generation"] == "2.x"


async def test_v0_token_creates_entry(
    hass: HomeAssistant, mock_setup_entry: AsyncMock, dashboard: MockDashboard
) -> None:
    """A 0.x dashboard with a good token becomes an entry with the normalised URL."""
    result = await credential_step(
        hass, "api_token", url=" https://Example.com:8443/nezha/ ", verify_ssl=False
    )
    result = await submit(hass, result, {CONF_API_TOKEN: f"  {TOKEN}\n"})
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "example.com:8443/nezha"
    assert result["data"] == {
        CONF_URL: "https://example.com:8443/nezha",
        CONF_API_TOKEN: TOKEN,
        CONF_VERIFY_SSL: False,
        CONF_API: "v0",
    }
    assert result["options"] == {}
    dashboard.created.assert_called_once_with("v0", ANY, "https://example.com:8443/nezha", TOKEN)
    dashboard.servers.assert_awaited_once()
    assert len(mock_setup_entry.mock_calls) == 1


async def test_v2_access_token_creates_entry(hass: HomeAssistant, dashboard: MockDashboard) -> None:
    """A 2.x dashboard through the menu's ``token``: a PAT entry with ``api: v2``."""
    dashboard.answers_as("v2")
    result = await credential_step(hass, "token")
    result = await submit(hass, result, {CONF_API_TOKEN: f" {NEW_PAT} "})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {**PAT_DATA, CONF_API_TOKEN: NEW_PAT}
    dashboard.created.assert_called_once_with("v2", ANY, URL, NEW_PAT)


@pytest.mark.parametrize("api", ["v1", "v2"])
async def test_login_creates_entry(hass: HomeAssistant, dashboard: MockDashboard, api: str) -> None:
    """1.x (its only form) and 2.x (the menu's ``login``): the user name is trimmed, the
    password stored exactly as typed."""
    dashboard.answers_as(api)
    result = await credential_step(hass, "login")
    assert field_names(result) == [CONF_USERNAME, CONF_PASSWORD]
    assert is_required(result, CONF_PASSWORD)
    assert get_schema_suggested_value(fields(result), CONF_USERNAME) == ""
    result = await submit(
        hass, result, {CONF_USERNAME: f" {USERNAME} ", CONF_PASSWORD: NEW_PASSWORD}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "nezha.example.com"
    assert result["data"] == {**LOGIN_DATA, CONF_PASSWORD: NEW_PASSWORD, CONF_API: api}
    dashboard.created.assert_called_once_with(api, ANY, URL, Login(USERNAME, NEW_PASSWORD))


async def test_1x_login_on_an_upgraded_dashboard_stores_v2(
    hass: HomeAssistant, dashboard: MockDashboard
) -> None:
    """Detected as 1.x, its servers answer as 2.x: the client switches and the entry says v2."""
    dashboard.answers_as("v1")
    dashboard.upgraded_to_2x()
    result = await credential_step(hass, "login")
    result = await submit(hass, result, {CONF_USERNAME: USERNAME, CONF_PASSWORD: NEW_PASSWORD})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_API] == "v2"
    dashboard.created.assert_called_once_with("v1", ANY, URL, ANY)


async def test_verify_ssl_defaults_on(hass: HomeAssistant, dashboard: MockDashboard) -> None:
    """Leaving the certificate check alone keeps it on."""
    result = await submit(hass, await start_user(hass), {CONF_URL: URL})
    result = await submit(hass, result, {CONF_API_TOKEN: TOKEN})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_VERIFY_SSL] is True


@UNEXPECTED_FLOW_ERROR
@pytest.mark.parametrize(("side_effect", "error"), DETECT_ERRORS)
async def test_detection_errors_then_recover(
    hass: HomeAssistant,
    dashboard: MockDashboard,
    caplog: pytest.LogCaptureFixture,
    side_effect: Exception,
    error: str,
) -> None:
    """Each failure of detection shows the URL form again with the input kept and the cause in
    the log; once the dashboard answers, the flow goes on to an entry."""
    caplog.set_level(logging.DEBUG, logger="custom_components.nezha")
    dashboard.detect.side_effect = side_effect
    user_input = {CONF_URL: "https://NEZHA.example.com/", CONF_VERIFY_SSL: False}
    result = await submit(hass, await start_user(hass), user_input)

    assert_form(result, "user", {"base": error})
    assert get_schema_suggested_value(fields(result), CONF_URL) == "https://NEZHA.example.com/"
    assert get_schema_suggested_value(fields(result), CONF_VERIFY_SSL) is False
    assert_logged(caplog, side_effect, error)
    dashboard.created.assert_not_called()

    dashboard.detect.side_effect = None
    result = await submit(hass, result, user_input)
    result = await submit(hass, result, {CONF_API_TOKEN: TOKEN})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {**V0_DATA, CONF_API_TOKEN: TOKEN, CONF_VERIFY_SSL: False}


@pytest.mark.parametrize(
    ("url", "stored", "title"),
    [
        ("https://nezha.example.com/", "https://nezha.example.com", "nezha.example.com"),
        ("https://example.com/nezha", "https://example.com/nezha", "example.com/nezha"),
        ("http://192.0.2.10:8008", "http://192.0.2.10:8008", "192.0.2.10:8008"),
        ("https://NeZhA.Example.COM", "https://nezha.example.com", "nezha.example.com"),
        ("\t https://nezha.example.com \n", "https://nezha.example.com", "nezha.example.com"),
        ("http://[2001:db8::1]:8008/", "http://[2001:db8::1]:8008", "[2001:db8::1]:8008"),
    ],
)
async def test_url_forms_stored_normalised(
    hass: HomeAssistant, dashboard: MockDashboard, url: str, stored: str, title: str
) -> None:
    """Trailing slash, sub-path, port, upper case and whitespace: the normalised URL is stored."""
    result = await credential_step(hass, "api_token", url=url)
    result = await submit(hass, result, {CONF_API_TOKEN: TOKEN})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_URL] == stored
    assert result["title"] == title


@pytest.mark.parametrize(
    "url",
    [
        "nezha.example.com",
        "nezha.example.com:8008/",
        "ftp://nezha.example.com",
        "https://",
        "http://:8008",
        "https://admin:secret@nezha.example.com",
    ],
)
async def test_invalid_url_then_recovers(
    hass: HomeAssistant, dashboard: MockDashboard, caplog: pytest.LogCaptureFixture, url: str
) -> None:
    """No scheme, another scheme, no host or user info: invalid_url on the field, no request;
    the reason is logged at debug level, the URL (which may hold a password) is not."""
    caplog.set_level(logging.DEBUG, logger="custom_components.nezha")
    result = await submit(hass, await start_user(hass), {CONF_URL: url, CONF_VERIFY_SSL: False})
    assert_form(result, "user", {CONF_URL: "invalid_url"})
    assert get_schema_suggested_value(fields(result), CONF_URL) == url
    assert get_schema_suggested_value(fields(result), CONF_VERIFY_SSL) is False
    dashboard.detect.assert_not_awaited()
    assert "The URL was refused (invalid_url): " in caplog.text
    assert "secret" not in caplog.text

    result = await submit(hass, result, URL_INPUT)
    result = await submit(hass, result, {CONF_API_TOKEN: TOKEN})
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize(
    "url",
    [
        URL,
        "https://nezha.example.com/",
        " HTTPS://Nezha.Example.com:443// ",
        "https://nezha.example.com/?from=bookmark",
    ],
)
@pytest.mark.parametrize("data", [V0_DATA, PAT_DATA, LOGIN_DATA], ids=["v0", "pat", "login"])
async def test_already_configured(
    hass: HomeAssistant, dashboard: MockDashboard, url: str, data: dict[str, Any]
) -> None:
    """The same dashboard written differently aborts before any request, whatever the kind of
    entry that has it."""
    add_entry(hass, data)
    result = await submit(hass, await start_user(hass), {CONF_URL: url, CONF_VERIFY_SSL: True})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    dashboard.detect.assert_not_awaited()


async def test_other_path_is_another_dashboard(
    hass: HomeAssistant, entry: MockConfigEntry, dashboard: MockDashboard
) -> None:
    """A different sub-path or port on the same host is a different dashboard."""
    for url, title in (
        ("https://nezha.example.com/second", "nezha.example.com/second"),
        ("https://nezha.example.com:8443", "nezha.example.com:8443"),
    ):
        result = await credential_step(hass, "api_token", url=url)
        result = await submit(hass, result, {CONF_API_TOKEN: TOKEN})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["title"] == title


# Credential steps


@UNEXPECTED_FLOW_ERROR
@pytest.mark.parametrize(("side_effect", "error"), CHECK_ERRORS)
@pytest.mark.parametrize(("api", "step", "refused", "working"), CREDENTIAL_ROUTES)
async def test_credential_errors_then_recover(
    hass: HomeAssistant,
    dashboard: MockDashboard,
    caplog: pytest.LogCaptureFixture,
    api: str,
    step: str,
    refused: dict[str, str],
    working: dict[str, str],
    side_effect: Exception,
    error: str,
) -> None:
    """Each failure shows the same credential form again with what was typed (secret included,
    in the form only), a refusal naming the credential or its cause, a missing scope named, the
    cause logged; a working credential then creates the entry."""
    caplog.set_level(logging.DEBUG, logger="custom_components.nezha")
    dashboard.answers_as(api)
    result = await credential_step(hass, step)
    dashboard.servers.side_effect = side_effect
    result = await submit(hass, result, refused)

    error = error.format(kind=KINDS[step])
    assert_form(result, step, {"base": error})
    expected_scope = "nezha:server:read" if error == "missing_scope" else ""
    assert result["description_placeholders"]["missing_scope"] == expected_scope
    schema = fields(result)
    assert get_schema_suggested_value(schema, CONF_USERNAME) == refused.get(CONF_USERNAME)
    assert get_schema_suggested_value(schema, CONF_PASSWORD) == refused.get(CONF_PASSWORD)
    assert get_schema_suggested_value(schema, CONF_API_TOKEN) == refused.get(CONF_API_TOKEN)
    assert_logged(caplog, side_effect, error)
    assert_no_secret(result, *refused.values())

    dashboard.servers.side_effect = None
    result = await submit(hass, result, working)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_URL: URL, CONF_VERIFY_SSL: True, CONF_API: api, **working}
    assert dashboard.servers.await_count == 2


async def test_missing_scope_the_dashboard_does_not_name(
    hass: HomeAssistant, dashboard: MockDashboard
) -> None:
    """A refusal that names no scope points at the one a token always needs."""
    dashboard.answers_as("v2")
    result = await credential_step(hass, "token")
    dashboard.servers.side_effect = NezhaPermissionError("not accessible by api token")
    result = await submit(hass, result, {CONF_API_TOKEN: NEW_PAT})
    assert_form(result, "token", {"base": "missing_scope"})
    assert result["description_placeholders"]["missing_scope"] == "nezha:inventory:read"


@pytest.mark.parametrize(
    ("api", "step", "empty", "working"),
    [
        ("v0", "api_token", {CONF_API_TOKEN: " \n"}, {CONF_API_TOKEN: NEW_TOKEN}),
        ("v2", "token", {CONF_API_TOKEN: ""}, {CONF_API_TOKEN: NEW_PAT}),
        (
            "v1",
            "login",
            {CONF_USERNAME: USERNAME, CONF_PASSWORD: ""},
            {CONF_USERNAME: USERNAME, CONF_PASSWORD: NEW_PASSWORD},
        ),
        (
            "v2",
            "login",
            {CONF_USERNAME: USERNAME, CONF_PASSWORD: ""},
            {CONF_USERNAME: USERNAME, CONF_PASSWORD: NEW_PASSWORD},
        ),
    ],
)
async def test_empty_credential_is_required(
    hass: HomeAssistant,
    dashboard: MockDashboard,
    api: str,
    step: str,
    empty: dict[str, str],
    working: dict[str, str],
) -> None:
    """An empty token or password is refused on its field without asking the dashboard (a
    refused sign-in would count towards its block of this host)."""
    dashboard.answers_as(api)
    result = await credential_step(hass, step)
    result = await submit(hass, result, empty)
    field = CONF_PASSWORD if step == "login" else CONF_API_TOKEN
    assert_form(result, step, {field: "required"})
    dashboard.created.assert_not_called()

    result = await submit(hass, result, working)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_version_changed_while_filling_in(
    hass: HomeAssistant, dashboard: MockDashboard, caplog: pytest.LogCaptureFixture
) -> None:
    """Detected as 0.x, upgraded to 2.x before the token was sent: the flow goes back to the
    address with the error, and submitting it again leads to the 2.x steps and an entry."""
    result = await credential_step(hass, "api_token")
    dashboard.servers.side_effect = NezhaUnsupportedVersionError("answers like 1.x or 2.x")
    result = await submit(hass, result, {CONF_API_TOKEN: TOKEN})
    assert_form(result, "user", {"base": "version_changed"})

    dashboard.servers.side_effect = None
    dashboard.answers_as("v2")
    result = await submit(hass, result, {CONF_URL: URL, CONF_VERIFY_SSL: True})
    result = await choose(hass, result, "token")
    result = await submit(hass, result, {CONF_API_TOKEN: NEW_PAT})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_API] == "v2"


async def test_version_changed_and_required_are_logged(
    hass: HomeAssistant, dashboard: MockDashboard, caplog: pytest.LogCaptureFixture
) -> None:
    """ "Turn on debug logging and try again" helps for these form errors too."""
    caplog.set_level(logging.DEBUG, logger="custom_components.nezha")
    result = await credential_step(hass, "api_token")
    await submit(hass, result, {CONF_API_TOKEN: ""})
    assert "required" in caplog.text
    dashboard.servers.side_effect = NezhaUnsupportedVersionError("answers like 1.x or 2.x")
    await submit(hass, result, {CONF_API_TOKEN: TOKEN})
    assert "version_changed" in caplog.text


@pytest.mark.parametrize(
    ("api", "step", "typed", "error"),
    [
        ("v0", "api_token", "0123456789abcdef", "api_token_format"),
        ("v0", "api_token", NEW_PAT, "api_token_format"),
        ("v0", "api_token", "0123456789abcdef0123456789abcdé", "api_token_format"),
        ("v2", "token", NEW_TOKEN, "access_token_format"),
        ("v2", "token", "nzp_short", "access_token_format"),
        ("v2", "token", NEW_PAT + "0", "access_token_format"),
        ("v2", "token", "nzp_NewPatNewPatNewPatNewPatNewPat-0", "access_token_format"),
    ],
)
async def test_token_of_the_wrong_shape_is_refused_before_sending(
    hass: HomeAssistant,
    dashboard: MockDashboard,
    caplog: pytest.LogCaptureFixture,
    api: str,
    step: str,
    typed: str,
    error: str,
) -> None:
    """A token no dashboard of this generation issues (too short or long, other characters,
    the other generation's) is refused under the field without a request; the form offers it
    back so the typo can be found; the log says why but not the token."""
    caplog.set_level(logging.DEBUG, logger="custom_components.nezha")
    dashboard.answers_as(api)
    result = await credential_step(hass, step)
    result = await submit(hass, result, {CONF_API_TOKEN: typed})
    assert_form(result, step, {CONF_API_TOKEN: error})
    assert get_schema_suggested_value(fields(result), CONF_API_TOKEN) == typed
    dashboard.created.assert_not_called()
    assert f"({error})" in caplog.text
    assert typed not in caplog.text


@pytest.mark.parametrize(
    ("api", "step", "token"), [("v0", "api_token", NEW_TOKEN), ("v2", "token", NEW_PAT)]
)
@pytest.mark.parametrize("prefix", ["Bearer ", "bearer  ", " BEARER\t"])
async def test_bearer_in_front_is_stripped(
    hass: HomeAssistant, dashboard: MockDashboard, api: str, step: str, token: str, prefix: str
) -> None:
    """A token pasted with the header's ``Bearer`` in front works, as one with spaces does."""
    dashboard.answers_as(api)
    result = await credential_step(hass, step)
    result = await submit(hass, result, {CONF_API_TOKEN: f"{prefix}{token} "})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_API_TOKEN] == token
    dashboard.created.assert_called_once_with(api, ANY, URL, token)


def test_flow_errors_have_no_markdown() -> None:
    """Form errors and abort banners don't render Markdown: none may hold it, in any language,
    nor a placeholder they use (placeholders are plain values)."""
    markdown = re.compile(r"`|\*\*|\[[^\]]*\]\([^)]*\)")
    root = Path(__file__).parents[1] / "custom_components/nezha"
    for path in (root / "strings.json", *sorted((root / "translations").glob("*.json"))):
        strings = json.loads(path.read_text("utf-8"))
        for section, kind in (
            ("config", "error"),
            ("options", "error"),
            ("config", "abort"),
            ("options", "abort"),
        ):
            for key, text in strings[section][kind].items():
                assert not markdown.search(text), f"{path.name}: {section}.{kind}.{key}"


@pytest.mark.parametrize(
    ("readme", "translation"),
    [("README.md", "strings.json"), ("README.zh-Hans.md", "translations/zh-Hans.json")],
)
def test_readme_explains_every_flow_error(readme: str, translation: str) -> None:
    """The README's "What each error means" tables hold every form error and options abort, word
    for word, each once."""
    root = Path(__file__).parents[1]
    text = (root / readme).read_text("utf-8")
    strings = json.loads((root / "custom_components/nezha" / translation).read_text("utf-8"))
    messages = [
        *strings["config"]["error"].values(),
        strings["config"]["abort"]["already_configured"],
        *strings["options"]["error"].values(),
        *strings["options"]["abort"].values(),
    ]
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    for message in messages:
        assert sum(message in row for row in rows) == 1, message


def test_keep_help_only_where_a_credential_can_be_kept() -> None:
    """ "Leave it empty to keep the current one" is said by the reconfigure steps that keep a
    credential, never by a new entry's steps; 0.x's options say nothing of live updates."""
    root = Path(__file__).parents[1] / "custom_components/nezha"
    strings = json.loads((root / "strings.json").read_text("utf-8"))
    steps = strings["config"]["step"]
    for step in ("api_token", "token", "login"):
        assert "empty" not in json.dumps(steps[step]), step
        assert "empty" in json.dumps(steps[f"reconfigure_{step}"]), step
    polling = json.dumps(strings["options"]["step"]["polling"]).lower()
    assert "live" not in polling
    assert "live" in json.dumps(strings["options"]["step"]["init"]).lower()
