"""Every way an action fails: a translated HomeAssistantError, never a traceback.

Permission denied, a missing scope, an offline agent, a rule/monitor/task deleted meanwhile, an
unreachable dashboard, a refused credential (re-authentication, as for a refused read), a stale
CSRF cookie (fetched again, the write sent once more) and any other refusal in the dashboard's
words.
"""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import CONF_API_TOKEN, STATE_ON, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
import pytest

from nezha_simulator import NezhaSimulator

from .actions_ha import actions_entry, dash, entity_id, releases, state, writes
from .conftest import poll, setup_entry

__all__ = ["dash", "releases"]  # fixtures

JSON = "application/json; charset=utf-8"


async def act(hass: HomeAssistant, domain: str, service: str, entity: str | None) -> None:
    """Call an entity service and wait for it."""
    await hass.services.async_call(domain, service, {"entity_id": entity}, blocking=True)


async def failure(
    hass: HomeAssistant, domain: str, service: str, entity: str | None
) -> HomeAssistantError:
    """The error an entity service raises (it must raise one)."""
    with pytest.raises(HomeAssistantError) as caught:
        await act(hass, domain, service, entity)
    return caught.value


def dashboard_says(sim: NezhaSimulator, path: str, answer: str, status: int = 200) -> None:
    """The next request under ``path`` gets this JSON answer."""
    sim.fail_next(status=status, body=answer, content_type=JSON, path=path)


@pytest.fixture
async def loaded(
    hass: HomeAssistant, dash: NezhaSimulator, entity_registry: er.EntityRegistry
) -> dict[str, Any]:
    """A 2.x login entry with actions, set up; its entity ids by key."""
    await setup_entry(hass, actions_entry(dash, "v2", login=True))
    keys = {
        "rule": (Platform.SWITCH, "alertrule1_enabled"),
        "notify": (Platform.SWITCH, "service1_notify"),
        "button": (Platform.BUTTON, "cron1_run"),
        "web": (Platform.UPDATE, "1_agent_update"),
        "edge": (Platform.UPDATE, "3_agent_update"),
    }
    return {name: entity_id(entity_registry, *key) for name, key in keys.items()}


async def test_offline_agent(
    hass: HomeAssistant, dash: NezhaSimulator, loaded: dict[str, Any]
) -> None:
    """The dashboard answers ``offline`` for an agent that is not connected: said plainly."""
    error = await failure(hass, "update", "install", loaded["edge"])
    assert error.translation_key == "agent_offline"
    assert error.translation_placeholders == {"name": "edge-1"}
    assert str(error).startswith("The agent of edge-1 is offline, so the dashboard could not")
    assert dash.force_updates == []


async def test_update_not_sent(
    hass: HomeAssistant, dash: NezhaSimulator, loaded: dict[str, Any]
) -> None:
    """An id in ``failure`` (the dashboard could not send the task) is an error too."""
    answer = '{"success":true,"data":{"failure":[1]}}'
    dashboard_says(dash, "/api/v1/force-update/server", answer)
    error = await failure(hass, "update", "install", loaded["web"])
    assert error.translation_key == "agent_update_failed"


async def test_permission_denied(
    hass: HomeAssistant, dash: NezhaSimulator, loaded: dict[str, Any]
) -> None:
    """``permission denied`` (another user's object): the switch keeps the dashboard's state."""
    dashboard_says(dash, "/api/v1/alert-rule/", '{"error":"permission denied"}')
    error = await failure(hass, "switch", "turn_off", loaded["rule"])
    assert error.translation_key == "action_permission_denied"
    assert error.translation_placeholders == {"name": "quota"}
    assert dash.alert_rules[1].enabled is True
    assert state(hass, loaded["rule"]) == STATE_ON


async def test_missing_scope(
    hass: HomeAssistant, dash: NezhaSimulator, loaded: dict[str, Any]
) -> None:
    """A scope refusal names the scope."""
    answer = '{"error":"ApiErrorForbidden: api token lacks scope nezha:cron:exec"}'
    dashboard_says(dash, "/api/v1/cron/", answer, status=403)
    error = await failure(hass, "button", "press", loaded["button"])
    assert error.translation_key == "action_missing_scope"
    assert error.translation_placeholders == {"name": "hello", "scope": "nezha:cron:exec"}
    assert dash.cron_runs == []


async def test_monitor_deleted_meanwhile(
    hass: HomeAssistant,
    dash: NezhaSimulator,
    loaded: dict[str, Any],
    entity_registry: er.EntityRegistry,
) -> None:
    """A monitor deleted since the last read: nothing is sent, the error says so, and its
    switch goes with the read that follows."""
    dash.remove_monitor(1)
    dash.requests.clear()
    error = await failure(hass, "switch", "turn_on", loaded["notify"])
    assert error.translation_key == "action_not_found"
    assert writes(dash) == []
    assert entity_registry.async_get(loaded["notify"]) is None


