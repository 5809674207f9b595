"""The options flow: intervals, server groups (0.x tags, 1.x/2.x groups), outages."""

from __future__ import annotations

import logging
from typing import Any
from unittest.mock import AsyncMock

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    CONF_API_TOKEN,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.selector import BooleanSelector
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    get_schema_suggested_value,
)

from custom_components.nezha.api import (
    NezhaAuthError,
    NezhaConnectionError,
    NezhaError,
    NezhaPermissionError,
    NezhaResponseError,
    NezhaUnsupportedVersionError,
    Server,
    ServersSnapshot,
)
from custom_components.nezha.const import (
    CONF_GROUP_ID,
    CONF_GROUP_NAME,
    CONF_LIVE_UPDATES,
    CONF_MONITOR_INTERVAL,
    CONF_ONLINE_THRESHOLD,
    CONF_SCAN_INTERVAL,
    CONF_TAG,
)

from .conftest import TOKEN
from .flow_fixtures import (
    FIELDS_1X,
    LOGIN_DATA,
    NUMBER_FIELDS,
    OPTIONS_INPUT,
    PAT_DATA,
    SAVED_OPTIONS,
    SAVED_OPTIONS_1X,
    V0_DATA,
    MockDashboard,
    add_entry,
    credential_step,
    field_names,
    fields,
    load_entry,
    missing_placeholders,
    select_options,
    selector,
    setup_holds_a_client,  # noqa: F401  (a fixture, used by name)
    submit,
)
from .log_check import UNEXPECTED_FLOW_ERROR

pytestmark = pytest.mark.usefixtures("mock_setup_entry", "setup_holds_a_client")


# Options: 0.x tags


async def test_options_form_lists_tags(
    hass: HomeAssistant, entry: MockConfigEntry, dashboard: MockDashboard
) -> None:
    """The group dropdown has the dashboard's distinct tags, sorted; defaults are suggested."""
    hass.config_entries.async_update_entry(entry, options={})
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "polling"  # 0.x: no live updates to speak of
    assert result["errors"] == {}
    assert result["description_placeholders"] == {"name": "nezha.example.com"}
    assert missing_placeholders(result, "options") == set()
    dashboard.servers.assert_awaited_once()  # all servers, whatever the configured group

    schema = fields(result)
    markers = {str(key): key for key in schema}
    assert list(markers) == [*NUMBER_FIELDS, CONF_TAG]
    assert select_options(result, CONF_TAG) == [("Cache", "Cache"), ("db", "db"), ("web", "web")]
    assert markers[CONF_SCAN_INTERVAL].default() == 30
    assert markers[CONF_MONITOR_INTERVAL].default() == 60
    assert markers[CONF_ONLINE_THRESHOLD].default() == 30
    for key in NUMBER_FIELDS:
        config = selector(result, key).config
        # No min/max on the box: the flow checks the range, with a translated error.
        assert "min" not in config
        assert "max" not in config
        assert config["unit_of_measurement"] == "s"
    assert get_schema_suggested_value(schema, CONF_TAG) is None


