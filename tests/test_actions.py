"""The actions in Home Assistant against the simulator: each entity kind on 1.x and 2.x.

Every credential that can act (a 1.x login, a 2.x login with its CSRF pair, a 2.x access token
with the scopes) gets the same switches, buttons, last-run sensors and update entities; each
one's state is what the dashboard holds after the write, and each write leaves every other
field of the object as it was (full replace).
"""

from __future__ import annotations

from dataclasses import replace

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest

from nezha_simulator import NezhaSimulator
from nezha_simulator.actions import AlertExtras, MonitorConfig

from .actions_ha import (
    CREDENTIALS,
    LATEST,
    Releases,
    action_entities,
    actions_entry,
    dash,
    entity_id,
    releases,
    state,
    writes,
)
from .conftest import poll, setup_entry

__all__ = ["dash", "releases"]  # fixtures

EXPECTED = {
    "alertrule1_enabled": "switch.nezha_test_dashboard_quota_alert_rule",
    "service1_notify": "switch.nezha_test_dashboard_tcp_127_0_0_1_8008_notifications",
    "service2_notify": "switch.nezha_test_dashboard_tcp_127_0_0_1_1_notifications",
    "service3_notify": "switch.nezha_test_dashboard_http_https_example_com_notifications",
    "cron1_run": "button.nezha_test_dashboard_run_hello",
    "cron1_last_run": "sensor.nezha_test_dashboard_hello_last_run",
    "cron2_run": "button.nezha_test_dashboard_run_everywhere",
    "cron2_last_run": "sensor.nezha_test_dashboard_everywhere_last_run",
    "1_agent_update": "update.web_1_agent",
    "2_agent_update": "update.db_1_agent",
    "3_agent_update": "update.edge_1_agent",
}
"""Every action entity of the filled dashboard: the cover-2 task "on alert" has no button."""


@pytest.mark.parametrize(("generation", "login"), CREDENTIALS)
async def test_every_kind_for_every_credential(
    hass: HomeAssistant,
    dash: NezhaSimulator,
    entity_registry: er.EntityRegistry,
    generation: str,
    login: bool,
) -> None:
    """Each credential gets every entity kind, showing what the dashboard holds; nothing is
    written by setting up (no repair issue either: the token has every scope)."""
    await setup_entry(hass, actions_entry(dash, generation, login=login))
    assert action_entities(entity_registry) == EXPECTED
    assert state(hass, EXPECTED["alertrule1_enabled"]) == STATE_ON
    assert state(hass, EXPECTED["service1_notify"]) == STATE_OFF
    assert state(hass, EXPECTED["cron1_last_run"]) == STATE_UNKNOWN  # never ran
    update = hass.states.get(EXPECTED["1_agent_update"])
    assert update is not None
    assert update.state == STATE_ON
    assert update.attributes["installed_version"] == "2.3.1"
    assert update.attributes["latest_version"] == LATEST
    assert "restart" in update.attributes["release_summary"]
    assert "refuse forced updates" in update.attributes["release_summary"]
    probes = [
        "PATCH /api/v1/alert-rule/0",
        "PATCH /api/v1/service/0",
        "POST /api/v1/cron/0/manual",
        "POST /api/v1/force-update/server",
    ]
    # Only a token's write scopes are probed: by writes to no object (the last with no server).
    assert writes(dash) == ([] if generation == "v1" or login else probes)
    assert (dash.cron_runs, dash.force_updates) == ([], [])


