"""The blueprints and the README's YAML: valid for Home Assistant, and they do what they say."""

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
from homeassistant.const import STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import selector
from homeassistant.setup import async_setup_component
from homeassistant.util import slugify
from homeassistant.util.yaml import load_yaml_dict, parse_yaml
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
    "monitor_unreachable.yaml": {"reachable_sensors", "grace_period", "notify_actions"},
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
            timedelta(minutes=2),
            "server_name",
        ),
        id="server_offline",
    ),
    pytest.param(
        Case(
            "monitor_unreachable.yaml",
            "reachable_sensors",
            "binary_sensor.web_1_ping_1_1_1_1_reachable",
            timedelta(minutes=5),
            "monitor_name",
        ),
        id="monitor_unreachable",
    ),
]
CONNECTIVITY = {"device_class": "connectivity", "friendly_name": "web-1 watched"}


def raw_url(name: str) -> str:
    """Where Home Assistant imports a blueprint from."""
    return f"https://raw.githubusercontent.com/{GITHUB}/main/blueprints/automation/{DOMAIN}/{name}"


def load_json(path: Path) -> Any:
    """Parse a JSON file."""
    return json.loads(path.read_text(encoding="utf-8"))


def readme(name: str) -> str:
    """A README's text."""
    return (REPO / name).read_text(encoding="utf-8")


def yaml_blocks(text: str) -> list[Any]:
    """Every ```yaml block of a Markdown text, parsed with Home Assistant's loader."""
    return [parse_yaml(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.S)]


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


@pytest.mark.parametrize("name", sorted(BLUEPRINT_INPUTS))
def test_entity_input_is_limited_to_nezha_connectivity_sensors(name: str) -> None:
    """The entity picker offers only this integration's connectivity binary sensors."""
    inputs = load_blueprint(name).inputs
    (entity_key,) = (key for key, spec in inputs.items() if "entity" in spec["selector"])
    config = inputs[entity_key]["selector"]["entity"]
    assert config["multiple"] is True
    assert config["filter"] == [
        {"integration": DOMAIN, "domain": ["binary_sensor"], "device_class": ["connectivity"]}
    ]
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
    """On -> off runs the actions once the sensor has been off for the (default) grace period."""
    calls = async_mock_service(hass, "notify", "test")
    hass.states.async_set(case.entity_id, "on", CONNECTIVITY)
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
    hass.states.async_set(case.entity_id, "off", CONNECTIVITY)
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
    hass.states.async_set(case.entity_id, "on", CONNECTIVITY)
    await setup_automation(
        hass,
        case.file,
        {
            case.entity_input: [case.entity_id],
            "grace_period": {"hours": 0, "minutes": 10, "seconds": 0},
            "notify_actions": notify_test("down"),
        },
    )
    hass.states.async_set(case.entity_id, "off", CONNECTIVITY)
    await wait(hass, freezer, case.grace + timedelta(seconds=5))
    assert calls == []  # the default grace period is not used
    hass.states.async_set(case.entity_id, "on", CONNECTIVITY)
    await wait(hass, freezer, timedelta(minutes=15))
    assert calls == []


@pytest.mark.parametrize("previous", [STATE_UNAVAILABLE, STATE_UNKNOWN])
@pytest.mark.parametrize("case", CASES)
async def test_coming_back_as_off_sends_nothing(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, case: Case, previous: str
) -> None:
    """Unavailable/unknown -> off (HA starting, dashboard unreachable) is not an outage."""
    calls = async_mock_service(hass, "notify", "test")
    hass.states.async_set(case.entity_id, previous, CONNECTIVITY)
    await setup_automation(
        hass,
        case.file,
        {case.entity_input: [case.entity_id], "notify_actions": notify_test("down")},
    )
    hass.states.async_set(case.entity_id, "off", CONNECTIVITY)
    await wait(hass, freezer, case.grace * 2)
    assert calls == []


