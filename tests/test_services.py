"""Traffic cycles, service availability and billing, against the simulator over real sockets.

The ``fleet`` world shown as a 2.x dashboard (``/service`` is the same on 1.x): a monthly cycle
near its quota over two servers, a counter-only cycle, monitors up and down (an HTTP one too) and
billing notes on the servers' ``public_note``.
"""

from __future__ import annotations

from datetime import UTC, datetime
import json
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import CONF_API_TOKEN, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.nezha.const import (
    CONF_GROUP_ID,
    CONF_GROUP_NAME,
    CONF_MONITOR_INTERVAL,
    DOMAIN,
)
from nezha_simulator import NezhaSimulator

from .conftest import first_reads, poll, setup_entry
from .test_generations import ENTRY_ID, INVENTORY_SCOPE, SERVICE_SCOPE, entry_for

ALERT_RULE_SCOPE = "nezha:alertrule:read"
ALL_SCOPES = (INVENTORY_SCOPE, SERVICE_SCOPE, ALERT_RULE_SCOPE)
TIB = 1024**4
GIB = 1024**3
CYCLE_START = datetime(2025, 11, 1, tzinfo=UTC)
HA_NOW = datetime(2025, 11, 26, 12, tzinfo=UTC)
"""Home Assistant's clock in these tests: the dashboard's (billing is judged by HA's clock)."""

USED = "sensor.gpu_box_monthly_1_tib_traffic_used"
USAGE = "sensor.gpu_box_monthly_1_tib_traffic_usage"
QUOTA = "sensor.gpu_box_monthly_1_tib_traffic_quota"
END = "sensor.gpu_box_monthly_1_tib_cycle_end"
PING_UP = "binary_sensor.nezha_test_dashboard_ping_1_1_1_1_status"
TCP_UP = "binary_sensor.nezha_test_dashboard_tcp_example_com_443_status"


def billing_note(**billing: str) -> str:
    """A ``public_note`` as the official admin panel writes it."""
    return json.dumps({"billingDataMod": billing, "planDataMod": {"trafficVol": "1TB"}})


@pytest.fixture
def world(fleet: NezhaSimulator, freezer: FrozenDateTimeFactory) -> NezhaSimulator:
    """The fleet with cycles, 30-day monitor stats and billing notes; HA's clock at the dashboard's."""
    freezer.move_to(HA_NOW)
    rule = fleet.add_cycle_rule(
        "Monthly 1 TiB",
        kind="transfer_out_cycle",
        max_bytes=TIB,
        cycle_start=CYCLE_START,
        server_ids=[1, 2],
    )
    fleet.set_cycle_transfer(rule, 1, int(TIB * 0.95))  # near its quota
    fleet.set_cycle_transfer(rule, 2, 10 * GIB)
    counter = fleet.add_cycle_rule(
        "Counter", max_bytes=0, cycle_start=CYCLE_START, server_ids=[2], cycle_unit="week"
    )
    fleet.set_cycle_transfer(counter, 2, 5 * GIB)
    ping, tcp = sorted(fleet.monitors)
    for day in range(30):
        fleet.set_service_day(ping, day, up=2880, down=0 if day else 288, delay=12.5)
        fleet.set_service_day(tcp, day, up=1440, down=1440, delay=0.0 if day == 29 else 80.0)
    fleet.set_service_current(ping, up=30, down=0)
    fleet.set_service_current(tcp, up=5, down=25)
    fleet.add_monitor("HTTP https://example.com", kind="http")
    fleet.server(1).public_note = billing_note(
        startDate="2025-01-31T00:00:00+08:00",
        endDate="2025-01-31T00:00:00+08:00",
        autoRenewal="1",
        cycle="Month",
        amount="$5",
    )
    fleet.server(2).public_note = billing_note(
        endDate="2026-02-13T00:00:00+08:00", autoRenewal="0", cycle="Year", amount="0"
    )
    fleet.server(3).public_note = billing_note(
        endDate="0000-00-00T23:59:59+08:00", autoRenewal="0", cycle="Month", amount="-1"
    )
    return fleet


