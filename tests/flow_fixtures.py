"""What the config flow tests share: credentials, entries, a mocked dashboard and flow helpers.

``mocked_dashboard`` keeps the clients real and replaces only what they would ask the network:
``async_detect`` (the generation), each client's server list and (1.x/2.x) server groups. The
tests then drive ``hass.config_entries`` as a user would.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
import json
from pathlib import Path
import re
from typing import Any
from unittest.mock import AsyncMock, MagicMock, patch

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState, ConfigFlowResult
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

from custom_components.nezha.api import (
    Detection,
    NezhaAuthError,
    NezhaBlockedError,
    NezhaCertificateError,
    NezhaConnectionError,
    NezhaError,
    NezhaPermissionError,
    NezhaRealIpHeaderError,
    NezhaResponseError,
    NezhaSchemeError,
    NezhaUnsupportedVersionError,
    NezhaV0Client,
    NezhaV1Client,
    Server,
    ServersSnapshot,
    create_client,
)
from custom_components.nezha.const import (
    CONF_ACTIONS,
    CONF_API,
    CONF_LIVE_UPDATES,
    CONF_MONITOR_INTERVAL,
    CONF_ONLINE_THRESHOLD,
    CONF_SCAN_INTERVAL,
    DOMAIN,
)
from custom_components.nezha.coordinator import client_for_entry

URL = "https://nezha.example.com"
OLD_TOKEN = "OldTokenOldTokenOldTokenOldToken"
NEW_TOKEN = "NewTokenNewTokenNewTokenNewToken"
BAD_TOKEN = "BadTokenBadTokenBadTokenBadToken"
OLD_PAT = "nzp_OldPatOldPatOldPatOldPatOldPat00"
NEW_PAT = "nzp_NewPatNewPatNewPatNewPatNewPat00"
BAD_PAT = "nzp_BadPatBadPatBadPatBadPatBadPat00"
USERNAME = "ha-reader"
OLD_PASSWORD = "old password"
NEW_PASSWORD = "  new pa55word "
"""Spaces around it on purpose: a password is sent exactly as typed, never stripped."""
BAD_PASSWORD = "wrong-password"
SECRETS = (OLD_TOKEN, NEW_TOKEN, BAD_TOKEN, OLD_PAT, NEW_PAT, BAD_PAT, OLD_PASSWORD, NEW_PASSWORD)

V0_DATA = {CONF_URL: URL, CONF_API_TOKEN: OLD_TOKEN, CONF_VERIFY_SSL: True, CONF_API: "v0"}
PAT_DATA = {CONF_URL: URL, CONF_API_TOKEN: OLD_PAT, CONF_VERIFY_SSL: True, CONF_API: "v2"}
LOGIN_DATA = {
    CONF_URL: URL,
    CONF_USERNAME: USERNAME,
    CONF_PASSWORD: OLD_PASSWORD,
    CONF_VERIFY_SSL: True,
    CONF_API: "v1",
}

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
GROUPS = {1: "prod", 2: "Edge", 3: "lab"}
"""A 1.x/2.x dashboard's server groups, id to name."""

DETECT_ERRORS = [
    (NezhaConnectionError("Timeout after 10 s"), "cannot_connect"),
    (NezhaResponseError("HTTP 404: not a Nezha dashboard at this URL"), "not_nezha"),
    (NezhaBlockedError(), "blocked"),
    (NezhaRealIpHeaderError(), "real_ip_header"),
    (RuntimeError("boom"), "unknown"),
]
"""What detection (signed in as nobody) can meet, and the form error of each."""

CHECK_ERRORS = [
    (NezhaConnectionError("HTTP 502"), "cannot_connect"),
    (NezhaCertificateError("self-signed certificate"), "certificate_not_trusted"),
    (NezhaPermissionError("lacks nezha:server:read", "nezha:server:read"), "missing_scope"),
    (NezhaResponseError("not JSON"), "not_nezha"),
    (NezhaBlockedError(), "blocked"),
    (NezhaRealIpHeaderError(), "real_ip_header"),
    (RuntimeError("boom"), "unknown"),
    # The base class stands for a type the table lacks (a client error added later).
    (NezhaError("something new"), "unknown"),
    # A refusal names the credential refused (``{kind}``) or why the dashboard refused it.
    (NezhaAuthError("refused"), "{kind}_refused"),
    (NezhaAuthError("refused", "expired"), "access_token_expired"),
    (NezhaAuthError("no reason", "no_access_tokens"), "access_tokens_unsupported"),
    (NezhaAuthError("issued JWT refused", "session"), "login_session_refused"),
]
"""What reading the servers with a credential can meet, and the form error of each (``{kind}``:
the credential's kind, ``api_token``, ``access_token`` or ``password``)."""

