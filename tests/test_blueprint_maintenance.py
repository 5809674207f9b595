"""The maintenance-window blueprint in a running Home Assistant with the integration's switches
against the simulator (schema and README checks: test_blueprints.py)."""

from __future__ import annotations

from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component

from custom_components.nezha.const import DOMAIN
from nezha_simulator import NezhaSimulator

from .actions_ha import actions_entry, dash, entity_id, releases, state
from .conftest import setup_entry
from .test_blueprints import hass_config_dir, load_blueprint, setup_automation

__all__ = ["dash", "hass_config_dir", "releases"]  # fixtures

WINDOW = "input_boolean.maintenance"


def test_pickers() -> None:
    """The window is an input_boolean or schedule; the rules are several of our switches."""
    inputs = load_blueprint("maintenance_window.yaml").inputs
    assert inputs["window"]["selector"]["entity"]["filter"] == [
        {"domain": ["input_boolean", "schedule"]}
    ]
    rules = inputs["rule_switches"]["selector"]["entity"]
    assert rules["multiple"] is True
    assert rules["filter"] == [{"integration": DOMAIN, "domain": ["switch"]}]


async def test_rules_off_during_the_window(
    hass: HomeAssistant, dash: NezhaSimulator, entity_registry: er.EntityRegistry
) -> None:
    """Window on: the rule is disabled on the dashboard; off: enabled again. The window coming
    back from unavailable changes nothing."""
    await setup_entry(hass, actions_entry(dash, "v2", login=True))
    assert await async_setup_component(
        hass, "input_boolean", {"input_boolean": {"maintenance": {}}}
    )
    switch = entity_id(entity_registry, Platform.SWITCH, "alertrule1_enabled")
    await setup_automation(
        hass, "maintenance_window.yaml", {"window": WINDOW, "rule_switches": [switch]}
    )

    await hass.services.async_call("input_boolean", "turn_on", {"entity_id": WINDOW}, blocking=True)
    await hass.async_block_till_done()
    assert dash.alert_rules[1].enabled is False
    assert state(hass, switch) == STATE_OFF

    await hass.services.async_call(
        "input_boolean", "turn_off", {"entity_id": WINDOW}, blocking=True
    )
    await hass.async_block_till_done()
    assert dash.alert_rules[1].enabled is True
    assert state(hass, switch) == STATE_ON

    hass.states.async_set(WINDOW, STATE_UNAVAILABLE)
    hass.states.async_set(WINDOW, STATE_ON)
    await hass.async_block_till_done()
    assert dash.alert_rules[1].enabled is True