async def test_options_keep_vanished_tag(
    hass: HomeAssistant, entry: MockConfigEntry, dashboard: MockDashboard
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
    assert [value for value, _ in select_options(result, CONF_TAG)] == [
        "Cache",
        "db",
        "gone",
        "web",
    ]
    for key, value in options.items():
        assert get_schema_suggested_value(fields(result), key) == value


async def test_options_without_tags(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    dashboard: MockDashboard,
    mock_setup_entry: AsyncMock,
) -> None:
    """With no groups on the dashboard and none configured, there is no group field.

    Saving reloads the entry in the background: its set-up is the mock's, and the test waits
    for it (a real one would look up the example host while the test tears down)."""
    hass.config_entries.async_update_entry(entry, options={})
    dashboard.servers.return_value = ServersSnapshot(
        servers={1: Server(id=1, name="solo")}, dashboard_time=None
    )
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert field_names(result) == NUMBER_FIELDS
    result = await hass.config_entries.options.async_configure(result["flow_id"], OPTIONS_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == SAVED_OPTIONS
    await hass.async_block_till_done()


async def test_options_save_and_reload(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mock_setup_entry: AsyncMock,
    mock_unload_entry: AsyncMock,
    dashboard: MockDashboard,
) -> None:
    """Saving stores whole seconds and the group, and reloads the entry."""
    await load_entry(hass, entry)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**OPTIONS_INPUT, CONF_TAG: "db"}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {**SAVED_OPTIONS, CONF_TAG: "db"}
    assert entry.options == {**SAVED_OPTIONS, CONF_TAG: "db"}
    assert all(type(value) is int for key, value in entry.options.items() if key != CONF_TAG)
    assert len(mock_unload_entry.mock_calls) == 1
    assert len(mock_setup_entry.mock_calls) == 2
    assert entry.state is ConfigEntryState.LOADED


async def test_options_clear_tag(
    hass: HomeAssistant, entry: MockConfigEntry, dashboard: MockDashboard
) -> None:
    """Leaving the group empty removes it: all servers."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert get_schema_suggested_value(fields(result), CONF_TAG) == "web"
    result = await hass.config_entries.options.async_configure(result["flow_id"], OPTIONS_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == SAVED_OPTIONS


async def test_options_monitors_off(
    hass: HomeAssistant, entry: MockConfigEntry, dashboard: MockDashboard
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
    dashboard: MockDashboard,
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
    assert result["step_id"] == "polling"
    assert result["errors"] == {key: error}
    assert missing_placeholders(result, "options") == set()
    assert get_schema_suggested_value(fields(result), key) == value
    assert get_schema_suggested_value(fields(result), CONF_TAG) == "db"
    assert dashboard.servers.await_count == 1  # the groups are not read again
    assert entry.options == {CONF_TAG: "web"}
    assert f"Option {key} refused ({error}): {value}" in caplog.text

    result = await hass.config_entries.options.async_configure(result["flow_id"], OPTIONS_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == SAVED_OPTIONS


async def test_options_each_submission_replaces_the_errors(
    hass: HomeAssistant, entry: MockConfigEntry, dashboard: MockDashboard
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


# Options: 1.x/2.x server groups


@pytest.mark.parametrize("data", [PAT_DATA, LOGIN_DATA], ids=["pat", "login"])
async def test_options_list_server_groups_by_name(
    hass: HomeAssistant,
    mock_unload_entry: AsyncMock,
    dashboard: MockDashboard,
    data: dict[str, Any],
) -> None:
    """A 1.x/2.x entry offers the dashboard's server groups by name, sorted; the chosen one is
    stored as its id (a number) with its name beside it; the entry reloads."""
    entry = add_entry(hass, data)
    await load_entry(hass, entry)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["errors"] == {}
    assert field_names(result) == [*FIELDS_1X, CONF_GROUP_ID]
    assert select_options(result, CONF_GROUP_ID) == [("2", "Edge"), ("3", "lab"), ("1", "prod")]
    assert get_schema_suggested_value(fields(result), CONF_GROUP_ID) is None
    dashboard.groups.assert_awaited_once()
    dashboard.servers.assert_not_awaited()

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**OPTIONS_INPUT, CONF_GROUP_ID: "1"}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {**SAVED_OPTIONS_1X, CONF_GROUP_ID: 1, CONF_GROUP_NAME: "prod"}
    assert type(entry.options[CONF_GROUP_ID]) is int
    assert entry.state is ConfigEntryState.LOADED
    assert len(mock_unload_entry.mock_calls) == 1


async def test_options_keep_vanished_and_renamed_groups(
    hass: HomeAssistant, dashboard: MockDashboard
) -> None:
    """A group the dashboard no longer has stays selectable under its stored name; a renamed
    one shows (and is saved with) its new name."""
    entry = add_entry(hass, PAT_DATA, {CONF_GROUP_ID: 9, CONF_GROUP_NAME: "retired"})
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert select_options(result, CONF_GROUP_ID) == [
        ("2", "Edge"),
        ("3", "lab"),
        ("1", "prod"),
        ("9", "retired"),
    ]
    assert get_schema_suggested_value(fields(result), CONF_GROUP_ID) == "9"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**OPTIONS_INPUT, CONF_GROUP_ID: "9"}
    )
    assert entry.options == {**SAVED_OPTIONS_1X, CONF_GROUP_ID: 9, CONF_GROUP_NAME: "retired"}

    hass.config_entries.async_update_entry(
        entry, options={CONF_GROUP_ID: 1, CONF_GROUP_NAME: "production"}
    )
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert ("1", "prod") in select_options(result, CONF_GROUP_ID)
    assert "production" not in {label for _, label in select_options(result, CONF_GROUP_ID)}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**OPTIONS_INPUT, CONF_GROUP_ID: "1"}
    )
    assert entry.options == {**SAVED_OPTIONS_1X, CONF_GROUP_ID: 1, CONF_GROUP_NAME: "prod"}


async def test_options_clear_server_group(hass: HomeAssistant, dashboard: MockDashboard) -> None:
    """Leaving the group empty removes both the id and the name: all servers."""
    entry = add_entry(hass, LOGIN_DATA, {CONF_GROUP_ID: 1, CONF_GROUP_NAME: "prod"})
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert get_schema_suggested_value(fields(result), CONF_GROUP_ID) == "1"
    result = await hass.config_entries.options.async_configure(result["flow_id"], OPTIONS_INPUT)
    assert entry.options == SAVED_OPTIONS_1X


async def test_options_server_group_kept_through_a_range_error(
    hass: HomeAssistant, dashboard: MockDashboard
) -> None:
    """After an out-of-range value, the chosen group is suggested again (as the selector's text)."""
    entry = add_entry(hass, PAT_DATA)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**OPTIONS_INPUT, CONF_SCAN_INTERVAL: 1, CONF_GROUP_ID: "2"}
    )
    assert result["errors"] == {CONF_SCAN_INTERVAL: "scan_interval_out_of_range"}
    assert get_schema_suggested_value(fields(result), CONF_GROUP_ID) == "2"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**OPTIONS_INPUT, CONF_GROUP_ID: "2"}
    )
    assert entry.options == {**SAVED_OPTIONS_1X, CONF_GROUP_ID: 2, CONF_GROUP_NAME: "Edge"}


