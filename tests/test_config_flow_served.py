"""The flows against served dashboards (the v0 simulator, a fake 1.x/2.x one), and secrets."""

from __future__ import annotations

import logging
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_RECONFIGURE, ConfigFlowResult
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
    start_reauth_flow,
)

from custom_components.nezha.const import (
    CONF_API,
    CONF_GROUP_ID,
    CONF_GROUP_NAME,
    CONF_TAG,
    DOMAIN,
)
from nezha_simulator import NezhaSimulator

from .conftest import TOKEN
from .fake_dashboard import JWT, PASSWORD, PAT, SERVER, SETTING, SIGNED_IN, FakeDashboard
from .flow_fixtures import (
    BAD_TOKEN,
    LOGIN_DATA,
    NEW_TOKEN,
    OPTIONS_INPUT,
    PAT_DATA,
    SAVED_OPTIONS_1X,
    SECRETS,
    add_entry,
    assert_form,
    assert_no_secret,
    choose,
    select_options,
    setup_holds_a_client,  # noqa: F401  (a fixture, used by name)
    start_user,
    submit,
)
from .log_check import UNEXPECTED_FLOW_ERROR

pytestmark = pytest.mark.usefixtures("mock_setup_entry", "setup_holds_a_client")


# Against the simulated 0.x dashboard over HTTP


async def test_simulator_v0_creates_entry(hass: HomeAssistant, simulator: NezhaSimulator) -> None:
    """Detection (two guest requests) finds 0.x; a good token creates the entry."""
    simulator.add_server("web-1", tag="web")
    result = await submit(
        hass, await start_user(hass), {CONF_URL: f"{simulator.url}/", CONF_VERIFY_SSL: True}
    )
    assert_form(result, "api_token", {})
    result = await submit(hass, result, {CONF_API_TOKEN: TOKEN})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == simulator.url.removeprefix("http://")
    assert result["data"] == {
        CONF_URL: simulator.url,
        CONF_API_TOKEN: TOKEN,
        CONF_VERIFY_SSL: True,
        CONF_API: "v0",
    }
    assert [(r.method, r.path_qs, r.authorization) for r in simulator.requests] == [
        ("GET", "/api/v1/setting", None),
        ("GET", "/api/v1/server/details", None),
        ("GET", "/api/v1/server/details", TOKEN),
    ]


async def test_simulator_1x_is_asked_for_a_login(
    hass: HomeAssistant, simulator: NezhaSimulator
) -> None:
    """The simulator answering as a 1.x dashboard (guest settings without ``tsdb_enabled``)."""
    simulator.generation = "v1"
    result = await submit(hass, await start_user(hass), {CONF_URL: simulator.url})
    assert_form(result, "login", {})


@pytest.mark.parametrize(
    ("break_dashboard", "error"),
    [
        (NezhaSimulator.fail_next, "cannot_connect"),
        (lambda sim: sim.html_next(path="/api/v1/server/details"), "not_nezha"),
        (lambda sim: sim.broken_json_next(path="/api/v1/server/details"), "not_nezha"),
        (lambda sim: sim.disconnect_next(2), "cannot_connect"),
    ],
)
async def test_simulator_detection_errors_then_recover(
    hass: HomeAssistant, simulator: NezhaSimulator, break_dashboard: Any, error: str
) -> None:
    """A 502, an HTML page or broken JSON where 0.x answers JSON, a dropped connection."""
    break_dashboard(simulator)
    user_input = {CONF_URL: simulator.url, CONF_VERIFY_SSL: True}
    result = await submit(hass, await start_user(hass), user_input)
    assert_form(result, "user", {"base": error})
    simulator.clear_faults()
    result = await submit(hass, result, user_input)
    result = await submit(hass, result, {CONF_API_TOKEN: TOKEN})
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize(
    ("break_dashboard", "error"),
    [
        (
            lambda sim: setattr(sim, "token", "SomeoneElsesTokenSomeoneElsesTok"),
            "api_token_refused",
        ),
        (NezhaSimulator.revoke_token, "api_token_refused"),
        (NezhaSimulator.html_next, "not_nezha"),
        (NezhaSimulator.broken_json_next, "not_nezha"),
        (NezhaSimulator.fail_next, "cannot_connect"),
        # aiohttp retries an idempotent request once after the server hung up on it.
        (lambda sim: sim.disconnect_next(2), "cannot_connect"),
        (lambda sim: setattr(sim, "generation", "v1"), "version_changed"),
    ],
)
async def test_simulator_token_errors_then_recover(
    hass: HomeAssistant, simulator: NezhaSimulator, break_dashboard: Any, error: str
) -> None:
    """Real 403 bodies, HTML, broken JSON, 502, a dropped connection and a dashboard that
    became 1.x/2.x between detection and the token."""
    result = await submit(hass, await start_user(hass), {CONF_URL: simulator.url})
    break_dashboard(simulator)
    result = await submit(hass, result, {CONF_API_TOKEN: TOKEN})
    # A dashboard that changed version sends the flow back to the address.
    assert_form(result, "user" if error == "version_changed" else "api_token", {"base": error})

    simulator.token, simulator.generation = TOKEN, "v0"
    simulator.clear_faults()
    if error == "version_changed":
        result = await submit(hass, result, {CONF_URL: simulator.url})
    result = await submit(hass, result, {CONF_API_TOKEN: TOKEN})
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_simulator_options_tags(
    hass: HomeAssistant, fleet: NezhaSimulator, config_entry: MockConfigEntry
) -> None:
    """The options form lists the simulated dashboard's tags; stopped, it still opens."""
    config_entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(config_entry.entry_id)
    assert select_options(result, CONF_TAG) == [("lab", "lab"), ("prod", "prod")]

    await fleet.stop()
    result = await hass.config_entries.options.async_init(config_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "groups_unavailable"}


