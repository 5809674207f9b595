"""Config, reauth, reconfigure and options flows, mocked and against the simulated dashboard."""

from __future__ import annotations

from collections.abc import Generator
import logging
from typing import Any
from unittest.mock import ANY, AsyncMock, patch

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigEntryState,
    ConfigFlowResult,
)
from homeassistant.const import CONF_API_TOKEN, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    get_schema_suggested_value,
    start_reauth_flow,
)

from custom_components.nezha.api import (
    NezhaAuthError,
    NezhaConnectionError,
    NezhaError,
    NezhaResponseError,
    NezhaUnsupportedVersionError,
    Server,
    ServersSnapshot,
    create_client,
)
from custom_components.nezha.config_flow import normalize_url, url_title
from custom_components.nezha.const import (
    CONF_API,
    CONF_MONITOR_INTERVAL,
    CONF_ONLINE_THRESHOLD,
    CONF_SCAN_INTERVAL,
    CONF_TAG,
    DOMAIN,
)
from nezha_simulator import NezhaSimulator

from .conftest import TOKEN

URL = "https://nezha.example.com"
OLD_TOKEN = "OldTokenOldTokenOldTokenOldToken"
NEW_TOKEN = "NewTokenNewTokenNewTokenNewToken"
BAD_TOKEN = "BadTokenBadTokenBadTokenBadToken"
USER_INPUT = {CONF_URL: URL, CONF_API_TOKEN: NEW_TOKEN, CONF_VERIFY_SSL: True}
ENTRY_DATA = {CONF_URL: URL, CONF_API_TOKEN: OLD_TOKEN, CONF_VERIFY_SSL: True, CONF_API: "v0"}

SNAPSHOT = ServersSnapshot(
    servers={
        1: Server(id=1, name="web-1", tag="web"),
        2: Server(id=2, name="db", tag="db"),
        3: Server(id=3, name="untagged"),
        4: Server(id=4, name="web-2", tag="web"),
        5: Server(id=5, name="cache", tag="Cache"),
    },
    dashboard_time=None,
)
OPTIONS_INPUT = {
    CONF_SCAN_INTERVAL: 60.0,
    CONF_MONITOR_INTERVAL: 120.0,
    CONF_ONLINE_THRESHOLD: 45.0,
}

FLOW_ERRORS = [
    (NezhaConnectionError("refused"), "cannot_connect"),
    (NezhaAuthError("refused the API token"), "invalid_auth"),
    (NezhaResponseError("not JSON"), "not_nezha"),
    (NezhaUnsupportedVersionError("Nezha 1.x"), "unsupported_version"),
    (RuntimeError("boom"), "unknown"),
]

pytestmark = pytest.mark.usefixtures("mock_setup_entry")


def test_every_client_error_is_covered() -> None:
    """A new error type in the client needs a form error and a test here."""
    tested = {type(error) for error, _ in FLOW_ERRORS if isinstance(error, NezhaError)}
    assert tested == set(NezhaError.__subclasses__())


@pytest.fixture
def mock_get_servers() -> Generator[AsyncMock]:
    """Answer every dashboard request with ``SNAPSHOT`` (the client is real, its request is not)."""
    with patch(
        "custom_components.nezha.api.v0.NezhaV0Client.async_get_servers",
        new_callable=AsyncMock,
        return_value=SNAPSHOT,
    ) as mock:
        yield mock


@pytest.fixture
def mock_unload_entry() -> Generator[AsyncMock]:
    """Let a loaded entry (set up by ``mock_setup_entry``) unload, for reload checks."""
    with patch("custom_components.nezha.async_unload_entry", return_value=True) as mock:
        yield mock


@pytest.fixture
def entry(hass: HomeAssistant) -> MockConfigEntry:
    """An entry for ``URL`` with ``OLD_TOKEN``, added to hass but not set up."""
    entry = MockConfigEntry(
        domain=DOMAIN, title="nezha.example.com", data=ENTRY_DATA, options={CONF_TAG: "web"}
    )
    entry.add_to_hass(hass)
    return entry


async def _start_user(hass: HomeAssistant) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    return result