# Options while the dashboard can't be read


OUTAGES = [
    (NezhaConnectionError("Timeout after 10 s"), "(cannot_connect): Timeout after 10 s"),
    (NezhaConnectionError("HTTP 502"), "(cannot_connect): HTTP 502"),
    (NezhaResponseError("an HTML page"), "(not_nezha): an HTML page"),
    (RuntimeError("boom"), "Unexpected error while reading the dashboard"),
]


@UNEXPECTED_FLOW_ERROR
@pytest.mark.parametrize(("side_effect", "logged"), OUTAGES)
@pytest.mark.parametrize(("current", "offered"), [({CONF_TAG: "web"}, ["web"]), ({}, None)])
async def test_options_open_during_an_outage(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    dashboard: MockDashboard,
    caplog: pytest.LogCaptureFixture,
    side_effect: Exception,
    logged: str,
    current: dict[str, str],
    offered: list[str] | None,
    mock_setup_entry: AsyncMock,
) -> None:
    """The dashboard down or answering badly: the form opens with only the current group (or no
    group field), says why, and saves; an invalid value keeps the notice.

    Saving reloads the entry in the background: its set-up is the mock's, and the test waits for
    it (a real one would poll the failing mock while the test tears down)."""
    caplog.set_level(logging.DEBUG, logger="custom_components.nezha")
    hass.config_entries.async_update_entry(entry, options=current)
    dashboard.servers.side_effect = side_effect
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "groups_unavailable"}
    assert missing_placeholders(result, "options") == set()
    assert logged in caplog.text
    tags = [value for value, _ in select_options(result, CONF_TAG)] if offered else None
    assert tags == offered
    assert (CONF_TAG in field_names(result)) is bool(offered)
    assert get_schema_suggested_value(fields(result), CONF_TAG) == current.get(CONF_TAG)

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
    assert entry.options == {**SAVED_OPTIONS, **current}
    assert dashboard.servers.await_count == 1
    await hass.async_block_till_done()