# Against a fake 1.x/2.x dashboard over HTTP


def _serve(fake: FakeDashboard, *, generation: str, server: dict[str, Any] = SERVER) -> None:
    """Guest settings of ``generation`` (1.x: no ``tsdb_enabled``), a login, one server."""
    setting = SETTING if generation == "v2" else {"config": SETTING["config"]}
    fake.answers["setting"] = (200, {"success": True, "data": setting})
    fake.answers["login"] = SIGNED_IN
    fake.answers["server"] = (200, {"success": True, "data": [server]})
    fake.answers["server-group"] = (
        200,
        {"success": True, "data": [{"group": {"id": 1, "name": "prod"}, "servers": [3]}]},
    )


async def test_fake_2x_access_token_creates_entry(hass: HomeAssistant, fake: FakeDashboard) -> None:
    """A 2.x dashboard, the menu's ``token``: one guest request, one read with ``Bearer``."""
    _serve(fake, generation="v2")
    result = await submit(hass, await start_user(hass), {CONF_URL: fake.url})
    result = await choose(hass, result, "token")
    result = await submit(hass, result, {CONF_API_TOKEN: PAT})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        CONF_URL: fake.url,
        CONF_VERIFY_SSL: True,
        CONF_API: "v2",
        CONF_API_TOKEN: PAT,
    }
    assert fake.requests == [
        ("GET", "/api/v1/setting", None),
        ("GET", "/api/v1/server", f"Bearer {PAT}"),
    ]


@pytest.mark.parametrize(
    ("server", "api"),
    [({k: v for k, v in SERVER.items() if k != "owner"}, "v1"), (SERVER, "v2")],
    ids=["1x", "upgraded-to-2x"],
)
async def test_fake_1x_login_creates_entry(
    hass: HomeAssistant, fake: FakeDashboard, server: dict[str, Any], api: str
) -> None:
    """A 1.x dashboard: one login, one read with its JWT; servers with an ``owner`` (2.x) make
    the entry ``v2``."""
    _serve(fake, generation="v1", server=server)
    result = await submit(hass, await start_user(hass), {CONF_URL: fake.url})
    assert_form(result, "login", {})
    result = await submit(hass, result, {CONF_USERNAME: "admin", CONF_PASSWORD: PASSWORD})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_API] == api
    assert result["data"][CONF_PASSWORD] == PASSWORD
    assert fake.requests == [
        ("GET", "/api/v1/setting", None),
        ("POST", "/api/v1/login", None),
        ("GET", "/api/v1/server", f"Bearer {JWT}"),
    ]