EVERY_CLIENT_ERROR = {
    type(error)
    for error, _ in (*DETECT_ERRORS, *CHECK_ERRORS)
    if isinstance(error, NezhaError) and type(error) is not NezhaError
} | {NezhaUnsupportedVersionError, NezhaSchemeError}
"""The client errors these tests raise (``NezhaUnsupportedVersionError``: ``version_changed``;
``NezhaSchemeError``: against the simulator)."""


@dataclass
class MockDashboard:
    """The answers of a dashboard that is never reached: set them, then read what was asked."""

    detect: AsyncMock
    """``async_detect`` as the config flow calls it: ``(session, url)``."""
    servers: AsyncMock
    """Every client's ``async_get_servers``, called with the client."""
    groups: AsyncMock
    """A 1.x/2.x client's ``async_get_groups``, called with the client (0.x: from ``servers``)."""
    created: MagicMock
    """``create_client`` of the config flow (wrapped): ``(api, session, url, credential)``."""

    def answers_as(self, api: str) -> None:
        """Detection finds generation ``api``."""
        self.detect.return_value = Detection(api=api)

    def upgraded_to_2x(self) -> None:
        """A 1.x client finds 2.x servers and switches, as ``NezhaV1Client`` does."""

        def switch(client: Any) -> ServersSnapshot:
            client.api_version = "v2"
            return SNAPSHOT

        self.servers.side_effect = switch


@contextmanager
def mocked_dashboard() -> Generator[MockDashboard]:
    """Patch detection and the clients' reads; detection finds 0.x until told otherwise."""
    servers = AsyncMock(return_value=SNAPSHOT)
    groups = AsyncMock(return_value=GROUPS)

    async def get_servers(client: Any, group: Any = None) -> ServersSnapshot:
        result: ServersSnapshot = await servers(client)
        return result

    async def get_groups(client: Any) -> Mapping[Any, str]:
        result: Mapping[Any, str] = await groups(client)
        return result

    with (
        patch(
            "custom_components.nezha.config_flow.async_detect",
            AsyncMock(return_value=Detection(api="v0")),
        ) as detect,
        patch("custom_components.nezha.config_flow.create_client", wraps=create_client) as created,
        patch.object(NezhaV0Client, "async_get_servers", get_servers),
        patch.object(NezhaV1Client, "async_get_servers", get_servers),
        patch.object(NezhaV1Client, "async_get_groups", get_groups),
    ):
        yield MockDashboard(detect=detect, servers=servers, groups=groups, created=created)


# Flow helpers


async def start_user(hass: HomeAssistant) -> ConfigFlowResult:
    """Open the user step."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    return result


async def submit(
    hass: HomeAssistant, result: ConfigFlowResult, user_input: Mapping[str, Any]
) -> ConfigFlowResult:
    """Submit a config flow's form."""
    return await hass.config_entries.flow.async_configure(result["flow_id"], dict(user_input))


async def choose(hass: HomeAssistant, result: ConfigFlowResult, option: str) -> ConfigFlowResult:
    """Pick an option of the ``auth_method`` menu."""
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "auth_method"
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": option}
    )


async def credential_step(
    hass: HomeAssistant, step: str, url: str = URL, verify_ssl: bool = True
) -> ConfigFlowResult:
    """A new flow at credential step ``step`` (``token`` or ``login``), through the menu for 2.x.

    Detection must already answer the generation this step belongs to.
    """
    result = await start_user(hass)
    result = await submit(hass, result, {CONF_URL: url, CONF_VERIFY_SSL: verify_ssl})
    if result["type"] is FlowResultType.MENU:
        result = await choose(hass, result, step)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == step
    return result


def fields(result: ConfigFlowResult) -> dict[Any, Any]:
    """The form's fields: schema markers to selectors."""
    schema = result["data_schema"]
    assert schema is not None
    found: dict[Any, Any] = schema.schema
    return found


def field_names(result: ConfigFlowResult) -> list[str]:
    """The form's field keys, in order."""
    return [str(key) for key in fields(result)]


def is_required(result: ConfigFlowResult, name: str) -> bool:
    """Whether the form requires field ``name``."""
    marker = next(key for key in fields(result) if str(key) == name)
    return type(marker).__name__ == "Required"


def selector(result: ConfigFlowResult, name: str) -> Any:
    """The selector of field ``name``."""
    return next(value for key, value in fields(result).items() if str(key) == name)


def select_options(result: ConfigFlowResult, name: str) -> list[tuple[str, str]]:
    """A dropdown's ``(value, label)`` pairs, in the order shown."""
    return [
        (option["value"], option["label"]) for option in selector(result, name).config["options"]
    ]


def assert_no_secret(result: ConfigFlowResult, *secrets: str) -> None:
    """Neither the errors, the placeholders nor the abort reason of a result hold a secret."""
    shown = repr(
        (result.get("errors"), result.get("description_placeholders"), result.get("reason"))
    )
    for secret in secrets:
        assert secret not in shown


