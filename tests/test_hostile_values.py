"""Hostile values from the dashboard reach entities only as values Home Assistant can store.

A fake 2.x dashboard (tests/fake_dashboard.py) answers ``GET /server`` with extremes: times whose
offset puts them outside what UTC can hold, numbers that overflow an average, NaN and infinity.
Whatever it sends, every entity's state is one Home Assistant stores (a finite number, a time),
or unknown/unavailable, no entity fails to be added, and an entity that once failed comes back.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
import json
import logging
import math
from typing import Any
from unittest.mock import patch

from aiohttp import web
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import (
    CONF_API_TOKEN,
    CONF_URL,
    CONF_VERIFY_SSL,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nezha.const import (
    CONF_API,
    CONF_LIVE_UPDATES,
    CONF_MONITOR_INTERVAL,
    DOMAIN,
)
from custom_components.nezha.sensor import NezhaServerSensor

from .conftest import poll, setup_entry
from .fake_dashboard import PAT, SERVER, FakeDashboard

ENTRY_ID = "01JNEZHAHOSTILEVALUES00000"
GPU = "sensor.hk_01_gpu_usage"
GPU_1 = "sensor.hk_01_gpu_1_usage"
LAST_SEEN = "sensor.hk_01_last_seen"
BOOT = "sensor.hk_01_boot_time"
BILLING = "sensor.hk_01_billing_expiry"
CPU = "sensor.hk_01_cpu_usage"

UNCONVERTIBLE_TIMES = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-23:59")
"""Valid RFC 3339, but outside what UTC (and so Home Assistant's state) can hold."""

EXTREME_NUMBERS = st.sampled_from(
    (1.7e308, -1.7e308, 1e30, 1e31, math.nan, math.inf, -math.inf, 2**64 - 1, 0, 12.5)
) | st.floats(allow_nan=True, allow_infinity=True)
TIMES = (
    st.sampled_from(UNCONVERTIBLE_TIMES)
    | st.sampled_from(("0001-01-01T00:00:00Z", "2026-08-17T11:40:00+08:00", "not a time"))
    | st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.timezones()
    ).map(datetime.isoformat)
)


def body(server: dict[str, Any]) -> tuple[int, Any]:
    """``GET /server``'s answer with one server."""
    return 200, {"success": True, "data": [server]}


def billing_note(end: str, **terms: str) -> str:
    """A ``public_note`` as the admin panel writes it."""
    return json.dumps({"billingDataMod": {"endDate": end, **terms}})


def reporting(now: datetime, **changes: Any) -> dict[str, Any]:
    """The sample server, reporting ``now`` (so it is online), with ``changes`` to its parts."""
    server = json.loads(json.dumps(SERVER)) | {"last_active": now.isoformat()}
    for part in ("host", "state"):
        server[part] |= changes.pop(part, {})
    return server | changes