def _fields(result: ConfigFlowResult) -> dict[Any, Any]:
    """The form's fields: schema markers to selectors."""
    schema = result["data_schema"]
    assert schema is not None
    fields: dict[Any, Any] = schema.schema
    return fields


async def _load(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


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


# User step


async def test_user_creates_entry(
    hass: HomeAssistant, mock_setup_entry: AsyncMock, mock_get_servers: AsyncMock
) -> None:
    """A reachable dashboard with a good token becomes an entry with the normalised URL."""
    result = await _start_user(hass)
    assert result["description_placeholders"] == {"example_url": ANY}
    with patch(
        "custom_components.nezha.config_flow.create_client", wraps=create_client
    ) as client_factory:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {
                CONF_URL: " https://Example.com:8443/nezha/ ",
                CONF_API_TOKEN: f"  {TOKEN}\n",
                CONF_VERIFY_SSL: False,
            },
        )
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
    client_factory.assert_called_once_with("v0", ANY, "https://example.com:8443/nezha", TOKEN)
    mock_get_servers.assert_awaited_once_with()
    assert len(mock_setup_entry.mock_calls) == 1


async def test_user_verify_ssl_defaults_on(
    hass: HomeAssistant, mock_get_servers: AsyncMock
) -> None:
    """Leaving the certificate check alone keeps it on."""
    result = await _start_user(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: URL, CONF_API_TOKEN: TOKEN}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_VERIFY_SSL] is True


@pytest.mark.parametrize(("side_effect", "error"), FLOW_ERRORS)
async def test_user_errors_then_recovers(
    hass: HomeAssistant,
    mock_get_servers: AsyncMock,
    caplog: pytest.LogCaptureFixture,
    side_effect: Exception,
    error: str,
) -> None:
    """Each failure shows the form again with the input kept, its cause in the debug log;
    fixing it creates the entry."""
    caplog.set_level(logging.DEBUG, logger="custom_components.nezha")
    result = await _start_user(hass)
    mock_get_servers.side_effect = side_effect
    user_input = {
        CONF_URL: "https://NEZHA.example.com/",
        CONF_API_TOKEN: BAD_TOKEN,
        CONF_VERIFY_SSL: False,
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {"base": error}
    schema = _fields(result)
    assert get_schema_suggested_value(schema, CONF_URL) == "https://NEZHA.example.com/"
    assert get_schema_suggested_value(schema, CONF_VERIFY_SSL) is False
    # A refused token is never offered again; after other errors it is kept.
    expected_token = None if error == "invalid_auth" else BAD_TOKEN
    assert get_schema_suggested_value(schema, CONF_API_TOKEN) == expected_token
    if error == "unknown":
        assert "Unexpected error while reading the dashboard" in caplog.text
    else:
        assert f"Reading the dashboard failed ({error}): {side_effect}" in caplog.text

    mock_get_servers.side_effect = None
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**user_input, CONF_API_TOKEN: TOKEN}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        CONF_URL: URL,
        CONF_API_TOKEN: TOKEN,
        CONF_VERIFY_SSL: False,
        CONF_API: "v0",
    }


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
async def test_user_url_forms_stored_normalised(
    hass: HomeAssistant, mock_get_servers: AsyncMock, url: str, stored: str, title: str
) -> None:
    """Trailing slash, sub-path, port, upper case and whitespace: the normalised URL is stored."""
    result = await _start_user(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**USER_INPUT, CONF_URL: url}
    )
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
async def test_user_invalid_url_then_recovers(
    hass: HomeAssistant, mock_get_servers: AsyncMock, caplog: pytest.LogCaptureFixture, url: str
) -> None:
    """No scheme, another scheme, no host or user info: invalid_url on the field, no request;
    the reason is logged at debug level, the URL (which may hold a password) is not."""
    caplog.set_level(logging.DEBUG, logger="custom_components.nezha")
    result = await _start_user(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**USER_INPUT, CONF_URL: url}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_URL: "invalid_url"}
    assert get_schema_suggested_value(_fields(result), CONF_URL) == url
    assert get_schema_suggested_value(_fields(result), CONF_API_TOKEN) == NEW_TOKEN
    mock_get_servers.assert_not_awaited()
    assert "The URL was refused (invalid_url): " in caplog.text
    assert "secret" not in caplog.text

    result = await hass.config_entries.flow.async_configure(result["flow_id"], USER_INPUT)
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
async def test_user_already_configured(
    hass: HomeAssistant, entry: MockConfigEntry, mock_get_servers: AsyncMock, url: str
) -> None:
    """The same dashboard written differently aborts before any request."""
    result = await _start_user(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**USER_INPUT, CONF_URL: url}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    mock_get_servers.assert_not_awaited()