@pytest.mark.parametrize(
    ("route", "answer", "error", "placeholder"),
    [
        (
            "server",
            (401, {"error": "ApiErrorUnauthorized: invalid api token"}),
            "access_token_refused",
            "",
        ),
        (
            "server",
            (401, {"error": "ApiErrorUnauthorized: api token expired"}),
            "access_token_expired",
            "",
        ),
        ("server", (200, {"error": "ApiErrorUnauthorized"}), "access_tokens_unsupported", ""),
        (
            "server",
            (403, {"error": "ApiErrorForbidden: api token lacks scope nezha:inventory:read"}),
            "missing_scope",
            "nezha:inventory:read",
        ),
        (
            "server",
            (403, {"error": "ApiErrorForbidden: api token lacks scope nezha:server:read"}),
            "missing_scope",
            "nezha:server:read",
        ),
        ("server", (403, "<html>blocked by the nezha waf</html>"), "blocked", ""),
        ("server", (200, {"error": "real ip header not found"}), "real_ip_header", ""),
        ("server", (502, "<html>Bad Gateway</html>"), "cannot_connect", ""),
        ("server", (200, {"error": "server not found"}), "not_nezha", ""),
    ],
)
async def test_fake_access_token_errors_then_recover(
    hass: HomeAssistant,
    fake: FakeDashboard,
    route: str,
    answer: tuple[int, Any],
    error: str,
    placeholder: str,
) -> None:
    """A 2.x dashboard's real refusals of an access token, each shown; then it reads."""
    _serve(fake, generation="v2")
    result = await choose(
        hass, await submit(hass, await start_user(hass), {CONF_URL: fake.url}), "token"
    )
    good = fake.answers[route]
    fake.answers[route] = answer
    result = await submit(hass, result, {CONF_API_TOKEN: PAT})
    assert_form(result, "token", {"base": error})
    assert result["description_placeholders"]["missing_scope"] == placeholder
    fake.answers[route] = good
    result = await submit(hass, result, {CONF_API_TOKEN: PAT})
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_fake_refused_login_is_sent_once(hass: HomeAssistant, fake: FakeDashboard) -> None:
    """A wrong password: one ``POST /login``, no retry, until the user submits again."""
    _serve(fake, generation="v1")
    fake.answers["login"] = (200, {"error": "ApiErrorUnauthorized"})
    result = await submit(hass, await start_user(hass), {CONF_URL: fake.url})
    result = await submit(hass, result, {CONF_USERNAME: "admin", CONF_PASSWORD: "wrong"})
    assert_form(result, "login", {"base": "password_refused"})
    assert [r[:2] for r in fake.requests if r[0] == "POST"] == [("POST", "/api/v1/login")]
    assert not any(path == "/api/v1/server" for _, path, _ in fake.requests)

    fake.answers["login"] = SIGNED_IN
    result = await submit(hass, result, {CONF_USERNAME: "admin", CONF_PASSWORD: PASSWORD})
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize(
    ("setting", "error"),
    [
        ((200, {"error": "real ip header not found"}), "real_ip_header"),
        ((403, "<html>nezha WAF: blocked</html>"), "blocked"),
        ((404, "<html>not here</html>"), "not_nezha"),
    ],
)
async def test_fake_detection_errors(
    hass: HomeAssistant, fake: FakeDashboard, setting: tuple[int, Any], error: str
) -> None:
    """The guard's answers to a guest, and a site that is no Nezha dashboard."""
    fake.answers["setting"] = setting
    result = await submit(hass, await start_user(hass), {CONF_URL: fake.url})
    assert_form(result, "user", {"base": error})
    _serve(fake, generation="v2")
    result = await submit(hass, result, {CONF_URL: fake.url})
    assert result["type"] is FlowResultType.MENU


async def test_fake_options_list_server_groups(hass: HomeAssistant, fake: FakeDashboard) -> None:
    """A 2.x entry's options read ``/server-group`` with its access token."""
    _serve(fake, generation="v2")
    entry = add_entry(hass, {**PAT_DATA, CONF_URL: fake.url, CONF_API_TOKEN: PAT})
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert select_options(result, CONF_GROUP_ID) == [("1", "prod")]
    assert fake.requests == [("GET", "/api/v1/server-group", f"Bearer {PAT}")]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**OPTIONS_INPUT, CONF_GROUP_ID: "1"}
    )
    assert entry.options == {**SAVED_OPTIONS_1X, CONF_GROUP_ID: 1, CONF_GROUP_NAME: "prod"}


async def test_fake_login_reauth(hass: HomeAssistant, fake: FakeDashboard) -> None:
    """A login entry's reauth signs in with the stored user name and the new password."""
    _serve(fake, generation="v2")
    entry = add_entry(hass, {**LOGIN_DATA, CONF_URL: fake.url})
    result = await start_reauth_flow(hass, entry)
    result = await submit(hass, result, {CONF_PASSWORD: PASSWORD})
    assert result["reason"] == "reauth_successful"
    assert entry.data == {**LOGIN_DATA, CONF_URL: fake.url, CONF_PASSWORD: PASSWORD, CONF_API: "v2"}


# Secrets