@pytest.fixture
async def fake(socket_enabled: None) -> AsyncGenerator[FakeDashboard]:
    """conftest's fake dashboard, without aiohttp's access log (it fails under the freezer)."""
    dashboard = FakeDashboard()
    app = web.Application()
    app.router.add_route("*", "/api/v1/{tail:.*}", dashboard.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    dashboard.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield dashboard
    finally:
        await runner.cleanup()


@pytest.fixture
async def entry(
    hass: HomeAssistant, fake: FakeDashboard, freezer: FrozenDateTimeFactory
) -> AsyncGenerator[MockConfigEntry]:
    """A 2.x entry (PAT, polling, no monitors) for the fake dashboard, set up with a sane server."""
    freezer.move_to("2026-08-17T03:40:00+00:00")
    fake.answers = {"server": body(reporting(dt_util.utcnow()))}
    config_entry = MockConfigEntry(
        domain=DOMAIN,
        entry_id=ENTRY_ID,
        title="Hostile",
        data={CONF_URL: fake.url, CONF_API_TOKEN: PAT, CONF_VERIFY_SSL: True, CONF_API: "v2"},
        options={CONF_LIVE_UPDATES: False, CONF_MONITOR_INTERVAL: 0},
    )
    await setup_entry(hass, config_entry)
    assert hass.states.get(CPU).state == "3.01"
    yield config_entry
    await hass.config_entries.async_unload(config_entry.entry_id)


def storable_states(hass: HomeAssistant) -> None:
    """Every entity of the entry exists and shows what Home Assistant can store."""
    registry = er.async_get(hass)
    for registered in er.async_entries_for_config_entry(registry, ENTRY_ID):
        if registered.disabled:
            continue
        state = hass.states.get(registered.entity_id)
        assert state is not None, registered.entity_id
        if state.state in (STATE_UNKNOWN, STATE_UNAVAILABLE, "on", "off"):
            continue
        device_class = state.attributes.get("device_class")
        if device_class in ("timestamp", "uptime"):
            assert dt_util.parse_datetime(state.state) is not None, state
        elif "unit_of_measurement" in state.attributes or "state_class" in state.attributes:
            assert math.isfinite(float(state.state)), state


def no_errors(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing was logged at error level (a failed add, a failed write)."""
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


HOSTILE_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@HOSTILE_SETTINGS
@given(
    gpu=st.lists(EXTREME_NUMBERS, max_size=3),
    cpu=EXTREME_NUMBERS,
    boot_time=st.sampled_from((0, 1, 2**63, 2**64 - 1, 253402300800, 1785542400)),
    last_active=TIMES,
    end_date=TIMES,
    temperature=EXTREME_NUMBERS,
)
async def test_extremes_reach_entities_only_as_storable_values(
    hass: HomeAssistant,
    fake: FakeDashboard,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    gpu: list[float],
    cpu: float,
    boot_time: int,
    last_active: str,
    end_date: str,
    temperature: float,
) -> None:
    """Any mix of extremes: each entity shows a storable value or unknown, and none fails."""
    caplog.clear()
    server = reporting(
        dt_util.utcnow(),
        host={"boot_time": boot_time, "gpu": [f"GPU {n}" for n in range(len(gpu))]},
        state={"cpu": cpu, "gpu": gpu, "temperatures": [{"Name": "t", "Temperature": temperature}]},
        public_note=billing_note(end_date, autoRenewal="1", cycle="Month"),
    )
    fake.answers = {"server": body(server)}
    await poll(hass, freezer)
    storable_states(hass)
    no_errors(caplog)
    # Then once more with the server reporting as last_active says (often: never, or offline).
    fake.answers = {"server": body(server | {"last_active": last_active})}
    await poll(hass, freezer)
    storable_states(hass)
    no_errors(caplog)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_gpu_average_that_overflows_is_unknown(
    hass: HomeAssistant,
    fake: FakeDashboard,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Two GPUs at 1.7e308 % (finite each, their sum is not): unknown, then the real value."""
    fake.answers = {"server": body(reporting(dt_util.utcnow(), state={"gpu": [1.7e308, 1.7e308]}))}
    await poll(hass, freezer)
    assert hass.states.get(GPU).state == STATE_UNKNOWN
    assert hass.states.get(GPU_1).state == STATE_UNKNOWN
    fake.answers = {"server": body(reporting(dt_util.utcnow(), state={"gpu": [20, 40]}))}
    await poll(hass, freezer)
    assert hass.states.get(GPU).state == "30.0"
    assert hass.states.get(GPU_1).state == "20.0"
    no_errors(caplog)


@pytest.mark.parametrize("end", UNCONVERTIBLE_TIMES)
async def test_billing_end_outside_utc_then_sane(
    hass: HomeAssistant,
    fake: FakeDashboard,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    end: str,
) -> None:
    """An ``endDate`` UTC can't hold is no billing date; once sane, the sensor is there."""
    now = dt_util.utcnow()
    fake.answers = {"server": body(reporting(now, public_note=billing_note(end)))}
    await poll(hass, freezer)
    assert hass.states.get(BILLING) is None
    fake.answers = {
        "server": body(reporting(now, public_note=billing_note("2026-09-01T00:00:00+08:00")))
    }
    await poll(hass, freezer)
    assert hass.states.get(BILLING).state == "2026-08-31T16:00:00+00:00"
    no_errors(caplog)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("last_active", UNCONVERTIBLE_TIMES)
async def test_last_active_outside_utc_is_no_report(
    hass: HomeAssistant,
    fake: FakeDashboard,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    last_active: str,
) -> None:
    """A ``last_active`` UTC can't hold is no report: offline by the threshold, no error.

    A zero date (``0001-01-01…``) with the state kept is how 2.x marks a stopped agent (offline
    at once); any other unreadable time says nothing, as in a dashboard restart (held until the
    threshold passed). Either way last seen stays the last time that could be read.
    """
    last_seen = hass.states.get(LAST_SEEN).state
    assert last_seen != STATE_UNKNOWN
    fake.answers = {"server": body(reporting(dt_util.utcnow()) | {"last_active": last_active})}
    await poll(hass, freezer)
    assert hass.states.get(LAST_SEEN).state == last_seen
    await poll(hass, freezer, 31)  # past the default online threshold of 30 s
    assert hass.states.get(LAST_SEEN).state == last_seen
    assert hass.states.get("binary_sensor.hk_01_online").state == "off"
    no_errors(caplog)


@pytest.mark.no_fail_on_log_exception  # the failure this test provokes is logged, as it should be
@pytest.mark.allow_traceback(
    "the add failure this test provokes is logged, as it should be", match="^Error adding entity"
)
async def test_entity_that_failed_to_add_comes_back(
    hass: HomeAssistant,
    fake: FakeDashboard,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
) -> None:
    """A sensor that failed to be added is retried at the next poll that changes its server."""
    assert hass.states.get(GPU) is not None
    fake.answers = {"server": body(reporting(dt_util.utcnow(), host={"gpu": ["A", "B", "C"]}))}
    original = NezhaServerSensor.async_added_to_hass

    async def failing(sensor: NezhaServerSensor) -> None:
        await original(sensor)
        if sensor.entity_description.key == "gpu_3_usage":
            raise ValueError("cannot add")

    with patch.object(NezhaServerSensor, "async_added_to_hass", failing):
        await poll(hass, freezer)
    assert hass.states.get("sensor.hk_01_gpu_3_usage") is None
    fake.answers = {
        "server": body(
            reporting(dt_util.utcnow(), host={"gpu": ["A", "B", "C"]}, state={"gpu": [1, 2, 3]})
        )
    }
    await poll(hass, freezer)
    assert hass.states.get("sensor.hk_01_gpu_3_usage").state == "3.0"