async def test_user_other_path_is_another_dashboard(
    hass: HomeAssistant, entry: MockConfigEntry, mock_get_servers: AsyncMock
) -> None:
    """A different sub-path or port on the same host is a different dashboard."""
    for url, title in (
        ("https://nezha.example.com/second", "nezha.example.com/second"),
        ("https://nezha.example.com:8443", "nezha.example.com:8443"),
    ):
        result = await _start_user(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {**USER_INPUT, CONF_URL: url}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["title"] == title


# Reauth


async def test_reauth(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mock_setup_entry: AsyncMock,
    mock_get_servers: AsyncMock,
) -> None:
    """A new token is checked against the entry's dashboard, stored, and the entry reloaded."""
    result = await entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["errors"] == {}
    assert result["description_placeholders"] == {"name": "nezha.example.com", "url": URL}
    assert list(_fields(result)) == [CONF_API_TOKEN]
    assert get_schema_suggested_value(_fields(result), CONF_API_TOKEN) is None

    with patch(
        "custom_components.nezha.config_flow.create_client", wraps=create_client
    ) as client_factory:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_API_TOKEN: f" {NEW_TOKEN} "}
        )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    client_factory.assert_called_once_with("v0", ANY, URL, NEW_TOKEN)
    assert entry.data == {**ENTRY_DATA, CONF_API_TOKEN: NEW_TOKEN}
    assert entry.title == "nezha.example.com"
    assert entry.options == {CONF_TAG: "web"}
    assert len(mock_setup_entry.mock_calls) == 1  # reloaded


@pytest.mark.parametrize(("side_effect", "error"), FLOW_ERRORS)
async def test_reauth_errors_then_recovers(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mock_get_servers: AsyncMock,
    side_effect: Exception,
    error: str,
) -> None:
    """Each failure shows the form again; a working token then finishes the reauth."""
    result = await entry.start_reauth_flow(hass)
    mock_get_servers.side_effect = side_effect
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_TOKEN: BAD_TOKEN}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["errors"] == {"base": error}
    expected_token = None if error == "invalid_auth" else BAD_TOKEN
    assert get_schema_suggested_value(_fields(result), CONF_API_TOKEN) == expected_token
    assert entry.data[CONF_API_TOKEN] == OLD_TOKEN

    mock_get_servers.side_effect = None
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_TOKEN: NEW_TOKEN}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_API_TOKEN] == NEW_TOKEN


# Reconfigure


async def test_reconfigure(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mock_setup_entry: AsyncMock,
    mock_unload_entry: AsyncMock,
    mock_get_servers: AsyncMock,
) -> None:
    """URL, token and certificate check change; the title follows the URL; the entry reloads."""
    await _load(hass, entry)
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {}
    assert result["description_placeholders"] == {"name": "nezha.example.com", "example_url": ANY}
    schema = _fields(result)
    assert get_schema_suggested_value(schema, CONF_URL) == URL
    assert get_schema_suggested_value(schema, CONF_VERIFY_SSL) is True
    assert get_schema_suggested_value(schema, CONF_API_TOKEN) is None  # never shown back

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_URL: "http://Monitor.example.org:8008/nezha/",
            CONF_API_TOKEN: NEW_TOKEN,
            CONF_VERIFY_SSL: False,
        },
    )
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
async def test_reconfigure_keeps_token_when_left_empty(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mock_get_servers: AsyncMock,
    token_input: dict[str, Any],
) -> None:
    """An empty token field keeps (and checks) the current token."""
    result = await entry.start_reconfigure_flow(hass)
    with patch(
        "custom_components.nezha.config_flow.create_client", wraps=create_client
    ) as client_factory:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {CONF_URL: "https://nezha.example.com:8443", CONF_VERIFY_SSL: True, **token_input},
        )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    client_factory.assert_called_once_with("v0", ANY, "https://nezha.example.com:8443", OLD_TOKEN)
    assert entry.data[CONF_API_TOKEN] == OLD_TOKEN
    assert entry.data[CONF_URL] == "https://nezha.example.com:8443"
    assert entry.title == "nezha.example.com:8443"