@pytest.mark.parametrize(("generation", "login"), CREDENTIALS)
async def test_rule_switch_is_a_full_replace(
    hass: HomeAssistant,
    dash: NezhaSimulator,
    entity_registry: er.EntityRegistry,
    generation: str,
    login: bool,
) -> None:
    """Turning the maintenance switch off and on changes ``enable`` and nothing else of the rule
    the dashboard stores; the switch shows the dashboard's state after each write."""
    group = dash.add_notification_group("ops")
    extras = AlertExtras(trigger_mode=1, notification_group_id=group, recover_trigger_tasks=[2])
    dash.set_alert_extras(1, extras)
    await setup_entry(hass, actions_entry(dash, generation, login=login))
    dash.requests.clear()
    switch = entity_id(entity_registry, Platform.SWITCH, "alertrule1_enabled")
    rule = dash.alert_rules[1]
    before = (rule.name, list(rule.rules), dash.alert_extras(1))

    await hass.services.async_call("switch", "turn_off", {"entity_id": switch}, blocking=True)
    assert rule.enabled is False
    assert state(hass, switch) == STATE_OFF
    after = dash.alert_extras(1)
    assert (rule.name, rule.rules, replace(after, updated_at=None, rules_json=None)) == (
        before[0],
        before[1],
        replace(before[2], updated_at=None),
    )
    assert after.rules_json is not None  # the rules went back whole, as read

    await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    assert rule.enabled is True
    assert state(hass, switch) == STATE_ON
    assert [w.split()[0] for w in writes(dash)] == ["PATCH", "PATCH"]


@pytest.mark.parametrize(("generation", "login"), CREDENTIALS)
async def test_notify_switch_is_a_full_replace(
    hass: HomeAssistant,
    dash: NezhaSimulator,
    entity_registry: er.EntityRegistry,
    generation: str,
    login: bool,
) -> None:
    """A monitor's notifications go on and off; every other stored field stays as it was."""
    config = MonitorConfig(
        "127.0.0.1:8008",
        duration=45,
        display_index=3 if generation == "v2" else 0,
        latency_notify=True,
        min_latency=5.0,
        max_latency=250.0,
        skip_servers={2: True},
        cover=1,
    )
    dash.set_monitor_config(1, config)
    await setup_entry(hass, actions_entry(dash, generation, login=login))
    dash.requests.clear()
    switch = entity_id(entity_registry, Platform.SWITCH, "service1_notify")

    await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    stored = dash.monitor_config(1)
    assert stored.notify is True
    assert replace(stored, notify=False, updated_at=None) == config
    assert dash.monitors[1].name == "TCP 127.0.0.1:8008"
    assert state(hass, switch) == STATE_ON

    await hass.services.async_call("switch", "turn_off", {"entity_id": switch}, blocking=True)
    assert replace(dash.monitor_config(1), updated_at=None) == config
    assert state(hass, switch) == STATE_OFF


@pytest.mark.parametrize(("generation", "login"), CREDENTIALS)
async def test_task_button_runs_the_task(
    hass: HomeAssistant,
    dash: NezhaSimulator,
    entity_registry: er.EntityRegistry,
    generation: str,
    login: bool,
) -> None:
    """Pressing runs the task on its online servers (2.x ``POST``, 1.x ``GET``); its last-run
    sensor shows the dashboard's time of the run at once."""
    await setup_entry(hass, actions_entry(dash, generation, login=login))
    dash.requests.clear()
    button = entity_id(entity_registry, Platform.BUTTON, "cron2_run")
    sensor = entity_id(entity_registry, Platform.SENSOR, "cron2_last_run")

    await hass.services.async_call("button", "press", {"entity_id": button}, blocking=True)
    assert [(run.task_id, run.server_id) for run in dash.cron_runs] == [(2, 1), (2, 2)]
    verb = "POST" if generation == "v2" else "GET"
    assert writes(dash) == [f"{verb} /api/v1/cron/2/manual"]
    assert state(hass, sensor) != STATE_UNKNOWN
    assert dash.crons[2].last_executed_at is not None


@pytest.mark.parametrize(("generation", "login"), CREDENTIALS)
async def test_agent_update_installs(
    hass: HomeAssistant,
    dash: NezhaSimulator,
    entity_registry: er.EntityRegistry,
    freezer: FrozenDateTimeFactory,
    generation: str,
    login: bool,
) -> None:
    """Install forces the update of that one server; the version the agent then reports is
    the installed one, and the entity says it is current."""
    await setup_entry(hass, actions_entry(dash, generation, login=login))
    dash.requests.clear()
    update = entity_id(entity_registry, Platform.UPDATE, "1_agent_update")

    await hass.services.async_call("update", "install", {"entity_id": update}, blocking=True)
    assert [server_id for server_id, _ in dash.force_updates] == [1]
    assert writes(dash) == ["POST /api/v1/force-update/server"]
    await poll(hass, freezer)
    current = hass.states.get(update or "")
    assert current is not None
    assert current.attributes["installed_version"] == LATEST
    assert current.state == STATE_OFF


