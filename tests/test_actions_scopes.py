"""What decides whether actions exist: the option, the generation and a 2.x token's scopes.

A token without a scope gets no entities of the kinds that need it and one repair issue naming
every scope to add; the issue goes when the scopes are there or the option is off. The option
off removes every action entity from the registry and stops every write (and every probe).
"""

from __future__ import annotations

from homeassistant.const import CONF_API_TOKEN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nezha.const import CONF_ACTIONS, DOMAIN
from nezha_simulator import NezhaSimulator
from nezha_simulator.actions import AlertExtras

from .actions_ha import (
    ALL_SCOPES,
    Releases,
    action_entities,
    actions_entry,
    dash,
    entity_id,
    releases,
    writes,
)
from .conftest import TOKEN, first_reads, setup_entry
from .test_generations import ENTRY_ID, INVENTORY_SCOPE, SERVICE_SCOPE, entry_for

__all__ = ["dash", "releases"]  # fixtures

ISSUE = f"actions_missing_scopes_{ENTRY_ID}"
READ_ONLY = (INVENTORY_SCOPE, SERVICE_SCOPE)


async def reload_with(
    hass: HomeAssistant, entry: MockConfigEntry, *, actions: bool | None = None, token: str = ""
) -> None:
    """Change the option or the token, as the options flow or Reconfigure do, and reload."""
    if actions is not None:
        hass.config_entries.async_update_entry(
            entry, options={**entry.options, CONF_ACTIONS: actions}
        )
    if token:
        hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_API_TOKEN: token})
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await first_reads(hass)


async def test_read_only_token_gets_one_issue(
    hass: HomeAssistant,
    dash: NezhaSimulator,
    entity_registry: er.EntityRegistry,
    issue_registry: ir.IssueRegistry,
    releases: Releases,
) -> None:
    """A read-only token: no action entity, one issue naming every scope to add; the probes
    changed nothing, and GitHub is not asked for a release nothing shows. A new token with the
    scopes (Reconfigure) brings the entities and ends the issue."""
    entry = actions_entry(dash, "v2", scopes=READ_ONLY)
    await setup_entry(hass, entry)
    assert action_entities(entity_registry) == {}
    issue = issue_registry.async_get_issue(DOMAIN, ISSUE)
    assert issue is not None
    assert issue.translation_key == "actions_missing_scopes"
    assert issue.translation_placeholders == {
        "title": "Nezha test dashboard",
        "scopes": "nezha:alertrule:read, nezha:alertrule:write, nezha:cron:exec, "
        "nezha:cron:read, nezha:server:write, nezha:service:write",
    }
    assert [i for i in issue_registry.issues if i[0] == DOMAIN] == [(DOMAIN, ISSUE)]
    assert (dash.cron_runs, dash.force_updates, dash.alert_rules[1].enabled) == ([], [], True)
    assert releases.reads == 0

    await reload_with(hass, entry, token=dash.create_pat(ALL_SCOPES))
    assert len(action_entities(entity_registry)) == 11
    assert issue_registry.async_get_issue(DOMAIN, ISSUE) is None


async def test_without_cron_exec(
    hass: HomeAssistant,
    dash: NezhaSimulator,
    entity_registry: er.EntityRegistry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Without ``nezha:cron:exec``: no task buttons, and no switch for a rule with trigger tasks
    (writing it needs that scope); the rest is there and the issue names that one scope."""
    dash.set_alert_extras(1, AlertExtras(fail_trigger_tasks=[1]))
    second = dash.add_cycle_rule(
        "spare", max_bytes=1, cycle_start=dash.alert_rules[1].rules[0].cycle_start
    )
    scopes = tuple(scope for scope in ALL_SCOPES if scope != "nezha:cron:exec")
    await setup_entry(hass, actions_entry(dash, "v2", scopes=scopes))
    keys = set(action_entities(entity_registry))
    assert f"alertrule{second}_enabled" in keys
    assert "alertrule1_enabled" not in keys
    assert not {key for key in keys if key.startswith("cron")}
    assert {"service1_notify", "1_agent_update"} <= keys
    issue = issue_registry.async_get_issue(DOMAIN, ISSUE)
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["scopes"] == "nezha:cron:exec"


async def test_option_off_removes_everything_and_writes_nothing(
    hass: HomeAssistant,
    dash: NezhaSimulator,
    entity_registry: er.EntityRegistry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Turning actions off removes every action entity from the registry (not left
    unavailable) and the scope issue; from then on nothing is written, probed or read for
    them, through polls and reloads."""
    entry = actions_entry(dash, "v2", scopes=(*READ_ONLY, "nezha:cron:read", "nezha:cron:exec"))
    await setup_entry(hass, entry)
    assert entity_id(entity_registry, Platform.BUTTON, "cron1_run") is not None
    assert issue_registry.async_get_issue(DOMAIN, ISSUE) is not None

    await reload_with(hass, entry, actions=False)
    assert action_entities(entity_registry) == {}
    assert issue_registry.async_get_issue(DOMAIN, ISSUE) is None
    dash.requests.clear()
    await reload_with(hass, entry)
    assert writes(dash) == []
    paths = {request.path_qs for request in dash.requests}
    assert not paths & {"/api/v1/cron", "/api/v1/service/list"}


async def test_never_on_asks_nothing(
    hass: HomeAssistant, dash: NezhaSimulator, entity_registry: er.EntityRegistry
) -> None:
    """An entry that never turned actions on (missing option = off) reads and writes nothing
    of theirs, and probes no scope."""
    entry = entry_for(dash, "v2", scopes=READ_ONLY)
    await setup_entry(hass, entry)
    assert action_entities(entity_registry) == {}
    assert writes(dash) == []
    assert not {r.path_qs for r in dash.requests} & {"/api/v1/cron", "/api/v1/service/list"}


async def test_0x_has_no_actions(
    hass: HomeAssistant, dash: NezhaSimulator, entity_registry: er.EntityRegistry
) -> None:
    """A 0.x entry has no write API: the option does nothing there."""
    entry = entry_for(dash, "v0", **{CONF_ACTIONS: True})
    assert entry.data[CONF_API_TOKEN] == TOKEN
    await setup_entry(hass, entry)
    assert action_entities(entity_registry) == {}