async def test_reconfigure_same_url(
    hass: HomeAssistant, entry: MockConfigEntry, mock_get_servers: AsyncMock
) -> None:
    """The entry's own URL (written differently) is not a duplicate of itself."""
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: "HTTPS://nezha.example.com/", CONF_VERIFY_SSL: False}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {**ENTRY_DATA, CONF_VERIFY_SSL: False}


async def test_reconfigure_already_configured(
    hass: HomeAssistant, entry: MockConfigEntry, mock_get_servers: AsyncMock
) -> None:
    """Pointing an entry at another entry's dashboard aborts and changes nothing."""
    other = MockConfigEntry(
        domain=DOMAIN,
        title="other.example.com/nezha",
        data={**ENTRY_DATA, CONF_URL: "https://other.example.com/nezha"},
    )
    other.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_URL: "https://Other.example.com/nezha/",
            CONF_API_TOKEN: NEW_TOKEN,
            CONF_VERIFY_SSL: True,
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    mock_get_servers.assert_not_awaited()
    assert entry.data == ENTRY_DATA


@pytest.mark.parametrize(("side_effect", "error"), FLOW_ERRORS)
async def test_reconfigure_errors_then_recovers(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mock_get_servers: AsyncMock,
    side_effect: Exception,
    error: str,
) -> None:
    """Each failure shows the form again with the input kept; fixing it updates the entry."""
    result = await entry.start_reconfigure_flow(hass)
    mock_get_servers.side_effect = side_effect
    user_input = {
        CONF_URL: "https://new.example.com",
        CONF_API_TOKEN: BAD_TOKEN,
        CONF_VERIFY_SSL: False,
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {"base": error}
    schema = _fields(result)
    assert get_schema_suggested_value(schema, CONF_URL) == "https://new.example.com"
    assert get_schema_suggested_value(schema, CONF_VERIFY_SSL) is False
    expected_token = None if error == "invalid_auth" else BAD_TOKEN
    assert get_schema_suggested_value(schema, CONF_API_TOKEN) == expected_token
    assert entry.data == ENTRY_DATA

    mock_get_servers.side_effect = None
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**user_input, CONF_API_TOKEN: NEW_TOKEN}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_URL] == "https://new.example.com"
    assert entry.data[CONF_API_TOKEN] == NEW_TOKEN


async def test_reconfigure_invalid_url_then_recovers(
    hass: HomeAssistant, entry: MockConfigEntry, mock_get_servers: AsyncMock
) -> None:
    """A URL without a scheme is refused on the field; a good one then saves."""
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: "nezha.example.org", CONF_VERIFY_SSL: True}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_URL: "invalid_url"}
    mock_get_servers.assert_not_awaited()

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: "https://nezha.example.org", CONF_VERIFY_SSL: True}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_URL] == "https://nezha.example.org"


# Options


async def test_options_form_lists_tags(
    hass: HomeAssistant, entry: MockConfigEntry, mock_get_servers: AsyncMock
) -> None:
    """The group dropdown has the dashboard's distinct tags, sorted; defaults are suggested."""
    hass.config_entries.async_update_entry(entry, options={})
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    assert result["errors"] == {}
    assert result["description_placeholders"] == {"name": "nezha.example.com"}
    mock_get_servers.assert_awaited_once_with()  # all servers, whatever the configured group

    schema = _fields(result)
    fields = {str(key): (key, value) for key, value in schema.items()}
    assert list(fields) == [
        CONF_SCAN_INTERVAL,
        CONF_MONITOR_INTERVAL,
        CONF_ONLINE_THRESHOLD,
        CONF_TAG,
    ]
    assert fields[CONF_TAG][1].config["options"] == ["Cache", "db", "web"]
    assert fields[CONF_SCAN_INTERVAL][0].default() == 30
    assert fields[CONF_MONITOR_INTERVAL][0].default() == 60
    assert fields[CONF_ONLINE_THRESHOLD][0].default() == 30
    for key in (CONF_SCAN_INTERVAL, CONF_MONITOR_INTERVAL, CONF_ONLINE_THRESHOLD):
        config = fields[key][1].config
        # No min/max on the box: the flow checks the range, with a translated error.
        assert "min" not in config
        assert "max" not in config
        assert config["unit_of_measurement"] == "s"
    assert get_schema_suggested_value(schema, CONF_TAG) is None