@UNEXPECTED_FLOW_ERROR
@pytest.mark.parametrize(
    "side_effect",
    [NezhaConnectionError("refused"), NezhaError("something new")],
)
async def test_options_server_groups_during_an_outage(
    hass: HomeAssistant, dashboard: MockDashboard, side_effect: Exception
) -> None:
    """A 1.x/2.x entry offers only its current group (by its stored name) and saves it."""
    entry = add_entry(hass, PAT_DATA, {CONF_GROUP_ID: 1, CONF_GROUP_NAME: "prod"})
    dashboard.groups.side_effect = side_effect
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["errors"] == {"base": "groups_unavailable"}
    assert select_options(result, CONF_GROUP_ID) == [("1", "prod")]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**OPTIONS_INPUT, CONF_GROUP_ID: "1"}
    )
    assert entry.options == {**SAVED_OPTIONS_1X, CONF_GROUP_ID: 1, CONF_GROUP_NAME: "prod"}


# Options: live updates (1.x/2.x only)


@pytest.mark.parametrize("data", [PAT_DATA, LOGIN_DATA], ids=["pat", "login"])
async def test_options_turn_live_updates_off_and_on(
    hass: HomeAssistant, dashboard: MockDashboard, data: dict[str, Any]
) -> None:
    """The switch is on for an entry that never chose; off is saved and shown next time."""
    entry = add_entry(hass, data)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert isinstance(selector(result, CONF_LIVE_UPDATES), BooleanSelector)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**OPTIONS_INPUT, CONF_LIVE_UPDATES: False}
    )
    assert entry.options == {**SAVED_OPTIONS_1X, CONF_LIVE_UPDATES: False}

    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert get_schema_suggested_value(fields(result), CONF_LIVE_UPDATES) is False
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**OPTIONS_INPUT, CONF_LIVE_UPDATES: True}
    )
    assert entry.options == SAVED_OPTIONS_1X


async def test_options_0x_have_no_live_updates(
    hass: HomeAssistant, dashboard: MockDashboard
) -> None:
    """A 0.x dashboard has no stream: no switch, nothing saved for it."""
    entry = add_entry(hass, V0_DATA)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert CONF_LIVE_UPDATES not in field_names(result)
    result = await hass.config_entries.options.async_configure(result["flow_id"], OPTIONS_INPUT)
    assert entry.options == SAVED_OPTIONS


@pytest.mark.parametrize(
    ("data", "side_effect", "reason"),
    [
        (V0_DATA, NezhaAuthError("refused"), "api_token_refused"),
        (V0_DATA, NezhaUnsupportedVersionError("1.x"), "unsupported_version"),
        (PAT_DATA, NezhaAuthError("expired", "expired"), "access_token_refused"),
        (PAT_DATA, NezhaAuthError("unknown"), "access_token_refused"),
        (PAT_DATA, NezhaPermissionError("lacks", "nezha:inventory:read"), "missing_scope"),
        (LOGIN_DATA, NezhaAuthError("wrong password"), "password_refused"),
    ],
)
async def test_options_abort_when_the_user_must_act(
    hass: HomeAssistant,
    dashboard: MockDashboard,
    data: dict[str, Any],
    side_effect: Exception,
    reason: str,
) -> None:
    """A refused credential (named as what it is), a missing scope or an upgraded 0.x
    dashboard aborts with its reason, options untouched."""
    entry = add_entry(hass, data, {CONF_SCAN_INTERVAL: 15})
    dashboard.servers.side_effect = side_effect
    dashboard.groups.side_effect = side_effect
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == reason
    assert missing_placeholders(result, "options") == set()
    assert entry.options == {CONF_SCAN_INTERVAL: 15}


@UNEXPECTED_FLOW_ERROR
async def test_error_type_missing_from_the_table_is_unknown(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    dashboard: MockDashboard,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An error the table lacks is ``unknown`` in the config flow (logged with its traceback),
    an outage in the options: never a KeyError."""
    dashboard.servers.side_effect = NezhaError("something new")
    result = await credential_step(hass, "api_token", url="https://other.example.com")
    result = await submit(hass, result, {CONF_API_TOKEN: TOKEN})
    assert result["errors"] == {"base": "unknown"}
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["errors"] == {"base": "groups_unavailable"}
    records = [r for r in caplog.records if "Unexpected error while reading" in r.getMessage()]
    assert len(records) == 2
    assert all("something new" in (record.exc_text or "") for record in records)
