"""The blueprints: valid for Home Assistant, their pickers offer the right sensors, and they fire."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
import json
from pathlib import Path
import re
import shutil
from typing import Any
from urllib.parse import quote

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint import models
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, selector
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import load_yaml_dict
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_mock_service,
)

from custom_components.nezha.const import DOMAIN
from nezha_simulator import NezhaSimulator

from .conftest import poll, setup_entry

REPO = Path(__file__).resolve().parent.parent
BLUEPRINT_DIR = REPO / "blueprints" / "automation" / DOMAIN
GITHUB = "nezha-ha/ha-nezha"
READMES = ("README.md", "README.zh-Hans.md")

BLUEPRINT_INPUTS = {
    "server_offline.yaml": {"online_sensors", "grace_period", "notify_actions"},
    "monitor_unreachable.yaml": {"latency_sensors", "grace_period", "notify_actions"},
    "traffic_cycle_above.yaml": {"usage_sensors", "threshold", "notify_actions"},
    "server_renewal_within.yaml": {"expiry_sensors", "days", "check_time", "notify_actions"},
    "maintenance_window.yaml": {"window", "rule_switches"},
}
"""Each blueprint's inputs, as the README's tables list them."""


@dataclass(frozen=True)
class Case:
    """One blueprint, and how a test drives it."""

    file: str
    entity_input: str
    """The input that takes the watched sensors."""
    entity_id: str
    """A sensor to watch, with an entity ID of the shape the integration makes."""
    attributes: dict[str, str]
    up: str
    """The sensor's state while all is well."""
    down: str
    """Its state when the blueprint should fire (after the grace period)."""
    not_outages: tuple[str, ...]
    """States from which a change to ``down`` is not an outage."""
    grace: timedelta
    """The default grace period."""
    name_variable: str
    """The variable naming what went down (the friendly name, for a sensor without a device)."""


CASES = [
    pytest.param(
        Case(
            "server_offline.yaml",
            "online_sensors",
            "binary_sensor.web_1_online",
            {"device_class": "connectivity", "friendly_name": "web-1 watched"},
            STATE_ON,
            STATE_OFF,
            (STATE_UNAVAILABLE, STATE_UNKNOWN),
            timedelta(minutes=2),
            "server_name",
        ),
        id="server_offline",
    ),
    pytest.param(
        Case(
            "monitor_unreachable.yaml",
            "latency_sensors",
            "sensor.web_1_icmp_1_1_1_1_latency",
            {"device_class": "duration", "friendly_name": "web-1 watched"},
            "12.5",
            STATE_UNKNOWN,
            (STATE_UNAVAILABLE,),
            timedelta(minutes=5),
            "monitor_name",
        ),
        id="monitor_unreachable",
    ),
]


def raw_url(name: str) -> str:
    """Where Home Assistant imports a blueprint from."""
    return f"https://raw.githubusercontent.com/{GITHUB}/main/blueprints/automation/{DOMAIN}/{name}"


def load_json(path: Path) -> Any:
    """Parse a JSON file."""
    return json.loads(path.read_text(encoding="utf-8"))


def readme(name: str) -> str:
    """A README's text."""
    return (REPO / name).read_text(encoding="utf-8")


def load_blueprint(name: str) -> models.Blueprint:
    """A blueprint file validated the way the automation integration validates it."""
    path = BLUEPRINT_DIR / name
    return models.Blueprint(
        load_yaml_dict(path),
        path=str(path),
        expected_domain="automation",
        schema=AUTOMATION_BLUEPRINT_SCHEMA,
    )


# --- the files ---------------------------------------------------------------------------------


def test_the_readme_describes_every_blueprint() -> None:
    """No blueprint outside blueprints/automation/nezha, and none the README doesn't describe."""
    found = {path.relative_to(REPO).as_posix() for path in (REPO / "blueprints").rglob("*")}
    found = {name for name in found if not (REPO / name).is_dir()}
    assert found == {f"blueprints/automation/{DOMAIN}/{name}" for name in BLUEPRINT_INPUTS}