@UNEXPECTED_FLOW_ERROR
@pytest.mark.usefixtures("mock_unload_entry")
async def test_v0_token_never_logged(
    hass: HomeAssistant, simulator: NezhaSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Through every failure of every flow of a 0.x entry, no token reaches a log or a result."""
    caplog.set_level(logging.DEBUG)
    results: list[ConfigFlowResult] = []
    result = await submit(hass, await start_user(hass), {CONF_URL: simulator.url})
    flow_id = result["flow_id"]
    bad = {CONF_API_TOKEN: BAD_TOKEN}
    for break_dashboard in (
        lambda: None,  # wrong token: a real 403 body
        simulator.html_next,
        simulator.broken_json_next,
        simulator.fail_next,
        lambda: simulator.disconnect_next(2),
    ):
        break_dashboard()
        results.append(await hass.config_entries.flow.async_configure(flow_id, bad))
    simulator.generation = "v1"
    results.append(await hass.config_entries.flow.async_configure(flow_id, bad))
    simulator.generation = "v0"
    await hass.config_entries.flow.async_configure(flow_id, {CONF_URL: simulator.url})
    with patch(
        "custom_components.nezha.api.v0.NezhaV0Client.async_get_servers",
        side_effect=RuntimeError("unexpected"),
    ):
        results.append(await hass.config_entries.flow.async_configure(flow_id, bad))
    assert [r["errors"] for r in results] == [
        {"base": "api_token_refused"},
        {"base": "not_nezha"},
        {"base": "not_nezha"},
        {"base": "cannot_connect"},
        {"base": "cannot_connect"},
        {"base": "version_changed"},
        {"base": "unknown"},
    ]
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_API_TOKEN: TOKEN})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = hass.config_entries.async_get_entry(result["result"].entry_id)
    assert entry is not None
    await hass.async_block_till_done()

    # Reauth after the dashboard's token was replaced, then reconfigure with a bad token.
    simulator.token = NEW_TOKEN
    result = await start_reauth_flow(hass, entry)
    results.append(result)
    results.append(await submit(hass, result, bad))
    result = await submit(hass, result, {CONF_API_TOKEN: NEW_TOKEN})
    results.append(result)
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()

    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    results.append(result)
    result = await submit(hass, result, {CONF_URL: simulator.url})
    simulator.fail_next()
    results.append(await submit(hass, result, bad))
    results.append(await submit(hass, result, bad))
    assert [r.get("errors") for r in results[-2:]] == [
        {"base": "cannot_connect"},
        {"base": "api_token_refused"},
    ]
    await hass.config_entries.async_unload(entry.entry_id)
    await simulator.stop()
    results.append(await hass.config_entries.options.async_init(entry.entry_id))
    assert results[-1]["errors"] == {"base": "groups_unavailable"}

    _assert_nothing_leaked(caplog, results, TOKEN, BAD_TOKEN, NEW_TOKEN)
    assert "Unexpected error while reading the dashboard" in caplog.text


async def test_1x_2x_secrets_never_logged(
    hass: HomeAssistant, fake: FakeDashboard, caplog: pytest.LogCaptureFixture
) -> None:
    """A password, the JWT it buys and an access token, each refused by pages that echo them:
    none reaches a log record or a result."""
    caplog.set_level(logging.DEBUG)
    _serve(fake, generation="v2")
    echo = f"ApiErrorForbidden: token {JWT} password {PASSWORD} pat {PAT}"
    results: list[ConfigFlowResult] = []

    result = await submit(hass, await start_user(hass), {CONF_URL: fake.url})
    token = await choose(hass, result, "token")
    fake.answers["server"] = (401, {"error": f"ApiErrorUnauthorized: {PAT} is unknown"})
    results.append(await submit(hass, token, {CONF_API_TOKEN: PAT}))
    hass.config_entries.flow.async_abort(token["flow_id"])

    result = await choose(
        hass, await submit(hass, await start_user(hass), {CONF_URL: fake.url}), "login"
    )
    fake.answers["server"] = (200, {"error": echo})
    results.append(await submit(hass, result, {CONF_USERNAME: "admin", CONF_PASSWORD: PASSWORD}))
    fake.answers["login"] = (200, {"error": f"ApiErrorUnauthorized: {PASSWORD}"})
    results.append(await submit(hass, result, {CONF_USERNAME: "admin", CONF_PASSWORD: PASSWORD}))
    assert [r["errors"] for r in results] == [
        {"base": "access_token_refused"},
        {"base": "missing_scope"},
        {"base": "password_refused"},
    ]
    entry = add_entry(hass, {**LOGIN_DATA, CONF_URL: fake.url, CONF_PASSWORD: PASSWORD})
    results.append(await hass.config_entries.options.async_init(entry.entry_id))
    assert results[-1]["reason"] == "password_refused"

    _assert_nothing_leaked(caplog, results, PASSWORD, JWT, PAT, *SECRETS)


def _assert_nothing_leaked(
    caplog: pytest.LogCaptureFixture, results: list[ConfigFlowResult], *secrets: str
) -> None:
    for result in results:
        assert_no_secret(result, *secrets)
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        for secret in secrets:
            assert secret not in text
    for secret in secrets:
        assert secret not in caplog.text