def prod_entry(sim: NezhaSimulator) -> MockConfigEntry:
    """An entry for the server group "prod" (vps-hk and new-node; gpu-box is in "lab")."""
    groups = {name: group_id for group_id, name, _ in sim.server_groups()}
    return entry_for(
        sim, "v2", scopes=ALL_SCOPES, **{CONF_GROUP_ID: groups["prod"], CONF_GROUP_NAME: "prod"}
    )


def new_entities(hass: HomeAssistant, entity_registry: er.EntityRegistry) -> dict[str, Any]:
    """Every entity of this feature: entity id -> unique id, state and attributes."""
    view: dict[str, Any] = {}
    for entity in er.async_entries_for_config_entry(entity_registry, ENTRY_ID):
        if (
            "_cycle" in entity.unique_id
            or "_service" in entity.unique_id
            or (entity.unique_id.endswith("_billing_expiry"))
        ):
            state = hass.states.get(entity.entity_id)
            view[entity.entity_id] = (
                entity.unique_id,
                None if state is None else state.state,
                None if state is None else dict(state.attributes),
            )
    return dict(sorted(view.items()))


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_every_new_entity(
    hass: HomeAssistant,
    world: NezhaSimulator,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """All new entities' states and attributes (snapshot)."""
    await setup_entry(hass, entry_for(world, "v2", scopes=ALL_SCOPES))
    assert new_entities(hass, entity_registry) == snapshot


def requests_to(sim: NezhaSimulator, path: str) -> int:
    """How many requests the simulator got for ``path`` (query left out)."""
    return sum(1 for request in sim.requests if request.path_qs.split("?")[0] == path)


def state(hass: HomeAssistant, entity_id: str) -> str:
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


async def test_cycle_near_quota_and_its_rollover(
    hass: HomeAssistant, world: NezhaSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """95 % used; at the next cycle the used bytes drop (a meter reset) and the end moves on."""
    await setup_entry(hass, entry_for(world, "v2", scopes=ALL_SCOPES))
    assert float(state(hass, USAGE)) == pytest.approx(95, abs=1e-6)
    assert float(state(hass, USED)) == pytest.approx(1024 * 0.95, abs=1e-6)
    assert state(hass, END) == "2025-12-01T00:00:00+00:00"
    assert hass.states.get(QUOTA) is None  # disabled by default
    assert hass.states.get(USED).attributes["state_class"] == "total_increasing"
    assert hass.states.get("sensor.vps_hk_counter_traffic_usage") is None  # max 0: no quota

    world.advance(5 * 86400)  # 2025-12-01 12:00: a new cycle
    await poll(hass, freezer, 60)
    assert state(hass, USED) == "0.0"
    assert state(hass, USAGE) == "0.0"
    assert state(hass, END) == "2026-01-01T00:00:00+00:00"


async def test_two_rules_in_one_alert_show_what_the_dashboard_reports(
    hass: HomeAssistant, world: NezhaSimulator
) -> None:
    """Name and quota come from the first rule, end, bytes and direction from the last (§4.2)."""
    alert = world.add_cycle_rule(
        "Mixed",
        kind="transfer_in_cycle",
        max_bytes=100 * GIB,
        cycle_start=CYCLE_START,
        server_ids=[1],
    )
    world.add_second_cycle_rule(
        alert,
        kind="transfer_all_cycle",
        max_bytes=TIB,
        cycle_start=CYCLE_START,
        cycle_unit="day",
        server_ids=[1],
    )
    world.set_cycle_transfer(alert, 1, 10 * GIB, rule_index=0)
    world.set_cycle_transfer(alert, 1, 30 * GIB, rule_index=1)
    await setup_entry(hass, entry_for(world, "v2", scopes=ALL_SCOPES))
    assert state(hass, "sensor.gpu_box_mixed_traffic_used") == "30.0"
    assert state(hass, "sensor.gpu_box_mixed_traffic_usage") == "30.0"  # of the first's 100 GiB
    assert state(hass, "sensor.gpu_box_mixed_cycle_end") == "2025-11-27T00:00:00+00:00"
    used = hass.states.get("sensor.gpu_box_mixed_traffic_used")
    assert used.attributes["direction"] == "both"


async def test_no_alert_rule_scope_leaves_the_direction_out(
    hass: HomeAssistant,
    world: NezhaSimulator,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Without ``nezha:alertrule:read``: no direction, no error, no repair, asked once only."""
    await setup_entry(hass, entry_for(world, "v2", scopes=(INVENTORY_SCOPE, SERVICE_SCOPE)))
    assert float(state(hass, USAGE)) == pytest.approx(95, abs=1e-6)
    assert "direction" not in hass.states.get(USED).attributes
    assert not [i for i in issue_registry.issues.values() if i.domain == DOMAIN]
    for _ in range(6):
        await poll(hass, freezer, 60)
    assert requests_to(world, "/api/v1/alert-rule") == 1


async def test_alert_rules_are_read_again_every_five_minutes(
    hass: HomeAssistant, world: NezhaSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """A rule's changed type shows at the next read of the list, not at every poll."""
    await setup_entry(hass, entry_for(world, "v2", scopes=ALL_SCOPES))
    assert hass.states.get(USED).attributes["direction"] == "out"
    world.alert_rules[1].rules[0].kind = "transfer_in_cycle"
    for _ in range(4):
        await poll(hass, freezer, 60)
    assert requests_to(world, "/api/v1/alert-rule") == 1
    assert hass.states.get(USED).attributes["direction"] == "out"
    await poll(hass, freezer, 60)
    assert requests_to(world, "/api/v1/alert-rule") == 2
    assert hass.states.get(USED).attributes["direction"] == "in"


async def test_login_on_1x_reads_cycles_and_directions(
    hass: HomeAssistant, world: NezhaSimulator
) -> None:
    """``/service`` and ``/alert-rule`` are the same on 1.x, read with the login's JWT."""
    await setup_entry(hass, entry_for(world, "v1"))
    assert float(state(hass, USAGE)) == pytest.approx(95, abs=1e-6)
    assert hass.states.get(USED).attributes["direction"] == "out"
    assert state(hass, PING_UP) == "on"


async def test_server_outside_the_tokens_whitelist(
    hass: HomeAssistant, world: NezhaSimulator, entity_registry: er.EntityRegistry
) -> None:
    """A token limited to server 2 sees only server 2 in the cycle, and no other's billing."""
    entry = entry_for(world, "v2")
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=entry.title,
        entry_id=ENTRY_ID,
        data={**entry.data, CONF_API_TOKEN: world.create_pat(ALL_SCOPES, server_ids=[2])},
    )
    await setup_entry(hass, entry)
    assert state(hass, "sensor.vps_hk_monthly_1_tib_traffic_used") == "10.0"
    assert hass.states.get(USED) is None
    assert hass.states.get("sensor.gpu_box_billing_expiry") is None
    # Monitors are not per server: the token still sees them.
    assert state(hass, PING_UP) == "on"


async def test_cycles_and_billing_follow_the_chosen_group(
    hass: HomeAssistant, world: NezhaSimulator
) -> None:
    """An entry for group "prod" has no cycle or billing entity of the lab's gpu-box."""
    await setup_entry(hass, prod_entry(world))
    assert state(hass, "sensor.vps_hk_monthly_1_tib_traffic_used") == "10.0"
    assert state(hass, "sensor.vps_hk_billing_expiry") == "2026-02-12T16:00:00+00:00"
    assert hass.states.get(USED) is None
    assert hass.states.get("sensor.gpu_box_billing_expiry") is None


async def test_billing_rolls_forward_with_auto_renewal(
    hass: HomeAssistant, world: NezhaSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """Monthly from Jan 31 (+08:00): Nov 30 (clamped), then Dec 31; without renewal it stays."""
    await setup_entry(hass, entry_for(world, "v2", scopes=ALL_SCOPES))
    assert state(hass, "sensor.gpu_box_billing_expiry") == "2025-11-29T16:00:00+00:00"
    assert state(hass, "sensor.vps_hk_billing_expiry") == "2026-02-12T16:00:00+00:00"
    never = hass.states.get("sensor.new_node_billing_expiry")
    assert never.state == STATE_UNKNOWN
    assert never.attributes["never_expires"] is True
    assert never.attributes["amount"] == "usage_based"

    freezer.move_to(datetime(2025, 11, 29, 16, 0, 30, tzinfo=UTC))
    world.advance(30)
    await poll(hass, freezer)
    assert state(hass, "sensor.gpu_box_billing_expiry") == "2025-12-30T16:00:00+00:00"
    renewing = hass.states.get("sensor.gpu_box_billing_expiry")
    assert renewing.attributes["auto_renewal"] is True
    assert renewing.attributes["amount"] == "$5"
    assert renewing.attributes["cycle"] == "month"


async def test_note_that_stops_carrying_billing(
    hass: HomeAssistant, world: NezhaSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """The sensor stays, unknown and without attributes, when the note loses its terms."""
    await setup_entry(hass, entry_for(world, "v2", scopes=ALL_SCOPES))
    world.server(2).public_note = "moved to another provider"
    await poll(hass, freezer)
    billing = hass.states.get("sensor.vps_hk_billing_expiry")
    assert billing.state == STATE_UNKNOWN
    assert "amount" not in billing.attributes


async def test_alert_rules_failing_keep_the_last_directions(
    hass: HomeAssistant, world: NezhaSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """A failed re-read keeps the directions; a refused token there asks for a new one."""
    entry = entry_for(world, "v2", scopes=ALL_SCOPES)
    await setup_entry(hass, entry)
    world.fail_next(path="/api/v1/alert-rule")
    await poll(hass, freezer, 5 * 60)
    assert hass.states.get(USED).attributes["direction"] == "out"
    assert requests_to(world, "/api/v1/alert-rule") == 2

    world.fail_next(
        path="/api/v1/alert-rule",
        status=401,
        body='{"error":"ApiErrorUnauthorized: invalid api token"}',
        content_type="application/json",
    )
    await poll(hass, freezer, 5 * 60)
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def test_other_notes_are_ignored_silently(
    hass: HomeAssistant, world: NezhaSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Malformed JSON, plain text, JSON of another shape: no entity, nothing logged."""
    caplog.set_level(logging.DEBUG)
    world.server(1).public_note = '{"billingDataMod":{"endDate":"2026-02-30T00:00:00Z"'
    world.server(2).public_note = "Hong Kong CN2 GIA, renew at the provider"
    world.server(3).public_note = '{"billingDataMod":{"endDate":"soon","cycle":"Month"}}'
    await setup_entry(hass, entry_for(world, "v2", scopes=ALL_SCOPES))
    for name in ("gpu_box", "vps_hk", "new_node"):
        assert hass.states.get(f"sensor.{name}_billing_expiry") is None
    assert state(hass, USED)  # the rest works
    assert not [
        record
        for record in caplog.records
        if record.name.startswith("custom_components.nezha") and record.levelno >= logging.INFO
    ]


async def test_service_goes_down_and_up(
    hass: HomeAssistant, world: NezhaSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """``service_up`` follows most of the last 30 checks, at each ``/service`` poll."""
    await setup_entry(hass, entry_for(world, "v2", scopes=ALL_SCOPES))
    assert state(hass, PING_UP) == "on"
    assert state(hass, TCP_UP) == "off"
    ping, tcp = sorted(world.monitors)[:2]
    world.set_service_current(ping, up=10, down=20)
    world.set_service_current(tcp, up=30, down=0)
    await poll(hass, freezer, 60)
    assert state(hass, PING_UP) == "off"
    assert state(hass, TCP_UP) == "on"
    assert hass.states.get(TCP_UP).attributes == {
        "current_up": 30,
        "current_down": 0,
        "device_class": "connectivity",
        "friendly_name": "Nezha test dashboard TCP example.com:443 status",
    }
    assert requests_to(world, "/api/v1/service") == 2  # one per monitor_interval, not per server


async def test_missing_service_scope_one_repair_issue(
    hass: HomeAssistant,
    world: NezhaSimulator,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Without ``nezha:service:read``: one issue, no service or cycle entity, no more asking."""
    entry = entry_for(world, "v2", scopes=(INVENTORY_SCOPE,))
    await setup_entry(hass, entry)
    issues = [issue for issue in issue_registry.issues.values() if issue.domain == DOMAIN]
    assert [issue.issue_id for issue in issues] == [f"missing_scope_{ENTRY_ID}"]
    assert issues[0].translation_placeholders == {
        "title": "Nezha test dashboard",
        "scope": SERVICE_SCOPE,
    }
    assert hass.states.get(PING_UP) is None
    assert hass.states.get(USED) is None
    assert state(hass, "sensor.gpu_box_billing_expiry")  # billing needs no service scope
    asked = requests_to(world, "/api/v1/service")
    for _ in range(3):
        await poll(hass, freezer, 60)
    assert requests_to(world, "/api/v1/service") == asked == 1

    # A token with the scope (as Reconfigure stores it) reloads the entry: the issue goes.
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, CONF_API_TOKEN: world.create_pat(ALL_SCOPES)}
    )
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await first_reads(hass)
    assert issue_registry.async_get_issue(DOMAIN, f"missing_scope_{ENTRY_ID}") is None
    assert state(hass, PING_UP) == "on"
    assert float(state(hass, USAGE)) == pytest.approx(95, abs=1e-6)


async def test_outage_removes_nothing_and_gone_items_go_after_three_polls(
    hass: HomeAssistant,
    world: NezhaSimulator,
    freezer: FrozenDateTimeFactory,
    entity_registry: er.EntityRegistry,
) -> None:
    """A failed poll: unavailable. A monitor or rule missing from 3 polls: its entities go."""
    await setup_entry(hass, entry_for(world, "v2", scopes=ALL_SCOPES))
    world.fail_next(path="/api/v1/service")
    await poll(hass, freezer, 60)
    assert state(hass, USED) == STATE_UNAVAILABLE
    assert state(hass, PING_UP) == STATE_UNAVAILABLE
    await poll(hass, freezer, 60)
    assert state(hass, PING_UP) == "on"

    tcp = sorted(world.monitors)[1]
    world.remove_monitor(tcp)
    world.alert_rules[1].enabled = False
    await poll(hass, freezer, 60)
    assert state(hass, TCP_UP) == STATE_UNAVAILABLE
    assert state(hass, USED) == STATE_UNAVAILABLE
    for _ in range(2):
        await poll(hass, freezer, 60)
    assert entity_registry.async_get(TCP_UP) is None
    assert entity_registry.async_get(USED) is None
    assert hass.states.get(USED) is None
    assert state(hass, PING_UP) == "on"
    assert state(hass, "sensor.vps_hk_counter_traffic_used") == "5.0"

    # A rule enabled again gets its sensors anew.
    world.alert_rules[1].enabled = True
    await poll(hass, freezer, 60)
    assert float(state(hass, USAGE)) == pytest.approx(95, abs=1e-6)


async def test_monitor_interval_0_stops_service_requests(
    hass: HomeAssistant, world: NezhaSimulator, entity_registry: er.EntityRegistry
) -> None:
    """Turning monitors off also turns ``/service`` off and drops its entities."""
    entry = entry_for(world, "v2", scopes=ALL_SCOPES)
    await setup_entry(hass, entry)
    assert entity_registry.async_get(USAGE) is not None
    hass.config_entries.async_update_entry(entry, options={CONF_MONITOR_INTERVAL: 0})
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert requests_to(world, "/api/v1/service") == 1
    assert entity_registry.async_get(USAGE) is None
    assert entity_registry.async_get(PING_UP) is None
    assert state(hass, "sensor.gpu_box_billing_expiry")  # billing comes with the servers


async def test_0x_has_no_service_requests(hass: HomeAssistant, world: NezhaSimulator) -> None:
    """0.x has no ``/service``: no request, no entity, no repair issue."""
    await setup_entry(hass, entry_for(world, "v0"))
    assert requests_to(world, "/api/v1/service") == 0
    assert hass.states.get(PING_UP) is None
    assert hass.states.get("sensor.gpu_box_billing_expiry") is None


async def test_server_leaving_and_rejoining_the_group_gets_its_cycle_sensors_back(
    hass: HomeAssistant,
    world: NezhaSimulator,
    freezer: FrozenDateTimeFactory,
    entity_registry: er.EntityRegistry,
) -> None:
    """The device goes after three polls without the server; back in the group, so are its sensors."""
    await setup_entry(hass, prod_entry(world))
    vps_used = "sensor.vps_hk_monthly_1_tib_traffic_used"
    assert state(hass, vps_used) == "10.0"
    world.set_tag(2, "lab")
    for _ in range(3):
        await poll(hass, freezer)
    assert entity_registry.async_get(vps_used) is None
    world.set_tag(2, "prod")
    await poll(hass, freezer, 60)
    assert state(hass, vps_used) == "10.0"