@pytest.mark.parametrize("name", sorted(BLUEPRINT_INPUTS))
def test_blueprint_validates(name: str) -> None:
    """HA's blueprint schema accepts the file; domain, inputs, defaults and metadata are right."""
    blueprint = load_blueprint(name)
    assert blueprint.domain == "automation"
    assert blueprint.validate() is None, "needs a newer Home Assistant than the tests run on"
    assert set(blueprint.inputs) == BLUEPRINT_INPUTS[name]
    assert blueprint.metadata["source_url"] == (
        f"https://github.com/{GITHUB}/blob/main/blueprints/automation/{DOMAIN}/{name}"
    )
    for key, spec in blueprint.inputs.items():
        assert spec["name"], key
        assert spec["description"], key
        if "default" in spec:
            # The default must be a value its own selector accepts.
            selector.selector(spec["selector"])(spec["default"])


ENTITY_FILTERS = {
    "server_offline.yaml": {
        "integration": DOMAIN,
        "domain": ["binary_sensor"],
        "device_class": ["connectivity"],
    },
    "monitor_unreachable.yaml": {
        "integration": DOMAIN,
        "domain": ["sensor"],
        "device_class": ["duration"],
    },
    "traffic_cycle_above.yaml": {"integration": DOMAIN, "domain": ["sensor"]},
    "server_renewal_within.yaml": {
        "integration": DOMAIN,
        "domain": ["sensor"],
        "device_class": ["timestamp"],
    },
}


@pytest.mark.parametrize("name", sorted(ENTITY_FILTERS))  # the notifying ones
def test_entity_input_filter(name: str) -> None:
    """Each picker takes several sensors, filtered the way the frontend filters entities."""
    inputs = load_blueprint(name).inputs
    (entity_key,) = (key for key, spec in inputs.items() if "entity" in spec["selector"])
    config = inputs[entity_key]["selector"]["entity"]
    assert config["multiple"] is True
    assert config["filter"] == [ENTITY_FILTERS[name]]
    if "grace_period" in inputs:
        assert "duration" in inputs["grace_period"]["selector"]
    assert "action" in inputs["notify_actions"]["selector"]


@pytest.mark.parametrize("readme_name", READMES)
@pytest.mark.parametrize("name", sorted(BLUEPRINT_INPUTS))
def test_readme_has_the_import_link_and_the_inputs(readme_name: str, name: str) -> None:
    """Each README links the my.home-assistant.io import of each blueprint and names its inputs."""
    text = readme(readme_name)
    link = "https://my.home-assistant.io/redirect/blueprint_import/?blueprint_url=" + quote(
        raw_url(name), safe=""
    )
    assert f"]({link})" in text
    for key in BLUEPRINT_INPUTS[name]:
        assert f"`{key}`" in text, key


# --- the blueprints in a running Home Assistant --------------------------------------------------


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """A throw-away config folder holding the blueprints, as if imported."""
    target = Path(hass_tmp_config_dir) / "blueprints" / "automation" / DOMAIN
    shutil.copytree(BLUEPRINT_DIR, target)
    return hass_tmp_config_dir


async def setup_automation(hass: HomeAssistant, name: str, inputs: dict[str, Any]) -> None:
    """Create an automation from a blueprint, as the UI does, and check it is running."""
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "id": "nezha_blueprint_test",
                "alias": "Blueprint test",
                "use_blueprint": {"path": f"{DOMAIN}/{name}", "input": inputs},
            }
        },
    )
    await hass.async_block_till_done()
    state = hass.states.get("automation.blueprint_test")
    assert state is not None
    assert state.state == STATE_ON, state.attributes


async def wait(hass: HomeAssistant, freezer: FrozenDateTimeFactory, delta: timedelta) -> None:
    """Let Home Assistant's clock run."""
    freezer.tick(delta)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


def notify_test(message: str) -> list[dict[str, Any]]:
    """``notify_actions`` calling notify.test."""
    return [{"action": "notify.test", "data": {"message": message}}]