async def test_latest_release_read_every_six_hours(
    hass: HomeAssistant,
    dash: NezhaSimulator,
    entity_registry: er.EntityRegistry,
    releases: Releases,
    freezer: FrozenDateTimeFactory,
) -> None:
    """GitHub is asked once at set-up and again only after six hours, however often the
    dashboard is read; a new release shows then."""
    await setup_entry(hass, actions_entry(dash, "v1"))
    update = entity_id(entity_registry, Platform.UPDATE, "1_agent_update")
    assert releases.reads == 1
    releases.body["tag_name"] = "v2.4.0"
    for _ in range(5):
        await poll(hass, freezer, 3600)
    assert releases.reads == 1
    await poll(hass, freezer, 3600)
    assert releases.reads == 2
    current = hass.states.get(update or "")
    assert current is not None
    assert current.attributes["latest_version"] == "2.4.0"


@pytest.mark.parametrize(
    ("status", "body"), [(403, {"message": "API rate limit exceeded"}), (200, {"name": "x"})]
)
async def test_unreadable_release_leaves_latest_unknown(
    hass: HomeAssistant,
    dash: NezhaSimulator,
    entity_registry: er.EntityRegistry,
    releases: Releases,
    caplog: pytest.LogCaptureFixture,
    status: int,
    body: dict[str, str],
) -> None:
    """Without a release from GitHub (refused, or an answer without a tag) the update entities
    show the installed version and an unknown latest one, with one debug line, nothing louder."""
    releases.status, releases.body = status, body
    caplog.set_level("DEBUG", logger="custom_components.nezha")
    await setup_entry(hass, actions_entry(dash, "v2", login=True))
    update = entity_id(entity_registry, Platform.UPDATE, "1_agent_update")
    current = hass.states.get(update or "")
    assert current is not None
    assert current.state == STATE_UNKNOWN
    assert current.attributes["installed_version"] == "2.3.1"
    assert current.attributes["latest_version"] is None
    lines = [r for r in caplog.records if "agent release" in r.getMessage()]
    assert [r.levelname for r in lines] == ["DEBUG"]
    assert not [r for r in caplog.records if r.levelno >= 30 and "nezha" in r.name]


async def test_renamed_rule_and_task_rename_their_entities(
    hass: HomeAssistant, dash: NezhaSimulator, entity_registry: er.EntityRegistry
) -> None:
    """An alert rule and a cron task renamed on the dashboard: their switch, button and last-run
    sensor take the new names at the next read; entity IDs stay."""
    entry = actions_entry(dash, "v2")
    await setup_entry(hass, entry)
    renamed = ("alertrule1_enabled", "cron1_run", "cron1_last_run")
    before = [hass.states.get(EXPECTED[key]).attributes["friendly_name"] for key in renamed]  # type: ignore[union-attr]
    dash.alert_rules[1].name = "Quota during the sale"
    dash.crons[1].name = "Say hello"
    actions = entry.runtime_data.actions
    assert actions is not None
    await actions.async_refresh()
    await hass.async_block_till_done()
    after = [hass.states.get(EXPECTED[key]).attributes["friendly_name"] for key in renamed]  # type: ignore[union-attr]
    assert after == [
        name.replace("quota", "Quota during the sale").replace("hello", "Say hello")
        for name in before
    ]
    assert action_entities(entity_registry) == EXPECTED
    for key in renamed:
        registered = entity_registry.async_get(EXPECTED[key])
        assert registered is not None
        assert registered.original_name is not None
        assert after[renamed.index(key)].endswith(registered.original_name)
