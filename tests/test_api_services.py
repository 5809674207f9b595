"""The 1.x/2.x service, traffic-cycle, alert-rule and billing parsers (NEZHA_API_DELTA.md §4, §8).

Property-based: any body through the client's public methods gives well-formed models or the
package's own errors; any note gives ``None`` or billing terms whose expiry is after ``now``
when they renew. Examples pin the rules: month-end clamping, the spellings, never expires.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
import json
import math
from typing import Any

import aiohttp
from hypothesis import given, strategies as st
import pytest

from custom_components.nezha.api import (
    NezhaPermissionError,
    NezhaResponseError,
    NezhaServicesClient,
    NezhaV0Client,
    NezhaV1Client,
    ServicesSnapshot,
    parse_billing,
)
from custom_components.nezha.api.billing import CYCLES, add_months
from custom_components.nezha.api.services_parse import parse_alert_rules, parse_services
from nezha_simulator import NezhaSimulator

from .fake_dashboard import PAT, SIGNED_IN, FakeDashboard
from .test_api_v1_properties import (
    CLIENTS,
    HELD,
    PROPERTY_SETTINGS,
    envelopes,
    json_values,
    mutated,
    outcome,
)

pytestmark = pytest.mark.usefixtures("socket_enabled")

SERVICES: dict[str, Any] = {
    "services": {
        "1": {
            "service_name": "HK ping",
            "current_up": 30,
            "current_down": 0,
            "total_up": 86000,
            "total_down": 12,
            "delay": [41.2] * 29 + [38.5],
            "up": [2880] * 30,
            "down": [0] * 30,
        },
    },
    "cycle_transfer_stats": {
        "3": {
            "name": "Monthly 1TiB",
            "from": "2026-08-13T00:00:00Z",
            "to": "2026-09-13T00:00:00Z",
            "max": 1099511627776,
            "min": 0,
            "server_name": {"1": "hk-01"},
            "transfer": {"1": 123456789012},
            "next_update": {"1": "2026-08-17T12:20:00.5+08:00"},
        }
    },
}
ALERT_RULES = [
    {
        "id": 3,
        "name": "Monthly 1TiB",
        "enable": True,
        "rules": [{"type": "transfer_out_cycle", "max": 1099511627776.0, "cycle_unit": "month"}],
    },
    {"id": 4, "name": "Offline", "rules": [{"type": "offline", "duration": 60}]},
]
NOW = datetime(2026, 3, 15, 12, tzinfo=UTC)
CST = timezone(timedelta(hours=8))


def note(**billing: str) -> str:
    """A ``public_note`` as the admin panel writes it."""
    return json.dumps({"billingDataMod": billing, "planDataMod": {"trafficVol": "1TB"}})


def check_services(snapshot: ServicesSnapshot) -> None:
    for monitor_id, service in snapshot.services.items():
        assert service.id == monitor_id
        assert service.name
        counts = (service.current_up, service.current_down, service.total_up, service.total_down)
        assert all(count is None or 0 <= count < 2**64 for count in counts)
        assert service.delay_today is None or (
            math.isfinite(service.delay_today) and service.delay_today > 0
        )
    for rule_id, cycle in snapshot.cycles.items():
        assert cycle.rule_id == rule_id
        assert cycle.name
        for server_id, usage in cycle.servers.items():
            assert usage.server_id == server_id
            assert 0 <= usage.used < 2**64
            assert usage.quota is None or 0 <= usage.quota < 2**64
            for moment in (usage.start, usage.end, usage.next_update):
                assert moment is None or moment.tzinfo is not None


@PROPERTY_SETTINGS
@given(answer=envelopes(SERVICES), kind=st.sampled_from(sorted(CLIENTS)))
async def test_services_from_any_body(
    fake: FakeDashboard, http: aiohttp.ClientSession, answer: Any, kind: str
) -> None:
    """``GET /service``: monitors and cycles by id, or the package's errors."""
    fake.answers = {"server-service": answer, "login": SIGNED_IN}
    snapshot = await outcome(CLIENTS[kind](http, fake).async_get_services(), HELD[kind])
    if snapshot is not None:
        check_services(snapshot)


@PROPERTY_SETTINGS
@given(answer=envelopes(ALERT_RULES), kind=st.sampled_from(sorted(CLIENTS)))
async def test_alert_rules_from_any_body(
    fake: FakeDashboard, http: aiohttp.ClientSession, answer: Any, kind: str
) -> None:
    """``GET /alert-rule``: rules by id with what their cycles count, or the package's errors."""
    fake.answers = {"alert-rule": answer, "login": SIGNED_IN}
    rules = await outcome(CLIENTS[kind](http, fake).async_get_alert_rules(), HELD[kind])
    if rules is not None:
        for rule_id, rule in rules.items():
            assert rule.id == rule_id
            assert rule.name
            assert set(rule.cycle_directions) <= {"in", "out", "both"}
            assert rule.direction in (None, *rule.cycle_directions)


