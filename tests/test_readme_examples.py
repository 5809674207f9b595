"""The READMEs' YAML examples: valid for Home Assistant, naming the demo's entities, and they fire.

Every ```yaml block of README.md and README.zh-Hans.md is an automation, a dashboard card or the
logger set-up. Each entity ID and action a block names must exist when the demo fleet
(``build_demo_fleet``, as ``scripts/develop`` serves it) is set up like ``scripts/develop`` sets it
up, except on a line marked ``# placeholder: replace …`` (the READMEs explain the marker). Each
automation is then made to fire through the simulator, and its rendered message is checked.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from datetime import timedelta
import logging
import re
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.logger import CONFIG_SCHEMA as LOGGER_SCHEMA
from homeassistant.const import CONF_API_TOKEN, CONF_URL, CONF_VERIFY_SSL, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import parse_yaml
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_mock_service

from custom_components.nezha.const import CONF_API, CONF_LIVE_UPDATES, DOMAIN
from nezha_simulator import NezhaSimulator, build_demo_fleet
from nezha_simulator.demo import DEMO_PAT_SCOPES

from .conftest import TOKEN, poll, setup_entry
from .test_blueprints import READMES, REPO, load_json, readme

PLACEHOLDER = "# placeholder: replace"
"""Marks a line naming something the demo doesn't have; the READMEs tell the reader to replace it."""
DEMO_TITLE = "127.0.0.1:8008"
"""The entry title scripts/develop's entry gets (the simulator's default address)."""
ENTITY_ID = re.compile(r"\b(?:sensor|binary_sensor)\.[a-z0-9_]+")
ACTION = re.compile(r"\baction: ([a-z_]+\.[a-z0-9_]+)")
CARD_TYPES = {"entities", "history-graph", "gauge"}
"""The card types the READMEs show; the frontend, not Home Assistant, has their schemas."""


@dataclass(frozen=True)
class Block:
    """One ```yaml block of a README."""

    readme: str
    number: int
    text: str
    config: Any

    def names(self, pattern: re.Pattern[str]) -> set[str]:
        """What ``pattern`` finds outside placeholder lines (its group, if it has one)."""
        found: set[str] = set()
        for line in self.text.splitlines():
            if PLACEHOLDER not in line:
                found.update(match.group(match.re.groups) for match in pattern.finditer(line))
        return found


def blocks(readme_name: str) -> list[Block]:
    """Every ```yaml block of a README, parsed with Home Assistant's loader."""
    texts = re.findall(r"```yaml\n(.*?)```", readme(readme_name), re.S)
    return [Block(readme_name, n, text, parse_yaml(text)) for n, text in enumerate(texts)]


def automations(readme_name: str) -> list[Block]:
    """The automation examples of a README."""
    return [block for block in blocks(readme_name) if "triggers" in block.config]


ALL_AUTOMATIONS = [
    pytest.param(block, id=f"{block.readme}-{block.config['alias']}")
    for name in READMES
    for block in automations(name)
]


@pytest.fixture
async def demo(socket_enabled: None) -> AsyncGenerator[NezhaSimulator]:
    """The simulator serving the demo fleet of scripts/develop, a 2.x one (its ticker not running)."""
    sim = NezhaSimulator(token=TOKEN, seed=0, generation="v2")
    build_demo_fleet(sim, seed=0)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


def demo_entry(sim: NezhaSimulator) -> MockConfigEntry:
    """The entry scripts/develop adds: a PAT with the demo's scopes, titled as there (for devices).

    Live updates are off: the examples are driven by polls on the harness's clock, and waiting
    for background tasks would wait for the stream's for ever (tests/test_live.py covers it).
    """
    pat = sim.create_pat(DEMO_PAT_SCOPES)
    return MockConfigEntry(
        domain=DOMAIN,
        title=DEMO_TITLE,
        data={CONF_URL: sim.url, CONF_API_TOKEN: pat, CONF_VERIFY_SSL: True, CONF_API: "v2"},
        options={CONF_LIVE_UPDATES: False},
    )


def server_id(sim: NezhaSimulator, name: str) -> int:
    """A demo server's id."""
    return next(server.id for server in sim.servers.values() if server.name == name)


# --- the blocks --------------------------------------------------------------------------------


@pytest.mark.parametrize("readme_name", READMES)
def test_every_block_is_a_known_kind(readme_name: str) -> None:
    """Automations, cards of known types, the logger block; and the same set in both READMEs."""
    found = blocks(readme_name)
    kinds = [
        "automation"
        if "triggers" in block.config
        else block.config.get("type") or next(iter(block.config))
        for block in found
    ]
    assert kinds == [
        "automation",
        "automation",
        "automation",
        "automation",
        "automation",
        "automation",
        "entities",
        "history-graph",
        "gauge",
        "entities",
        "logger",
    ]