async def test_options_keep_vanished_tag(
    hass: HomeAssistant, entry: MockConfigEntry, mock_get_servers: AsyncMock
) -> None:
    """The configured group stays selectable after its last server left; values are suggested."""
    options = {
        CONF_SCAN_INTERVAL: 15,
        CONF_MONITOR_INTERVAL: 0,
        CONF_ONLINE_THRESHOLD: 90,
        CONF_TAG: "gone",
    }
    hass.config_entries.async_update_entry(entry, options=options)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    schema = _fields(result)
    tag_selector = next(value for key, value in schema.items() if key == CONF_TAG)
    assert tag_selector.config["options"] == ["Cache", "db", "gone", "web"]
    for key, value in options.items():
        assert get_schema_suggested_value(schema, key) == value


async def test_options_without_tags(
    hass: HomeAssistant, entry: MockConfigEntry, mock_get_servers: AsyncMock
) -> None:
    """With no groups on the dashboard and none configured, there is no group field."""
    hass.config_entries.async_update_entry(entry, options={})
    mock_get_servers.return_value = ServersSnapshot(
        servers={1: Server(id=1, name="solo")}, dashboard_time=None
    )
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert [str(key) for key in _fields(result)] == [
        CONF_SCAN_INTERVAL,
        CONF_MONITOR_INTERVAL,
        CONF_ONLINE_THRESHOLD,
    ]
    result = await hass.config_entries.options.async_configure(result["flow_id"], OPTIONS_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        CONF_SCAN_INTERVAL: 60,
        CONF_MONITOR_INTERVAL: 120,
        CONF_ONLINE_THRESHOLD: 45,
    }


async def test_options_save_and_reload(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mock_setup_entry: AsyncMock,
    mock_unload_entry: AsyncMock,
    mock_get_servers: AsyncMock,
) -> None:
    """Saving stores whole seconds and the group, and reloads the entry."""
    await _load(hass, entry)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**OPTIONS_INPUT, CONF_TAG: "db"}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    expected = {
        CONF_SCAN_INTERVAL: 60,
        CONF_MONITOR_INTERVAL: 120,
        CONF_ONLINE_THRESHOLD: 45,
        CONF_TAG: "db",
    }
    assert result["data"] == expected
    assert entry.options == expected
    assert all(type(value) is int for key, value in entry.options.items() if key != CONF_TAG)
    assert len(mock_unload_entry.mock_calls) == 1
    assert len(mock_setup_entry.mock_calls) == 2
    assert entry.state is ConfigEntryState.LOADED


async def test_options_clear_tag(
    hass: HomeAssistant, entry: MockConfigEntry, mock_get_servers: AsyncMock
) -> None:
    """Leaving the group empty removes it: all servers."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert get_schema_suggested_value(_fields(result), CONF_TAG) == "web"
    result = await hass.config_entries.options.async_configure(result["flow_id"], OPTIONS_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert CONF_TAG not in entry.options


async def test_options_monitors_off(
    hass: HomeAssistant, entry: MockConfigEntry, mock_get_servers: AsyncMock
) -> None:
    """A monitor interval of 0 is accepted: it turns monitors off."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**OPTIONS_INPUT, CONF_MONITOR_INTERVAL: 0}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_MONITOR_INTERVAL] == 0