_STRINGS = json.loads(
    (Path(__file__).parents[1] / "custom_components/nezha/strings.json").read_text("utf-8")
)
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def missing_placeholders(result: ConfigFlowResult, section: str = "config") -> set[str]:
    """The placeholders the result's translated texts use that the result does not provide.

    Texts: the step's title, description and field descriptions (forms and menus), each form
    error, or the abort reason. HA's frontend shows a text with a missing placeholder broken.
    """
    strings = _STRINGS[section]
    texts: list[str] = []
    if result["type"] is FlowResultType.ABORT:
        texts.append(strings["abort"][result["reason"]])
    else:
        step = strings["step"][result["step_id"]]
        texts += [step.get("title", ""), step.get("description", "")]
        texts += step.get("data_description", {}).values()
        texts += [strings["error"][error] for error in (result.get("errors") or {}).values()]
    used = {name for text in texts for name in _PLACEHOLDER.findall(text)}
    return used - set(result.get("description_placeholders") or {})


OPTIONS_INPUT = {
    CONF_SCAN_INTERVAL: 60.0,
    CONF_MONITOR_INTERVAL: 120.0,
    CONF_ONLINE_THRESHOLD: 45.0,
}
NUMBER_FIELDS = [CONF_SCAN_INTERVAL, CONF_MONITOR_INTERVAL, CONF_ONLINE_THRESHOLD]
SAVED_OPTIONS = {CONF_SCAN_INTERVAL: 60, CONF_MONITOR_INTERVAL: 120, CONF_ONLINE_THRESHOLD: 45}
"""What OPTIONS_INPUT saves for a 0.x entry."""
FIELDS_1X = [*NUMBER_FIELDS, CONF_LIVE_UPDATES, CONF_ACTIONS]
"""1.x/2.x entries also have the live updates switch (on unless turned off) and actions (off)."""
SAVED_OPTIONS_1X = {**SAVED_OPTIONS, CONF_LIVE_UPDATES: True, CONF_ACTIONS: False}
URL_INPUT = {CONF_URL: URL, CONF_VERIFY_SSL: True}

REFUSED_LOGIN = {CONF_USERNAME: USERNAME, CONF_PASSWORD: BAD_PASSWORD}
WORKING_LOGIN = {CONF_USERNAME: USERNAME, CONF_PASSWORD: NEW_PASSWORD}
CREDENTIAL_ROUTES = [
    pytest.param(
        "v0", "api_token", {CONF_API_TOKEN: BAD_TOKEN}, {CONF_API_TOKEN: NEW_TOKEN}, id="v0"
    ),
    pytest.param("v2", "token", {CONF_API_TOKEN: BAD_PAT}, {CONF_API_TOKEN: NEW_PAT}, id="v2-pat"),
    pytest.param("v1", "login", REFUSED_LOGIN, WORKING_LOGIN, id="v1-login"),
    pytest.param("v2", "login", REFUSED_LOGIN, WORKING_LOGIN, id="v2-login"),
]
"""Each generation's credential step: (api, step, refused input, working input)."""

KINDS = {"api_token": "api_token", "token": "access_token", "login": "password"}
"""The credential each step asks for."""


def add_entry(
    hass: HomeAssistant, data: dict[str, Any], options: dict[str, Any] | None = None
) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN, title="nezha.example.com", data=data, options=options or {}
    )
    entry.add_to_hass(hass)
    return entry


async def load_entry(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Set ``entry`` up (with ``mock_setup_entry``)."""
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


@pytest.fixture
def setup_holds_a_client(mock_setup_entry: AsyncMock) -> None:
    """Entries set up by ``mock_setup_entry`` hold a client, as a real set-up does.

    The options flow of a loaded entry uses that client (it signs in no second time).
    """

    async def setup(hass: HomeAssistant, entry: Any) -> bool:
        entry.runtime_data = MagicMock(client=client_for_entry(hass, entry), live=None)
        return True

    mock_setup_entry.side_effect = setup


def assert_form(result: ConfigFlowResult, step: str, errors: dict[str, str]) -> None:
    """A form of ``step`` with ``errors``, every placeholder its texts use provided."""
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == step
    assert result["errors"] == errors
    assert missing_placeholders(result) == set()


def assert_logged(caplog: pytest.LogCaptureFixture, error: Exception, reason: str) -> None:
    """The form error's cause is in the log: at debug level, or (unexpected) with a traceback."""
    if reason == "unknown":
        record = next(r for r in caplog.records if "Unexpected error" in r.getMessage())
        assert str(error) in (record.exc_text or "")
    else:
        assert f"Reading the dashboard failed ({reason}): {error}" in caplog.text