@pytest.mark.parametrize("readme_name", READMES)
def test_placeholders_are_explained(readme_name: str) -> None:
    """The marker the test understands is the one the README explains, and it is used."""
    text = readme(readme_name)
    assert "`# placeholder: replace …`" in text
    assert any(PLACEHOLDER in block.text for block in blocks(readme_name))


@pytest.mark.parametrize("readme_name", READMES)
async def test_automations_are_valid(hass: HomeAssistant, readme_name: str) -> None:
    """Every automation example loads in Home Assistant's automation integration and is on."""
    configs = [
        dict(block.config, id=f"readme_{block.number}") for block in automations(readme_name)
    ]
    assert await async_setup_component(hass, "automation", {"automation": configs})
    await hass.async_block_till_done()
    states = hass.states.async_all("automation")
    assert len(states) == len(configs)
    for state in states:
        assert state.state == STATE_ON, (state.entity_id, state.attributes)


@pytest.mark.parametrize("readme_name", READMES)
def test_cards_and_logger(readme_name: str) -> None:
    """Cards name entities in the places their type has them; the logger block is valid."""
    for block in blocks(readme_name):
        config = block.config
        if "logger" in config:
            logs = LOGGER_SCHEMA(config)["logger"]["logs"]
            assert logs == {"custom_components.nezha": logging.DEBUG}
        elif "triggers" not in config:
            assert config["type"] in CARD_TYPES
            rows = [config["entity"]] if "entity" in config else config["entities"]
            for row in rows:
                cv.entity_id(row if isinstance(row, str) else row["entity"])


@pytest.mark.parametrize("readme_name", READMES)
async def test_names_exist_in_the_demo(
    hass: HomeAssistant, demo: NezhaSimulator, readme_name: str
) -> None:
    """Each entity ID and action outside placeholder lines exists once the demo is set up.

    As 2.x: it has every entity of the 0.x demo (same IDs) and those only 1.x/2.x have.
    """
    await setup_entry(hass, demo_entry(demo))
    assert await async_setup_component(hass, "persistent_notification", {})
    entity_ids: set[str] = set()
    actions: set[str] = set()
    for block in blocks(readme_name):
        entity_ids |= block.names(ENTITY_ID)
        actions |= block.names(ACTION)
    assert len(entity_ids) >= 10
    missing = sorted(entity_id for entity_id in entity_ids if hass.states.get(entity_id) is None)
    assert missing == []
    assert actions == {"persistent_notification.create"}
    for action in actions:
        assert hass.services.has_service(*action.split("."))


PROSE_EXAMPLE = ("example only", "仅为示例")
"""Marks a sentence naming an entity the demo doesn't have, to show how IDs are made."""


def prose_entity_ids(readme_name: str) -> set[str]:
    """Every entity ID a README names anywhere, prose and tables included.

    Left out: IDs on a line marked as a placeholder or an example, and patterns (an ID going on
    with ``<…>`` or ``…``, e.g. ``sensor.web_1_<monitor>_latency``).
    """
    found: set[str] = set()
    for paragraph in readme(readme_name).split("\n\n"):
        if PLACEHOLDER in paragraph or any(marker in paragraph for marker in PROSE_EXAMPLE):
            continue
        for match in ENTITY_ID.finditer(paragraph):
            if paragraph[match.end() : match.end() + 1] not in ("<", "…"):
                found.add(match.group())
    return found


@pytest.mark.parametrize("readme_name", READMES)
async def test_every_entity_id_in_the_text_exists_in_the_demo(
    hass: HomeAssistant, demo: NezhaSimulator, readme_name: str
) -> None:
    """Each entity ID the README names, in prose too, exists once the demo is set up."""
    await setup_entry(hass, demo_entry(demo))
    entity_ids = prose_entity_ids(readme_name)
    assert "binary_sensor.web_1_icmp_1_1_1_1_reachable" in entity_ids
    assert sorted(entity_id for entity_id in entity_ids if hass.states.get(entity_id) is None) == []


async def test_demo_dashboard_shows_entities_the_demo_has(
    hass: HomeAssistant, demo: NezhaSimulator
) -> None:
    """The Lovelace dashboard of scripts/develop names only demo entities, traffic, billing and
    service ones included; the traffic figures read in TiB, like their 10 TiB quota."""
    await setup_entry(hass, demo_entry(demo))
    lovelace = (REPO / "dev" / "dashboards" / "nezha-demo.yaml").read_text(encoding="utf-8")
    entity_ids = set(ENTITY_ID.findall(lovelace))
    for kind in ("_traffic_used", "_cycle_end", "_billing_expiry", "_status", "_uptime_30d"):
        assert any(kind in entity_id for entity_id in entity_ids), kind
    assert sorted(entity_id for entity_id in entity_ids if hass.states.get(entity_id) is None) == []
    used = hass.states.get("sensor.web_1_monthly_10_tib_traffic_used")
    assert used.attributes["unit_of_measurement"] == "TiB"
    assert float(used.state) == pytest.approx(9.3, abs=0.01)
    uptime = hass.states.get("sensor.127_0_0_1_8008_icmp_1_1_1_1_uptime_30d")
    assert 99.99 <= float(uptime.state) < 99.995  # 99.9965 %: shown as 99.99, not 100.00