OUT_OF_RANGE = [
    (CONF_SCAN_INTERVAL, 5, "scan_interval_out_of_range"),
    (CONF_SCAN_INTERVAL, 9.5, "scan_interval_out_of_range"),
    (CONF_SCAN_INTERVAL, 3601, "scan_interval_out_of_range"),
    (CONF_SCAN_INTERVAL, 60.5, "scan_interval_out_of_range"),
    (CONF_MONITOR_INTERVAL, 1, "monitor_interval_out_of_range"),
    (CONF_MONITOR_INTERVAL, 29, "monitor_interval_out_of_range"),
    (CONF_MONITOR_INTERVAL, -30, "monitor_interval_out_of_range"),
    (CONF_MONITOR_INTERVAL, 3601, "monitor_interval_out_of_range"),
    (CONF_ONLINE_THRESHOLD, 9, "online_threshold_out_of_range"),
    (CONF_ONLINE_THRESHOLD, 601, "online_threshold_out_of_range"),
]


@pytest.mark.parametrize(("key", "value", "error"), OUT_OF_RANGE)
async def test_options_out_of_range_then_recovers(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mock_get_servers: AsyncMock,
    caplog: pytest.LogCaptureFixture,
    key: str,
    value: float,
    error: str,
) -> None:
    """A value outside its range (or not whole) is refused on its field by the flow, the input
    kept and the cause logged at debug level; a valid submission then saves."""
    caplog.set_level(logging.DEBUG, logger="custom_components.nezha")
    result = await hass.config_entries.options.async_init(entry.entry_id)
    user_input = {**OPTIONS_INPUT, key: value, CONF_TAG: "db"}
    result = await hass.config_entries.options.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    assert result["errors"] == {key: error}
    schema = _fields(result)
    assert get_schema_suggested_value(schema, key) == value
    assert get_schema_suggested_value(schema, CONF_TAG) == "db"
    assert mock_get_servers.await_count == 1  # the groups are not read again
    assert entry.options == {CONF_TAG: "web"}
    assert f"Option {key} refused ({error}): {value}" in caplog.text

    result = await hass.config_entries.options.async_configure(result["flow_id"], OPTIONS_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {key: int(value) for key, value in OPTIONS_INPUT.items()}


async def test_options_each_submission_replaces_the_errors(
    hass: HomeAssistant, entry: MockConfigEntry, mock_get_servers: AsyncMock
) -> None:
    """An error under a field that was fixed goes away; a new one shows under its own field."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    flow_id = result["flow_id"]
    result = await hass.config_entries.options.async_configure(
        flow_id, {**OPTIONS_INPUT, CONF_MONITOR_INTERVAL: 5, CONF_ONLINE_THRESHOLD: 5}
    )
    assert result["errors"] == {
        CONF_MONITOR_INTERVAL: "monitor_interval_out_of_range",
        CONF_ONLINE_THRESHOLD: "online_threshold_out_of_range",
    }
    result = await hass.config_entries.options.async_configure(
        flow_id, {**OPTIONS_INPUT, CONF_SCAN_INTERVAL: 5}
    )
    assert result["errors"] == {CONF_SCAN_INTERVAL: "scan_interval_out_of_range"}
    result = await hass.config_entries.options.async_configure(flow_id, OPTIONS_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize(
    ("side_effect", "logged"),
    [
        (NezhaConnectionError("Timeout after 10 s"), "(cannot_connect): Timeout after 10 s"),
        (NezhaConnectionError("HTTP 502"), "(cannot_connect): HTTP 502"),
        (NezhaResponseError("an HTML page"), "(not_nezha): an HTML page"),
        (RuntimeError("boom"), "Unexpected error while reading the dashboard"),
    ],
)
@pytest.mark.parametrize(("current", "offered"), [({CONF_TAG: "web"}, ["web"]), ({}, None)])
async def test_options_open_during_an_outage(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mock_get_servers: AsyncMock,
    caplog: pytest.LogCaptureFixture,
    side_effect: Exception,
    logged: str,
    current: dict[str, str],
    offered: list[str] | None,
) -> None:
    """The dashboard down or answering badly: the form opens with only the current group (or no
    group field), says why, and saves; an invalid value keeps the notice."""
    caplog.set_level(logging.DEBUG, logger="custom_components.nezha")
    hass.config_entries.async_update_entry(entry, options=current)
    mock_get_servers.side_effect = side_effect
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "groups_unavailable"}
    assert logged in caplog.text
    fields = _fields(result)
    tag = next((value for key, value in fields.items() if key == CONF_TAG), None)
    assert (tag.config["options"] if tag else None) == offered
    assert get_schema_suggested_value(fields, CONF_TAG) == current.get(CONF_TAG)

    user_input = {**OPTIONS_INPUT, **current}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**user_input, CONF_SCAN_INTERVAL: 1}
    )
    assert result["errors"] == {
        "base": "groups_unavailable",
        CONF_SCAN_INTERVAL: "scan_interval_out_of_range",
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {**{k: int(v) for k, v in OPTIONS_INPUT.items()}, **current}
    assert mock_get_servers.await_count == 1


@pytest.mark.parametrize(
    ("side_effect", "reason"),
    [
        (NezhaAuthError("refused"), "invalid_auth"),
        (NezhaUnsupportedVersionError("1.x"), "unsupported_version"),
    ],
)
async def test_options_abort_when_the_user_must_act(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mock_get_servers: AsyncMock,
    side_effect: Exception,
    reason: str,
) -> None:
    """A refused token or an upgraded dashboard aborts with its reason, options untouched."""
    mock_get_servers.side_effect = side_effect
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == reason
    assert entry.options == {CONF_TAG: "web"}


async def test_error_type_missing_from_the_table_is_unknown(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mock_get_servers: AsyncMock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An error the table lacks is ``unknown`` in the config flow (logged), an outage in the
    options: never a KeyError."""
    # The base class stands for a type the table lacks (a client error added later).
    mock_get_servers.side_effect = NezhaError("something new")
    result = await _start_user(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**USER_INPUT, CONF_URL: "https://other.example.com"}
    )
    assert result["errors"] == {"base": "unknown"}
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["errors"] == {"base": "groups_unavailable"}
    records = [r for r in caplog.records if "Unexpected error while reading" in r.getMessage()]
    assert len(records) == 2
    assert all("something new" in (record.exc_text or "") for record in records)


