"""Device classes as Home Assistant defines them, and monitor entity names a newcomer tells apart.

The ``world`` of test_services.py as a 2.x dashboard: the ping monitor "Ping 1.1.1.1" has two
entities on each server that runs it and three on the dashboard device (``/service``).
"""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest

from nezha_simulator import NezhaSimulator

from .conftest import setup_entry
from .test_generations import ENTRY_ID
from .test_services import ALL_SCOPES, entry_for, world

__all__ = ["world"]  # fixture used here

DASHBOARD = "nezha_test_dashboard"
PER_SERVER = {
    "sensor.vps_hk_ping_1_1_1_1_latency": ("Ping 1.1.1.1 latency", "duration"),
    "binary_sensor.vps_hk_ping_1_1_1_1_reachable": ("Ping 1.1.1.1 reachable", "connectivity"),
}
DASHBOARD_WIDE = {
    f"binary_sensor.{DASHBOARD}_ping_1_1_1_1_status": ("Ping 1.1.1.1 status", "connectivity"),
    f"sensor.{DASHBOARD}_ping_1_1_1_1_avg_latency": ("Ping 1.1.1.1 avg latency", "duration"),
    f"sensor.{DASHBOARD}_ping_1_1_1_1_uptime_30d": ("Ping 1.1.1.1 uptime 30d", None),
}
UNIQUE_ID_ENDS = {
    f"binary_sensor.{DASHBOARD}_ping_1_1_1_1_status": "_service1_service_up",
    f"sensor.{DASHBOARD}_ping_1_1_1_1_avg_latency": "_service1_service_delay",
    f"sensor.{DASHBOARD}_ping_1_1_1_1_uptime_30d": "_service1_service_uptime_30d",
}


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_device_classes_as_home_assistant_defines_them(
    hass: HomeAssistant, world: NezhaSimulator, entity_registry: er.EntityRegistry
) -> None:
    """Boot time is an uptime; delays are durations; reachable and up are connectivity; the
    temperature sensor is named by its device class."""
    await setup_entry(hass, entry_for(world, "v2", scopes=ALL_SCOPES))
    assert hass.states.get("sensor.gpu_box_boot_time").attributes["device_class"] == "uptime"
    for entity_id, (_, device_class) in (PER_SERVER | DASHBOARD_WIDE).items():
        assert hass.states.get(entity_id).attributes.get("device_class") == device_class, entity_id
    temperature = entity_registry.async_get("sensor.gpu_box_temperature")
    assert temperature is not None
    assert temperature.translation_key is None
    assert temperature.original_device_class == "temperature"
    assert hass.states.get("sensor.gpu_box_temperature").attributes["friendly_name"] == (
        "gpu-box Temperature"
    )


async def test_monitor_names_say_where_they_come_from(
    hass: HomeAssistant, world: NezhaSimulator, entity_registry: er.EntityRegistry
) -> None:
    """Per server: latency, reachable; dashboard-wide: status, avg latency, uptime 30d. Each
    name past the monitor's is one or two short words, and the unique IDs are the old ones."""
    await setup_entry(hass, entry_for(world, "v2", scopes=ALL_SCOPES))
    for entity_id, (name, _) in (PER_SERVER | DASHBOARD_WIDE).items():
        entry = entity_registry.async_get(entity_id)
        assert entry is not None, entity_id
        assert entry.original_name == name
        assert len(name.removeprefix("Ping 1.1.1.1 ")) <= len("avg latency")
    for entity_id, end in UNIQUE_ID_ENDS.items():
        entry = entity_registry.async_get(entity_id)
        assert entry is not None
        assert entry.unique_id == f"{ENTRY_ID}{end}"