# --- the automations fire ------------------------------------------------------------------------


def _web_1_offline(sim: NezhaSimulator) -> None:
    sim.take_offline(server_id(sim, "web-1"))


def _web_2_offline(sim: NezhaSimulator) -> None:
    sim.take_offline(server_id(sim, "web-2"))


def _web_1_cpu_high(sim: NezhaSimulator) -> None:
    sim.set_status(server_id(sim, "web-1"), cpu=96.71810812819)


def _web_1_ping_fails(sim: NezhaSimulator) -> None:
    icmp = next(m.id for m in sim.monitors.values() if m.name == "ICMP 1.1.1.1")
    sim.add_point(icmp, server_id(sim, "web-1"), 0, at=sim.now)


def _nas_goes_offline(sim: NezhaSimulator) -> None:
    sim.take_offline(server_id(sim, "nas"))


def _nas_back(sim: NezhaSimulator) -> None:
    sim.bring_online(server_id(sim, "nas"))


def _web_1_traffic_high(sim: NezhaSimulator) -> None:
    (rule,) = sim.alert_rules
    sim.set_cycle_transfer(rule, server_id(sim, "web-1"), int(10 * 1024**4 * 0.9671))


@dataclass(frozen=True)
class Driver:
    """How to make an example's trigger happen in the demo."""

    before: Callable[[NezhaSimulator], None] | None
    """Applied before the entry is set up, so the trigger's ``from`` state holds."""
    cause: Callable[[NezhaSimulator], None]
    expected: str
    """What the rendered message must contain."""


DRIVERS = {
    "binary_sensor.web_1_online": Driver(None, _web_1_offline, "web-1"),
    "binary_sensor.web_2_online": Driver(None, _web_2_offline, "web-2"),
    "sensor.web_1_cpu_usage": Driver(None, _web_1_cpu_high, "96.7 %"),
    "binary_sensor.web_1_icmp_1_1_1_1_reachable": Driver(None, _web_1_ping_fails, "1.1.1.1"),
    # nas is offline in the demo: it comes back first so that the problem sensor can turn on.
    "binary_sensor.127_0_0_1_8008_server_offline": Driver(_nas_back, _nas_goes_offline, "nas"),
    "sensor.web_1_monthly_10_tib_traffic_usage": Driver(None, _web_1_traffic_high, "96.7 %"),
}


def _trigger(config: dict[str, Any]) -> tuple[str, timedelta]:
    """The entity an example triggers on, and how long its condition must hold."""
    (trigger,) = config["triggers"]
    return trigger["entity_id"], timedelta(**trigger.get("for", {}))


@pytest.mark.parametrize("block", ALL_AUTOMATIONS)
async def test_automation_fires_in_the_demo(
    hass: HomeAssistant, demo: NezhaSimulator, freezer: FrozenDateTimeFactory, block: Block
) -> None:
    """The example's trigger happening in the demo runs its action once, after its ``for:`` (at
    once without one), with a message that is rendered, rounds numbers and names servers by
    their device name."""
    entity_id, hold = _trigger(block.config)
    driver = DRIVERS[entity_id]
    if driver.before is not None:
        driver.before(demo)
    await setup_entry(hass, demo_entry(demo))
    (action,) = block.config["actions"]
    calls = async_mock_service(hass, *action["action"].split("."))
    assert await async_setup_component(
        hass, "automation", {"automation": dict(block.config, id="readme")}
    )
    await hass.async_block_till_done()
    state = hass.states.get(entity_id)
    assert state is not None
    before = state.state

    driver.cause(demo)
    elapsed = timedelta()
    while (state := hass.states.get(entity_id)) is not None and state.state == before:
        assert elapsed < timedelta(minutes=3), f"{entity_id} stays {before}"
        await poll(hass, freezer, 30)
        elapsed += timedelta(seconds=30)
    if hold:  # nothing before the ``for:`` time is over
        await poll(hass, freezer, (hold - timedelta(seconds=1)).total_seconds())
        assert calls == []
        await poll(hass, freezer, 30)
    assert len(calls) == 1
    message = calls[0].data["message"]
    assert "{" not in message, message
    assert driver.expected in message, message
    assert not re.search(r"\d\.\d{2}", message), message  # numbers are rounded
    assert "Online" not in message, message  # servers are named by their device


# --- the troubleshooting section ------------------------------------------------------------------


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
