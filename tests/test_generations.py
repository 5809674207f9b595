"""One world through every dashboard generation: the same devices and entities, and what 1.x/2.x add.

The ``fleet`` fixture's world is shown as a 0.x, 1.x or 2.x dashboard by switching the simulator's
``generation``; entries sign in with what that generation takes (API token, login, access token).
"""

from __future__ import annotations

import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import (
    CONF_API_TOKEN,
    CONF_PASSWORD,
    CONF_URL,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.nezha.const import (
    CONF_API,
    CONF_GROUP_ID,
    CONF_GROUP_NAME,
    CONF_LIVE_UPDATES,
    DOMAIN,
)
from nezha_simulator import NezhaSimulator

from .conftest import TOKEN, poll, setup_entry

ENTRY_ID = "01JNEZHAGENERATIONS0000000"
SERVICE_KEYS = ("service_up", "service_uptime_30d", "service_delay")
SERVICE_SCOPE = "nezha:service:read"
INVENTORY_SCOPE = "nezha:inventory:read"


def entry_for(
    sim: NezhaSimulator,
    generation: str,
    *,
    scopes: tuple[str, ...] | None = None,
    login: bool = False,
    **options: Any,
) -> MockConfigEntry:
    """An entry for ``sim`` shown as ``generation``, with the credential that generation takes
    (``login``: a 2.x entry signs in with the admin's name and password instead of a PAT).

    Live updates are off unless ``live_updates=True`` is given: these tests poll, and waiting for
    background tasks would wait for the stream's for ever.
    """
    sim.generation = generation  # type: ignore[assignment]
    options.setdefault(CONF_LIVE_UPDATES, False)
    data: dict[str, Any] = {CONF_URL: sim.url, CONF_VERIFY_SSL: True, CONF_API: generation}
    if generation == "v0":
        data[CONF_API_TOKEN] = TOKEN
    elif generation == "v1" or login:
        data |= {CONF_USERNAME: "admin", CONF_PASSWORD: sim.admin.password}
    else:
        data[CONF_API_TOKEN] = sim.create_pat(scopes or (INVENTORY_SCOPE, SERVICE_SCOPE))
    return MockConfigEntry(
        domain=DOMAIN, title="Nezha test dashboard", entry_id=ENTRY_ID, data=data, options=options
    )


def entity_view(hass: HomeAssistant, entity_registry: er.EntityRegistry) -> dict[str, Any]:
    """Every entity of the entry by unique id: its entity id, state and attributes."""
    view: dict[str, Any] = {}
    for entity in er.async_entries_for_config_entry(entity_registry, ENTRY_ID):
        state = hass.states.get(entity.entity_id)
        assert state is not None, entity.entity_id
        view[entity.unique_id] = (entity.entity_id, state.state, dict(state.attributes))
    return view


def device_view(device_registry: dr.DeviceRegistry) -> dict[str, Any]:
    """Every device of the entry by identifier: what the device page shows."""
    return {
        next(iter(device.identifiers))[1]: (
            device.name,
            device.model,
            device.sw_version,
            device.hw_version,
        )
        for device in dr.async_entries_for_config_entry(device_registry, ENTRY_ID)
    }


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_same_entities_through_every_generation(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """0.x, 1.x and 2.x dashboards of one world give the same devices, entities and states."""
    views: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for generation in ("v0", "v1", "v2"):
        entry = entry_for(fleet, generation)
        await setup_entry(hass, entry)
        assert entry.state is ConfigEntryState.LOADED
        views[generation] = (
            entity_view(hass, entity_registry),
            device_view(device_registry),
        )
        assert await hass.config_entries.async_remove(entry.entry_id)
        await hass.async_block_till_done()

    entities, devices = views["v0"]
    assert len(entities) > 50  # every server sensor, monitor and dashboard entity
    assert f"{ENTRY_ID}_1_1_monitor_latency" in entities  # monitors are read on 1.x/2.x too
    assert entities[f"{ENTRY_ID}_1_cpu_usage"][1] == "42.5"
    # Only 1.x/2.x have /service: its monitors' availability (test_services.py) comes on top.
    service_ids = {f"{ENTRY_ID}_service{m}_{k}" for m in (1, 2) for k in SERVICE_KEYS}
    for generation in ("v1", "v2"):
        generation_entities, generation_devices = views[generation]
        assert service_ids <= generation_entities.keys()
        common = {uid: view for uid, view in generation_entities.items() if uid not in service_ids}
        assert (common, generation_devices) == views["v0"]
    assert devices[f"{ENTRY_ID}_1"] == ("gpu-box", "Ubuntu 24.04", "0.20.5", "amd64")


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_several_gpus_get_one_sensor_each(hass: HomeAssistant, fleet: NezhaSimulator) -> None:
    """gpu_usage is the average; a server with several GPUs also gets gpu_1_usage, gpu_2_usage."""
    fleet.set_host(1, gpu_names=["NVIDIA GeForce RTX 4090", "NVIDIA GeForce RTX 4090"])
    await setup_entry(hass, entry_for(fleet, "v2"))
    assert hass.states.get("sensor.gpu_box_gpu_usage").state == "37.5"
    assert hass.states.get("sensor.gpu_box_gpu_1_usage").state == "37.5"
    assert hass.states.get("sensor.gpu_box_gpu_2_usage").state == "37.5"
    assert hass.states.get("sensor.gpu_box_gpu_1_usage").name == "gpu-box GPU 1 usage"
    assert hass.states.get("sensor.gpu_box_gpu_3_usage") is None
    assert hass.states.get("sensor.vps_hk_gpu_usage") is None  # no GPU at all


async def test_login_renews_its_jwt_without_the_user(
    hass: HomeAssistant, fleet: NezhaSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """A 1.x login's JWT expires; the next poll logs in again: no reauth, no repair, no outage."""
    fleet.jwt_lifetime = 120
    entry = entry_for(fleet, "v1")
    await setup_entry(hass, entry)
    assert fleet.login_count == 1
    for _ in range(4):
        fleet.advance(30)
        await poll(hass, freezer)
    assert fleet.login_count == 2
    assert hass.states.get("sensor.gpu_box_cpu_usage").state == "42.5"
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert entry.state is ConfigEntryState.LOADED


@pytest.mark.parametrize("generation", ["v1", "v2"])
async def test_refused_credential_starts_reauth_and_stops_asking(
    hass: HomeAssistant, fleet: NezhaSimulator, freezer: FrozenDateTimeFactory, generation: str
) -> None:
    """A changed password or a revoked token: one refused request, reauth, then silence."""
    entry = entry_for(fleet, generation)
    await setup_entry(hass, entry)
    if generation == "v1":
        fleet.admin.password = "changed-on-the-dashboard"
        fleet.revoke_sessions()
    else:
        fleet.revoke_pat(entry.data[CONF_API_TOKEN])
    await poll(hass, freezer)
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert hass.states.get("sensor.gpu_box_cpu_usage").state == STATE_UNAVAILABLE

    requests_after_refusal = len(fleet.requests)
    logins = fleet.login_count
    for _ in range(3):
        await poll(hass, freezer)
    assert len(fleet.requests) == requests_after_refusal  # the WAF would count every attempt
    assert fleet.login_count == logins


async def test_access_token_without_service_scope(
    hass: HomeAssistant, fleet: NezhaSimulator, issue_registry: ir.IssueRegistry
) -> None:
    """Servers work; monitors are skipped with a repair issue naming the scope; nothing else."""
    entry = entry_for(fleet, "v2", scopes=(INVENTORY_SCOPE,))
    await setup_entry(hass, entry)
    assert hass.states.get("sensor.gpu_box_cpu_usage").state == "42.5"
    assert hass.states.get("binary_sensor.gpu_box_ping_1_1_1_1_reachable") is None
    issue = issue_registry.async_get_issue(DOMAIN, f"missing_scope_{ENTRY_ID}")
    assert issue is not None
    assert issue.translation_placeholders == {
        "title": "Nezha test dashboard",
        "scope": SERVICE_SCOPE,
    }
    assert await hass.config_entries.async_remove(entry.entry_id)
    assert issue_registry.async_get_issue(DOMAIN, f"missing_scope_{ENTRY_ID}") is None


async def test_access_token_without_inventory_scope_asks_for_another(
    hass: HomeAssistant, fleet: NezhaSimulator
) -> None:
    """A token that can't list servers is as good as none: setup fails into reauth."""
    entry = entry_for(fleet, "v2", scopes=(SERVICE_SCOPE,))
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.reason is not None
    assert "lacks the scope nezha:inventory:read" in entry.reason
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def test_1x_upgraded_in_place_to_2x(
    hass: HomeAssistant, fleet: NezhaSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """The login keeps working on 2.x, and the entry remembers the new generation."""
    entry = entry_for(fleet, "v1")
    await setup_entry(hass, entry)
    fleet.generation = "v2"
    await poll(hass, freezer)
    assert entry.data[CONF_API] == "v2"
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get("sensor.gpu_box_cpu_usage").state == "42.5"


async def test_server_group_filter(hass: HomeAssistant, fleet: NezhaSimulator) -> None:
    """A 1.x/2.x entry shows only its server group's servers (groups are chosen by id)."""
    groups = {name: group_id for group_id, name, _ in fleet.server_groups()}
    await setup_entry(
        hass, entry_for(fleet, "v2", **{CONF_GROUP_ID: groups["prod"], CONF_GROUP_NAME: "prod"})
    )
    assert hass.states.get("sensor.vps_hk_cpu_usage") is not None
    assert hass.states.get("sensor.gpu_box_cpu_usage") is None
    assert hass.states.get("sensor.nezha_test_dashboard_servers").state == "2"


async def test_upgrade_from_0x_through_reconfigure(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    freezer: FrozenDateTimeFactory,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A 0.x entry on an upgraded dashboard: a repair issue, then Reconfigure with a 2.x token.

    The 0.x server devices are removed before the reload (their ids mean other servers now), the
    new servers come as new devices, and the entity ids are reused, so history continues.
    """
    entry = entry_for(fleet, "v0")
    await setup_entry(hass, entry)
    old_device = device_registry.async_get_device_by_identifier((DOMAIN, f"{ENTRY_ID}_1"), ENTRY_ID)
    assert old_device is not None

    fleet.generation = "v2"
    await poll(hass, freezer)
    assert issue_registry.async_get_issue(DOMAIN, f"dashboard_upgraded_{ENTRY_ID}") is not None

    old_server_devices = [
        device.id
        for device in dr.async_entries_for_config_entry(device_registry, ENTRY_ID)
        if device.id != old_device.via_device_id
    ]
    removed: list[str] = []
    hass.bus.async_listen(
        dr.EVENT_DEVICE_REGISTRY_UPDATED,
        lambda event: (
            removed.append(event.data["device_id"]) if event.data["action"] == "remove" else None
        ),
    )
    fleet.rename_server(1, "box-on-2x")  # what the 2.x dashboard's first server is called
    token = fleet.create_pat()
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: fleet.url, CONF_VERIFY_SSL: True}
    )
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "token"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_TOKEN: token}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    assert entry.data == {
        CONF_URL: fleet.url,
        CONF_VERIFY_SSL: True,
        CONF_API: "v2",
        CONF_API_TOKEN: token,
    }
    # Every 0.x server device was removed before the reload; the new servers' devices carry
    # only what the new dashboard reports (HA gives a re-created device its old id back).
    assert sorted(removed) == sorted(old_server_devices)
    new_device = device_registry.async_get_device_by_identifier((DOMAIN, f"{ENTRY_ID}_1"), ENTRY_ID)
    assert new_device is not None
    assert new_device.name == "box-on-2x"
    assert entity_registry.async_get("sensor.gpu_box_cpu_usage") is not None
    assert hass.states.get("sensor.gpu_box_cpu_usage").state == "42.5"
    assert issue_registry.async_get_issue(DOMAIN, f"dashboard_upgraded_{ENTRY_ID}") is None


@pytest.mark.parametrize("generation", ["v1", "v2"])
async def test_secrets_in_no_log_and_no_diagnostics(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    hass_client: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    generation: str,
) -> None:
    """Password, JWT and access token appear in no log record and nowhere in diagnostics."""
    caplog.set_level(logging.DEBUG)
    entry = entry_for(fleet, generation)
    await setup_entry(hass, entry)
    fleet.fail_next(2)  # an outage logs the client's errors
    await poll(hass, freezer)
    await poll(hass, freezer)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    secrets = [fleet.admin.password, *entry.data.get(CONF_API_TOKEN, "").split()]
    secrets += [
        request.authorization.removeprefix("Bearer ")
        for request in fleet.requests
        if request.authorization
    ]
    assert secrets
    dumped = repr(diagnostics)
    for secret in secrets:
        assert secret not in caplog.text
        assert secret not in dumped
    assert diagnostics["entry"]["data"].get(CONF_USERNAME) in (None, "**REDACTED**")
    if generation == "v1":
        assert diagnostics["entry"]["data"][CONF_PASSWORD] == "**REDACTED**"