async def test_task_deleted_meanwhile(
    hass: HomeAssistant,
    dash: NezhaSimulator,
    loaded: dict[str, Any],
    entity_registry: er.EntityRegistry,
) -> None:
    """The dashboard's "task id … does not exist": the error says so; the button goes."""
    del dash.crons[1]
    error = await failure(hass, "button", "press", loaded["button"])
    assert error.translation_key == "action_not_found"
    assert error.translation_placeholders == {"name": "hello"}
    assert entity_registry.async_get(loaded["button"]) is None


async def test_dashboard_unreachable(
    hass: HomeAssistant, dash: NezhaSimulator, loaded: dict[str, Any]
) -> None:
    """A dropped connection: the error names no host, and the task is not sent again."""
    dash.disconnect_next(path="/api/v1/cron/")
    dash.requests.clear()
    error = await failure(hass, "button", "press", loaded["button"])
    assert error.translation_key == "action_cannot_connect"
    assert "127.0.0.1" not in str(error)
    assert writes(dash) == ["POST /api/v1/cron/1/manual"]


async def test_other_refusal_in_the_dashboards_words(
    hass: HomeAssistant, dash: NezhaSimulator, loaded: dict[str, Any]
) -> None:
    """A refusal this integration has no name for is shown as the dashboard words it."""
    answer = '{"error":"need to configure at least a single rule"}'
    dashboard_says(dash, "/api/v1/alert-rule/", answer)
    error = await failure(hass, "switch", "turn_off", loaded["rule"])
    assert error.translation_key == "action_refused"
    assert "need to configure at least a single rule" in str(error)


async def test_stale_csrf_cookie_is_renewed(
    hass: HomeAssistant, dash: NezhaSimulator, loaded: dict[str, Any]
) -> None:
    """A 2.x login's CSRF cookie the dashboard no longer takes: refused before acting, so a
    fresh cookie is read and the task sent once more; it runs once."""
    dash._router._csrf.clear()
    dash.requests.clear()
    await act(hass, "button", "press", loaded["button"])
    assert [(run.task_id, run.server_id) for run in dash.cron_runs] == [(1, 1)]
    sent = [f"{r.method} {r.path_qs}" for r in dash.requests]
    assert sent[:3] == [
        "POST /api/v1/cron/1/manual",  # refused: missing or invalid CSRF token
        "GET /api/v1/profile",
        "POST /api/v1/cron/1/manual",
    ]


async def test_refused_token_starts_reauth(
    hass: HomeAssistant, dash: NezhaSimulator, entity_registry: er.EntityRegistry
) -> None:
    """A token deleted on the dashboard: the write fails as a refused read does, by asking the
    user for a new credential."""
    entry = actions_entry(dash, "v2")
    await setup_entry(hass, entry)
    dash.revoke_pat(entry.data[CONF_API_TOKEN])
    button = entity_id(entity_registry, Platform.BUTTON, "cron1_run")
    error = await failure(hass, "button", "press", button)
    assert error.translation_key == "auth_failed_access_token"
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler("nezha")
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert dash.cron_runs == []


async def test_dashboard_down_at_a_read(
    hass: HomeAssistant,
    dash: NezhaSimulator,
    loaded: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    """A failed read leaves the action entities unavailable (not removed) until the next one."""
    dash.fail_next(path="/api/v1/cron")
    await poll(hass, freezer, 60)
    assert state(hass, loaded["button"]) == STATE_UNAVAILABLE
    assert state(hass, loaded["rule"]) == STATE_UNAVAILABLE
    await poll(hass, freezer, 60)
    assert state(hass, loaded["rule"]) == STATE_ON
    assert state(hass, loaded["button"]) != STATE_UNAVAILABLE


async def test_refused_token_at_a_read(hass: HomeAssistant, dash: NezhaSimulator) -> None:
    """The actions' reads take a refused credential to re-authentication too."""
    entry = actions_entry(dash, "v2")
    await setup_entry(hass, entry)
    coordinator = entry.runtime_data.actions
    assert coordinator is not None
    dash.revoke_pat(entry.data[CONF_API_TOKEN])
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert not coordinator.last_update_success
    flows = hass.config_entries.flow.async_progress_by_handler("nezha")
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def test_unreadable_at_set_up(
    hass: HomeAssistant,
    dash: NezhaSimulator,
    entity_registry: er.EntityRegistry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The entry loads while the actions' first read fails; their entities (agent updates
    included) come with the first read that works."""
    dash.fail_next(path="/api/v1/cron")
    await setup_entry(hass, actions_entry(dash, "v1"))
    assert entity_id(entity_registry, Platform.UPDATE, "1_agent_update") is None
    await poll(hass, freezer, 60)
    assert state(hass, entity_id(entity_registry, Platform.UPDATE, "1_agent_update")) == STATE_ON
    assert (
        state(hass, entity_id(entity_registry, Platform.BUTTON, "cron1_run")) != STATE_UNAVAILABLE
    )