billing_fields = st.fixed_dictionaries(
    {},
    optional={
        "startDate": st.sampled_from(("2026-01-13T00:00:00+08:00", "", "x")),
        "endDate": st.sampled_from(
            (
                "2026-01-31T00:00:00+08:00",
                "2024-02-29T23:59:59Z",
                "0000-00-00T23:59:59+08:00",
                "2026-02-13",
                "0001-01-01T00:00:00Z",
                "9999-12-31T00:00:00Z",
                "next tuesday",
                "",
            )
        )
        | st.datetimes(timezones=st.just(CST)).map(datetime.isoformat),
        "autoRenewal": st.sampled_from(("0", "1", "", "yes")),
        "cycle": st.sampled_from((*CYCLES, "Month", "YEAR", "fortnight", "")),
        "amount": st.sampled_from(("0", "-1", "$5", "", "¥30")),
    },
)


@PROPERTY_SETTINGS
@given(
    body=billing_fields.map(lambda fields: {"billingDataMod": fields}).flatmap(mutated)
    | json_values,
    now=st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
)
def test_billing_from_any_note(body: Any, now: datetime) -> None:
    """Any note: ``None`` or terms; renewing terms with a known cycle expire after ``now``."""
    billing = parse_billing(json.dumps(body), now)
    if billing is None:
        return
    assert billing.never_expires == (billing.expiry is None)
    assert billing.expiry is None or billing.expiry.tzinfo is not None
    assert billing.amount is None or billing.amount
    if billing.auto_renewal and billing.cycle in CYCLES.values() and billing.expiry is not None:
        assert billing.expiry > now


@PROPERTY_SETTINGS
@given(
    moment=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(9000, 1, 1)),
    months=st.integers(0, 1200),
)
def test_add_months_clamps_to_the_month_end(moment: datetime, months: int) -> None:
    """The day is kept where the month has it, else the month's last day; the time is kept."""
    later = add_months(moment, months)
    assert (later.year - moment.year) * 12 + later.month - moment.month == months
    assert later.time() == moment.time()
    assert later.day == moment.day or (later.day < moment.day and (later + timedelta(1)).day == 1)


def test_billing_without_auto_renewal_is_the_end_date() -> None:
    billing = parse_billing(
        note(endDate="2026-02-13T00:00:00+08:00", autoRenewal="0", cycle="Month", amount="$5"),
        NOW,
    )
    assert billing is not None
    assert billing.expiry == datetime(2026, 2, 13, tzinfo=CST)  # past, but it does not renew
    assert (billing.amount, billing.cycle, billing.auto_renewal) == ("$5", "month", False)


@pytest.mark.parametrize(
    ("end", "cycle", "expected"),
    [
        ("2026-01-31T00:00:00+08:00", "Month", datetime(2026, 3, 31, tzinfo=CST)),
        ("2025-11-30T00:00:00+08:00", "季", datetime(2026, 5, 30, tzinfo=CST)),
        ("2024-02-29T10:00:00Z", "annual", datetime(2027, 2, 28, 10, tzinfo=UTC)),
        ("2025-08-31T00:00:00Z", "semi-annually", datetime(2026, 8, 31, tzinfo=UTC)),
        ("2026-03-01T00:00:00Z", "Week", datetime(2026, 3, 22, tzinfo=UTC)),
        ("2026-03-15T12:00:00Z", "Day", datetime(2026, 3, 16, 12, tzinfo=UTC)),
        ("2026-04-30T00:00:00+08:00", "mo", datetime(2026, 4, 30, tzinfo=CST)),  # not yet due
    ],
)
def test_billing_auto_renewal_rolls_by_whole_cycles(
    end: str, cycle: str, expected: datetime
) -> None:
    """A past end rolls forward until after now, the day clamped to the month's end."""
    billing = parse_billing(note(endDate=end, autoRenewal="1", cycle=cycle, amount="0"), NOW)
    assert billing is not None
    assert billing.expiry == expected
    assert billing.amount == "free"


def test_billing_unknown_cycle_does_not_roll() -> None:
    billing = parse_billing(
        note(endDate="2026-01-31T00:00:00Z", autoRenewal="1", cycle="fortnight"), NOW
    )
    assert billing is not None
    assert billing.expiry == datetime(2026, 1, 31, tzinfo=UTC)
    assert billing.cycle == "fortnight"