@pytest.mark.parametrize("case", CASES)
async def test_notifies_after_the_grace_period(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, case: Case
) -> None:
    """Up -> down runs the actions once the sensor has been down for the (default) grace period."""
    calls = async_mock_service(hass, "notify", "test")
    hass.states.async_set(case.entity_id, case.up, case.attributes)
    await setup_automation(
        hass,
        case.file,
        {
            case.entity_input: [case.entity_id, "binary_sensor.other_online"],
            "notify_actions": notify_test(
                "{{ " + case.name_variable + " }} / {{ trigger.entity_id }}"
            ),
        },
    )
    hass.states.async_set(case.entity_id, case.down, case.attributes)
    await hass.async_block_till_done()
    await wait(hass, freezer, case.grace - timedelta(seconds=1))
    assert calls == []
    await wait(hass, freezer, timedelta(seconds=2))
    assert len(calls) == 1
    # No device behind this test entity: the name falls back to the friendly name.
    assert calls[0].data["message"] == f"web-1 watched / {case.entity_id}"


@pytest.mark.parametrize("case", CASES)
async def test_back_within_the_grace_period_sends_nothing(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, case: Case
) -> None:
    """A short outage is forgiven; the grace period is the input's value, not the default."""
    calls = async_mock_service(hass, "notify", "test")
    hass.states.async_set(case.entity_id, case.up, case.attributes)
    await setup_automation(
        hass,
        case.file,
        {
            case.entity_input: [case.entity_id],
            "grace_period": {"hours": 0, "minutes": 10, "seconds": 0},
            "notify_actions": notify_test("down"),
        },
    )
    hass.states.async_set(case.entity_id, case.down, case.attributes)
    await wait(hass, freezer, case.grace + timedelta(seconds=5))
    assert calls == []  # the default grace period is not used
    hass.states.async_set(case.entity_id, case.up, case.attributes)
    await wait(hass, freezer, timedelta(minutes=15))
    assert calls == []


@pytest.mark.parametrize(
    ("case", "previous"),
    [
        pytest.param(case.values[0], previous, id=f"{case.id}-{previous}")
        for case in CASES
        for previous in case.values[0].not_outages  # type: ignore[union-attr]
    ],
)
async def test_coming_back_as_down_sends_nothing(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, case: Case, previous: str
) -> None:
    """Unavailable/unknown -> down (HA starting, dashboard unreachable) is not an outage."""
    calls = async_mock_service(hass, "notify", "test")
    hass.states.async_set(case.entity_id, previous, case.attributes)
    await setup_automation(
        hass,
        case.file,
        {case.entity_input: [case.entity_id], "notify_actions": notify_test("down")},
    )
    hass.states.async_set(case.entity_id, case.down, case.attributes)
    await wait(hass, freezer, case.grace * 2)
    assert calls == []


@pytest.mark.parametrize("case", CASES)
async def test_default_action_is_a_persistent_notification(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, case: Case
) -> None:
    """Without notify_actions the blueprint shows a persistent notification naming the sensor."""
    calls = async_mock_service(hass, "persistent_notification", "create")
    hass.states.async_set(case.entity_id, case.up, case.attributes)
    await setup_automation(hass, case.file, {case.entity_input: [case.entity_id]})
    hass.states.async_set(case.entity_id, case.down, case.attributes)
    await wait(hass, freezer, case.grace + timedelta(seconds=1))
    assert len(calls) == 1
    assert calls[0].data["title"].startswith("Nezha ")
    message = calls[0].data["message"]
    assert "web-1 watched" in message
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", message), message


