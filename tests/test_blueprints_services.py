"""The traffic-cycle and renewal blueprints in a running Home Assistant, alone and with the
integration against the simulator (the files themselves: test_blueprints.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_mock_service

from nezha_simulator import NezhaSimulator

from .conftest import poll, setup_entry
from .test_blueprints import hass_config_dir, notify_test, setup_automation, wait
from .test_services import ALL_SCOPES, TIB, USAGE, entry_for, world

__all__ = ["hass_config_dir", "world"]  # fixtures used here

USAGE_SENSOR = "sensor.web_1_monthly_1_tib_traffic_usage"
EXPIRY_SENSOR = "sensor.web_1_billing_expiry"


async def stop_automation(hass: HomeAssistant) -> None:
    """Turn the automation off, so no time trigger outlives the test."""
    await hass.services.async_call(
        "automation", "turn_off", {"entity_id": "automation.blueprint_test"}, blocking=True
    )


async def test_traffic_cycle_above_fires_once_per_crossing(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Below -> above the threshold fires; staying above does not; after a reset it fires again."""
    calls = async_mock_service(hass, "notify", "test")
    attributes = {"unit_of_measurement": "%", "friendly_name": "web-1 Monthly 1 TiB traffic usage"}
    hass.states.async_set(USAGE_SENSOR, "80.0", attributes)
    await setup_automation(
        hass,
        "traffic_cycle_above.yaml",
        {
            "usage_sensors": [USAGE_SENSOR],
            "notify_actions": notify_test("{{ cycle_name }} {{ usage }} > {{ threshold }}"),
        },
    )
    hass.states.async_set(USAGE_SENSOR, "89.9", attributes)
    await hass.async_block_till_done()
    assert calls == []
    hass.states.async_set(USAGE_SENSOR, "90.25", attributes)
    hass.states.async_set(USAGE_SENSOR, "95.0", attributes)
    await hass.async_block_till_done()
    assert [call.data["message"] for call in calls] == [
        "web-1 Monthly 1 TiB traffic usage 90.2 > 90"
    ]
    hass.states.async_set(USAGE_SENSOR, "0.0", attributes)  # a new cycle
    hass.states.async_set(USAGE_SENSOR, "91.0", attributes)
    await hass.async_block_till_done()
    assert len(calls) == 2


async def test_traffic_cycle_above_with_the_integration(
    hass: HomeAssistant, world: NezhaSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """A real cycle filling up notifies by default with a persistent notification."""
    world.set_cycle_transfer(1, 1, int(TIB * 0.5))
    await setup_entry(hass, entry_for(world, "v2", scopes=ALL_SCOPES))
    calls = async_mock_service(hass, "persistent_notification", "create")
    await setup_automation(
        hass, "traffic_cycle_above.yaml", {"usage_sensors": [USAGE], "threshold": 80}
    )
    world.set_cycle_transfer(1, 1, int(TIB * 0.85))
    await poll(hass, freezer, 60)
    assert len(calls) == 1
    assert calls[0].data["title"] == "Nezha traffic cycle above 80 %"
    assert calls[0].data["message"] == "gpu-box: Monthly 1 TiB traffic usage is at 85.0 %."


async def test_server_renewal_within_checks_daily(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """At the check time: one notification per server within N days; none for later, unknown
    (never expires), unavailable or past expiries."""
    morning = datetime(2026, 3, 1, 8, 59, 50, tzinfo=dt_util.get_default_time_zone())
    freezer.move_to(morning)
    calls = async_mock_service(hass, "notify", "test")
    soon = (morning + timedelta(days=3, hours=1)).isoformat()
    states = {
        EXPIRY_SENSOR: soon,
        "sensor.web_2_billing_expiry": (morning + timedelta(days=20)).isoformat(),
        "sensor.web_3_billing_expiry": "unknown",
        "sensor.web_4_billing_expiry": "unavailable",
        "sensor.web_5_billing_expiry": (morning - timedelta(days=1)).isoformat(),
    }
    for entity_id, value in states.items():
        hass.states.async_set(entity_id, value, {"device_class": "timestamp"})
    await setup_automation(
        hass,
        "server_renewal_within.yaml",
        {
            "expiry_sensors": list(states),
            "notify_actions": notify_test("{{ sensor }}: {{ days_left }}"),
        },
    )
    await wait(hass, freezer, timedelta(seconds=5))
    assert calls == []
    await wait(hass, freezer, timedelta(seconds=10))  # 09:00:05
    assert [call.data["message"] for call in calls] == [f"{EXPIRY_SENSOR}: 3"]
    await wait(hass, freezer, timedelta(days=1))
    assert [call.data["message"] for call in calls][1:] == [f"{EXPIRY_SENSOR}: 2"]  # next day
    await stop_automation(hass)


async def test_server_renewal_within_with_the_integration(
    hass: HomeAssistant, world: NezhaSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """gpu-box renews in 3½ days (auto-renewal rolled it forward), vps-hk in 78: only gpu-box."""
    await setup_entry(hass, entry_for(world, "v2", scopes=ALL_SCOPES))
    calls = async_mock_service(hass, "persistent_notification", "create")
    await setup_automation(
        hass,
        "server_renewal_within.yaml",
        {
            "expiry_sensors": [
                "sensor.gpu_box_billing_expiry",
                "sensor.vps_hk_billing_expiry",
                "sensor.new_node_billing_expiry",
            ],
            "check_time": (dt_util.now() + timedelta(minutes=30)).strftime("%H:%M:00"),
        },
    )
    await wait(hass, freezer, timedelta(minutes=31))
    assert [call.data["title"] for call in calls] == ["Nezha server renewal due"]
    assert calls[0].data["message"].startswith("gpu-box expires on 2025-11-")
    assert calls[0].data["message"].endswith("(3 days left).")
    await stop_automation(hass)