def test_billing_past_year_9999_is_ignored() -> None:
    """A renewal that would end after what a date can hold is no usable expiry."""
    for cycle in ("Month", "Day"):
        late = note(endDate="9999-12-31T00:00:00Z", autoRenewal="1", cycle=cycle)
        assert parse_billing(late, datetime(9999, 12, 31, 12, tzinfo=UTC)) is None


def test_services_of_another_shape() -> None:
    with pytest.raises(NezhaResponseError):
        parse_services(["services"], None)


def test_billing_never_expires() -> None:
    billing = parse_billing(
        note(endDate="0000-00-00T23:59:59+08:00", autoRenewal="1", cycle="Year", amount="-1"), NOW
    )
    assert billing is not None
    assert (billing.expiry, billing.never_expires, billing.amount) == (None, True, "usage_based")


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "Hong Kong, CN2 GIA, renew at example.com",
        "{not json",
        '{"planDataMod":{"trafficVol":"1TB"}}',
        '{"billingDataMod":{"amount":"$5"}}',
        note(endDate="soon"),
        '["billingDataMod"]',
    ],
)
def test_other_notes_are_just_text(text: str | None) -> None:
    assert parse_billing(text, NOW) is None


def test_cycles_scalar_and_per_server_maps() -> None:
    """≤ v2.3.7 sends ``from``/``to``/``max`` once; a per-server map is read per server."""
    scalar = parse_services(SERVICES, None)
    usage = scalar.cycles[3].servers[1]
    assert (usage.used, usage.quota) == (123456789012, 1099511627776)
    assert usage.end == datetime(2026, 9, 13, tzinfo=UTC)
    assert usage.next_update == datetime(2026, 8, 17, 12, 20, 0, 500000, tzinfo=CST)
    assert scalar.services[1].delay_today == 38.5
    maps = parse_services(
        {
            "cycle_transfer_stats": {
                "5": {
                    "name": "Two rules",
                    "from": {"1": "2026-08-01T00:00:00Z", "2": "2026-08-10T00:00:00Z"},
                    "to": {"1": "2026-09-01T00:00:00Z", "2": "2026-09-10T00:00:00Z"},
                    "max": {"1": 100, "2": 0},
                    "transfer": {"1": 50, "2": 7, "x": 1},
                }
            }
        },
        None,
    )
    servers = maps.cycles[5].servers
    assert sorted(servers) == [1, 2]
    assert (servers[1].quota, servers[2].quota) == (100, 0)
    assert servers[2].start == datetime(2026, 8, 10, tzinfo=UTC)
    assert parse_services(None, None) == ServicesSnapshot({}, {}, None)


def test_alert_rule_direction_follows_the_last_cycle_rule() -> None:
    rules = parse_alert_rules(
        [
            *ALERT_RULES,
            {
                "id": 7,
                "name": "Both",
                "rules": [{"type": "transfer_in_cycle"}, {"type": "transfer_all_cycle"}],
            },
        ]
    )
    assert rules[3].direction == "out"
    assert rules[4].direction is None
    assert rules[7].cycle_directions == ("in", "both")
    assert rules[7].direction == "both"


async def test_only_1x_2x_clients_read_services(http: aiohttp.ClientSession) -> None:
    """The integration asks for the capability, not the generation."""
    assert isinstance(NezhaV1Client(http, "http://x", PAT, api_version="v2"), NezhaServicesClient)
    assert not isinstance(NezhaV0Client(http, "http://x", "t" * 32), NezhaServicesClient)


async def test_simulated_2x_dashboard(
    simulator: NezhaSimulator, http: aiohttp.ClientSession
) -> None:
    """Against the simulator: cycles per viewer, directions, and the alert-rule scope by name."""
    simulator.generation = "v2"
    simulator.add_server("hk-01")
    simulator.add_server("sg-01")
    rule = simulator.add_cycle_rule(
        "Monthly", kind="transfer_in_cycle", max_bytes=1000, cycle_start=NOW - timedelta(days=3)
    )
    simulator.set_cycle_transfer(rule, 1, 100)
    simulator.set_cycle_transfer(rule, 2, 200)
    service_scopes = ("nezha:inventory:read", "nezha:service:read")
    limited = simulator.create_pat(service_scopes, server_ids=[2])
    client = NezhaV1Client(http, simulator.url, limited, api_version="v2")
    snapshot = await client.async_get_services()
    assert list(snapshot.cycles[rule].servers) == [2]  # the whitelist filters the cycle
    assert snapshot.cycles[rule].servers[2].quota == 1000
    with pytest.raises(NezhaPermissionError) as denied:
        await client.async_get_alert_rules()
    assert denied.value.scope == "nezha:alertrule:read"
    full = simulator.create_pat((*service_scopes, "nezha:alertrule:read"))
    rules = await NezhaV1Client(http, simulator.url, full, api_version="v2").async_get_alert_rules()
    assert rules[rule].direction == "in"