def offered(hass: HomeAssistant, entity_filter: dict[str, Any]) -> set[str]:
    """The entities an entity picker with this filter offers, decided as the frontend does:
    the entity registry's platform, the entity's domain and its device_class attribute."""
    registry = er.async_get(hass)
    return {
        state.entity_id
        for state in hass.states.async_all()
        if (entry := registry.async_get(state.entity_id)) is not None
        and entry.platform == entity_filter["integration"]
        and state.domain in entity_filter["domain"]
        and state.attributes.get("device_class") in entity_filter["device_class"]
    }


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_monitor_picker_offers_only_ping_monitors(
    hass: HomeAssistant, fleet: NezhaSimulator, config_entry: MockConfigEntry
) -> None:
    """The monitor blueprint's picker lists one latency sensor per monitor and server, nothing
    else; every such sensor has a reachable sibling (the same monitor)."""
    await setup_entry(hass, config_entry)
    latency = offered(hass, ENTITY_FILTERS["monitor_unreachable.yaml"])
    assert latency == {
        "sensor.gpu_box_ping_1_1_1_1_latency",
        "sensor.gpu_box_tcp_example_com_443_latency",
        "sensor.vps_hk_ping_1_1_1_1_latency",
        "sensor.vps_hk_tcp_example_com_443_latency",
    }


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_server_picker_offers_connectivity_sensors(
    hass: HomeAssistant, fleet: NezhaSimulator, config_entry: MockConfigEntry
) -> None:
    """The server blueprint's picker lists the servers' Online sensors and the ping monitors'
    reachable sensors: both are connectivity sensors as Home Assistant defines them, and an
    entity filter can tell them apart by nothing else (the input's description says which)."""
    await setup_entry(hass, config_entry)
    assert offered(hass, ENTITY_FILTERS["server_offline.yaml"]) == {
        "binary_sensor.gpu_box_online",
        "binary_sensor.vps_hk_online",
        "binary_sensor.new_node_online",
        "binary_sensor.gpu_box_ping_1_1_1_1_reachable",
        "binary_sensor.gpu_box_tcp_example_com_443_reachable",
        "binary_sensor.vps_hk_ping_1_1_1_1_reachable",
        "binary_sensor.vps_hk_tcp_example_com_443_reachable",
    }


async def test_monitor_blueprint_with_the_integration(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A real ping monitor failing its rounds notifies after the grace period, naming the
    monitor and the server; the healthy monitor of the other server stays quiet."""
    await setup_entry(hass, config_entry)
    calls = async_mock_service(hass, "notify", "test")
    watched = "sensor.vps_hk_ping_1_1_1_1_latency"
    await setup_automation(
        hass,
        "monitor_unreachable.yaml",
        {
            "latency_sensors": [watched, "sensor.gpu_box_ping_1_1_1_1_latency"],
            "notify_actions": notify_test("{{ server_name }}: {{ monitor_name }}"),
        },
    )
    assert (state := hass.states.get(watched)) is not None
    assert state.state == "36.25"

    ping = next(m.id for m in fleet.monitors.values() if m.name == "Ping 1.1.1.1")
    fleet.add_point(ping, 2, 0, at=fleet.now)  # a failed round from vps-hk
    fleet.add_point(ping, 1, 13.0, at=fleet.now)
    await poll(hass, freezer, 60)
    assert (state := hass.states.get(watched)) is not None
    assert state.state == STATE_UNKNOWN
    assert hass.states.is_state("binary_sensor.vps_hk_ping_1_1_1_1_reachable", STATE_OFF)
    await poll(hass, freezer, 4 * 60)
    assert calls == []
    await poll(hass, freezer, 61)
    assert [call.data["message"] for call in calls] == ["vps-hk: Ping 1.1.1.1 latency"]


async def test_server_offline_blueprint_with_the_integration(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A real Nezha server going offline notifies after the grace period, named by its device."""
    await setup_entry(hass, config_entry)
    calls = async_mock_service(hass, "notify", "test")
    await setup_automation(
        hass,
        "server_offline.yaml",
        {
            "online_sensors": ["binary_sensor.vps_hk_online", "binary_sensor.gpu_box_online"],
            "notify_actions": notify_test("{{ server_name }} is offline"),
        },
    )
    assert (state := hass.states.get("binary_sensor.vps_hk_online")) is not None
    assert state.state == "on"

    fleet.take_offline(2)
    fleet.advance(31)
    await poll(hass, freezer)
    assert (state := hass.states.get("binary_sensor.vps_hk_online")) is not None
    assert state.state == "off"
    await poll(hass, freezer, 60)
    assert calls == []
    await poll(hass, freezer, 61)
    assert [call.data["message"] for call in calls] == ["vps-hk is offline"]