# Against the simulated dashboard over HTTP


async def test_simulator_creates_entry(hass: HomeAssistant, simulator: NezhaSimulator) -> None:
    """A good token on a real (simulated) v0 dashboard creates the entry."""
    simulator.add_server("web-1", tag="web")
    result = await _start_user(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_URL: f"{simulator.url}/", CONF_API_TOKEN: TOKEN, CONF_VERIFY_SSL: True},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == simulator.url.removeprefix("http://")
    assert result["data"] == {
        CONF_URL: simulator.url,
        CONF_API_TOKEN: TOKEN,
        CONF_VERIFY_SSL: True,
        CONF_API: "v0",
    }
    assert [(r.method, r.path_qs, r.authorization) for r in simulator.requests] == [
        ("GET", "/api/v1/server/details", TOKEN)
    ]


@pytest.mark.parametrize(
    ("break_dashboard", "error"),
    [
        (lambda sim: setattr(sim, "token", "SomeoneElsesTokenSomeoneElsesTok"), "invalid_auth"),
        (NezhaSimulator.revoke_token, "invalid_auth"),
        (NezhaSimulator.html_next, "not_nezha"),
        (NezhaSimulator.broken_json_next, "not_nezha"),
        (NezhaSimulator.fail_next, "cannot_connect"),
        # aiohttp retries an idempotent request once after the server hung up on it.
        (lambda sim: sim.disconnect_next(2), "cannot_connect"),
        (lambda sim: setattr(sim, "generation", "v1"), "unsupported_version"),
    ],
)
async def test_simulator_errors_then_recovers(
    hass: HomeAssistant, simulator: NezhaSimulator, break_dashboard: Any, error: str
) -> None:
    """Real 403 bodies, HTML, broken JSON, 502, a dropped connection and a 1.x dashboard."""
    user_input = {CONF_URL: simulator.url, CONF_API_TOKEN: TOKEN, CONF_VERIFY_SSL: True}
    break_dashboard(simulator)
    result = await _start_user(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}

    simulator.token, simulator.generation = TOKEN, "v0"
    simulator.clear_faults()
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_simulator_options_tags(
    hass: HomeAssistant, fleet: NezhaSimulator, config_entry: MockConfigEntry
) -> None:
    """The options form lists the simulated dashboard's groups."""
    config_entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(config_entry.entry_id)
    tag_selector = next(value for key, value in _fields(result).items() if key == CONF_TAG)
    assert tag_selector.config["options"] == ["lab", "prod"]

    await fleet.stop()
    result = await hass.config_entries.options.async_init(config_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "groups_unavailable"}