@pytest.mark.parametrize("case", CASES)
async def test_default_action_is_a_persistent_notification(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, case: Case
) -> None:
    """Without notify_actions the blueprint shows a persistent notification naming the sensor."""
    calls = async_mock_service(hass, "persistent_notification", "create")
    hass.states.async_set(case.entity_id, "on", CONNECTIVITY)
    await setup_automation(hass, case.file, {case.entity_input: [case.entity_id]})
    hass.states.async_set(case.entity_id, "off", CONNECTIVITY)
    await wait(hass, freezer, case.grace + timedelta(seconds=1))
    assert len(calls) == 1
    assert calls[0].data["title"].startswith("Nezha ")
    message = calls[0].data["message"]
    assert message.startswith("web-1 watched")
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", message), message


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


# --- the README's YAML -------------------------------------------------------------------------


def entity_suffixes() -> dict[str, set[str]]:
    """What entity IDs of each platform end in: ``_`` and the slug of the English entity name."""
    names = load_json(REPO / "custom_components" / DOMAIN / "translations" / "en.json")["entity"]
    return {
        platform: {
            "_" + slugify(entity["name"].replace("{monitor}", "")) for entity in entities.values()
        }
        for platform, entities in names.items()
    }


@pytest.mark.parametrize("readme_name", READMES)
def test_readme_entity_ids_have_real_shapes(readme_name: str) -> None:
    """Every sensor/binary_sensor ID in the README's YAML ends like one this integration makes."""
    suffixes = entity_suffixes()
    text = "\n".join(re.findall(r"```yaml\n(.*?)```", readme(readme_name), re.S))
    entity_ids = set(re.findall(r"\b(sensor|binary_sensor)\.([a-z0-9_]+)", text))
    assert len(entity_ids) >= 8
    for platform, object_id in sorted(entity_ids):
        assert any(
            object_id.endswith(suffix) and len(object_id) > len(suffix)
            for suffix in suffixes[platform]
        ), f"{platform}.{object_id}"


@pytest.mark.parametrize("readme_name", READMES)
async def test_readme_automations_are_valid(hass: HomeAssistant, readme_name: str) -> None:
    """Every automation example of the README loads in Home Assistant without an error."""
    automations = [block for block in yaml_blocks(readme(readme_name)) if "triggers" in block]
    assert len(automations) >= 4
    for number, automation in enumerate(automations):
        automation["id"] = f"readme_{number}"
    assert await async_setup_component(hass, "automation", {"automation": automations})
    await hass.async_block_till_done()
    states = hass.states.async_all("automation")
    assert len(states) == len(automations)
    for state in states:
        assert state.state == STATE_ON, (state.entity_id, state.attributes)


@pytest.mark.parametrize("readme_name", READMES)
def test_readme_cards_and_logger(readme_name: str) -> None:
    """The dashboard cards are the three the README promises, and the logger block is right."""
    blocks = yaml_blocks(readme(readme_name))
    cards = [block for block in blocks if "type" in block]
    assert [card["type"] for card in cards] == ["entities", "history-graph", "gauge"]
    for card in cards:
        if card["type"] == "gauge":
            assert card["entity"].startswith("sensor.")
        else:
            assert all(row["entity"] for row in card["entities"])
    if readme_name == "README.md":
        loggers = [block["logger"] for block in blocks if "logger" in block]
        assert loggers == [{"default": "warning", "logs": {"custom_components.nezha": "debug"}}]


@pytest.mark.parametrize(
    ("readme_name", "language"), [("README.md", "en"), ("README.zh-Hans.md", "zh-Hans")]
)
def test_readme_troubleshooting_quotes_the_ui(readme_name: str, language: str) -> None:
    """Each config-flow error and options message appears in the README word for word."""
    strings = load_json(REPO / "custom_components" / DOMAIN / "translations" / f"{language}.json")
    text = readme(readme_name)
    messages = [
        *strings["config"]["error"].values(),
        strings["config"]["abort"]["already_configured"],
        *strings["options"]["error"].values(),
        *strings["options"]["abort"].values(),
    ]
    for message in messages:
        assert message in text, message
    for option in strings["options"]["step"]["init"]["data"].values():
        assert f"**{option}**" in text, option
    for field in strings["config"]["step"]["user"]["data"].values():
        assert f"**{field}**" in text, field