# Secrets


def _assert_no_secret(result: ConfigFlowResult, *secrets: str) -> None:
    """Neither the errors, the placeholders nor the abort reason of a result hold a token."""
    shown = repr(
        (result.get("errors"), result.get("description_placeholders"), result.get("reason"))
    )
    for secret in secrets:
        assert secret not in shown


@pytest.mark.usefixtures("mock_unload_entry")
async def test_token_never_logged(
    hass: HomeAssistant, simulator: NezhaSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Through every failure of every flow, no token reaches a log record or a result."""
    caplog.set_level(logging.DEBUG)
    secrets = (TOKEN, BAD_TOKEN, NEW_TOKEN)
    results: list[ConfigFlowResult] = []
    user_input = {CONF_URL: simulator.url, CONF_API_TOKEN: BAD_TOKEN, CONF_VERIFY_SSL: True}

    result = await _start_user(hass)
    flow_id = result["flow_id"]
    for break_dashboard in (
        lambda: None,  # wrong token: a real 403 body
        simulator.html_next,
        simulator.broken_json_next,
        simulator.fail_next,
        lambda: simulator.disconnect_next(2),
    ):
        break_dashboard()
        results.append(await hass.config_entries.flow.async_configure(flow_id, user_input))
    simulator.generation = "v1"
    results.append(await hass.config_entries.flow.async_configure(flow_id, user_input))
    simulator.generation = "v0"
    with patch(
        "custom_components.nezha.api.v0.NezhaV0Client.async_get_servers",
        side_effect=RuntimeError("unexpected"),
    ):
        results.append(await hass.config_entries.flow.async_configure(flow_id, user_input))
    assert [r["errors"] for r in results] == [
        {"base": "invalid_auth"},
        {"base": "not_nezha"},
        {"base": "not_nezha"},
        {"base": "cannot_connect"},
        {"base": "cannot_connect"},
        {"base": "unsupported_version"},
        {"base": "unknown"},
    ]
    result = await hass.config_entries.flow.async_configure(
        flow_id, {**user_input, CONF_API_TOKEN: TOKEN}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = hass.config_entries.async_get_entry(result["result"].entry_id)
    assert entry is not None
    await hass.async_block_till_done()

    # Reauth after the dashboard's token was replaced, then reconfigure with a bad token.
    simulator.token = NEW_TOKEN
    result = await start_reauth_flow(hass, entry)
    results.append(result)
    results.append(
        await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_API_TOKEN: BAD_TOKEN}
        )
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_TOKEN: NEW_TOKEN}
    )
    results.append(result)
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()

    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    results.append(result)
    simulator.fail_next()
    results.append(
        await hass.config_entries.flow.async_configure(
            result["flow_id"], {**user_input, CONF_API_TOKEN: BAD_TOKEN}
        )
    )
    results.append(
        await hass.config_entries.flow.async_configure(
            result["flow_id"], {**user_input, CONF_API_TOKEN: BAD_TOKEN}
        )
    )
    assert [r.get("errors") for r in results[-2:]] == [
        {"base": "cannot_connect"},
        {"base": "invalid_auth"},
    ]
    await hass.config_entries.async_unload(entry.entry_id)
    await simulator.stop()
    results.append(await hass.config_entries.options.async_init(entry.entry_id))
    assert results[-1]["errors"] == {"base": "groups_unavailable"}

    for result in results:
        _assert_no_secret(result, *secrets)
    assert "Unexpected error while reading the dashboard" in caplog.text
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        for secret in secrets:
            assert secret not in text
    for secret in secrets:
        assert secret not in caplog.text
