"""Which entities a poll or a frame wakes, and how a push window's work is spread (issue 21).

Counted, never timed: the entity callbacks a change causes, the writes each frame makes, the
objects a list read keeps, ``SensorEntity.state`` evaluations per write.
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.sensor import SensorEntity
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, HomeAssistant, callback
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nezha import sensor as sensor_module
from custom_components.nezha.api import Host, Server, Status
from custom_components.nezha.binary_sensor import ONLINE
from custom_components.nezha.entity import NezhaEntity, NezhaServerEntity, storable
from custom_components.nezha.sensor import BILLING_EXPIRY, SERVER_SENSORS
from nezha_simulator import NezhaSimulator

from .conftest import poll, setup_entry
from .test_core import writes
from .test_generations import entry_for
from .test_online_truth import frame, servers_of

GPU_CPU = "sensor.gpu_box_cpu_usage"
DASHBOARD = "nezha_test_dashboard"


@pytest.fixture
def called(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The entity id of every entity callback (a coordinator waking an entity) from setup on."""
    seen: list[str] = []
    original = NezhaEntity._handle_coordinator_update

    def counted(self: NezhaEntity[object]) -> None:  # type: ignore[type-var]
        seen.append(self.entity_id)
        original(self)

    monkeypatch.setattr(NezhaEntity, "_handle_coordinator_update", callback(counted))
    return seen


def of_servers(entity_ids: list[str]) -> list[str]:
    """The ids of server and monitor entities (the dashboard's hear of every poll)."""
    return sorted(entity_id for entity_id in entity_ids if DASHBOARD not in entity_id)


__all__ = ["writes"]  # the fixture, shared with test_core


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_only_the_changed_entity_is_called_back(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    called: list[str],
    writes: list[str],
) -> None:
    """One CPU changes: of the server's ~24 entities and its monitors', only that sensor runs."""
    await setup_entry(hass, config_entry)
    called.clear()
    writes.clear()

    fleet.set_status(1, cpu=77.0)
    await poll(hass, freezer)

    assert writes == [GPU_CPU]
    assert of_servers(called) == [GPU_CPU]


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_a_poll_works_out_every_state_before_writing_any(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A poll changing both servers: every woken entity works out its state, then the changed
    ones are written, in one pass (the same writes as one at a time)."""
    events: list[tuple[str, str]] = []
    original = NezhaEntity._handle_coordinator_update

    def counted(self: NezhaEntity[Any]) -> None:
        events.append(("called", self.entity_id))
        original(self)

    @callback
    def record(event: Event) -> None:
        events.append(("written", event.data["entity_id"]))

    monkeypatch.setattr(NezhaEntity, "_handle_coordinator_update", callback(counted))
    await setup_entry(hass, config_entry)
    hass.bus.async_listen(EVENT_STATE_CHANGED, record)
    events.clear()

    fleet.set_status(1, cpu=77.0)
    fleet.set_status(2, cpu=12.0, mem_used=2**30)
    await poll(hass, freezer)

    kinds = [kind for kind, _ in events]
    called = [entity_id for kind, entity_id in events if kind == "called"]
    written = [entity_id for kind, entity_id in events if kind == "written"]
    assert GPU_CPU in called
    assert GPU_CPU in written
    assert "sensor.vps_hk_memory_used" in written
    assert kinds == sorted(kinds)  # "called" < "written": no write before the last callback
    assert len(written) == len(set(written))


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_an_online_change_wakes_the_server_and_its_monitors(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    called: list[str],
) -> None:
    """A server going offline changes every entity's availability: all of them hear of it."""
    await setup_entry(hass, config_entry)
    server_entities = {
        entry.entity_id
        for entry in hass.data["entity_registry"].entities.values()
        if entry.entity_id.split(".")[1].startswith("gpu_box")
    }
    called.clear()

    fleet.take_offline(1)
    fleet.advance(31)
    await poll(hass, freezer)

    of_gpu_box = [entity_id for entity_id in called if entity_id in server_entities]
    assert sorted(of_gpu_box) == sorted(server_entities)  # each once


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_a_written_sensor_renders_its_state_once(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
    writes: list[str],
) -> None:
    """Deciding to write reads the native value: ``SensorEntity.state`` runs once, in the write."""
    await setup_entry(hass, config_entry)
    rendered: list[str] = []
    state = SensorEntity.state

    def counted(self: SensorEntity) -> object:
        rendered.append(self.entity_id)
        return state.fget(self)  # type: ignore[attr-defined]

    monkeypatch.setattr(SensorEntity, "state", property(counted))
    writes.clear()

    fleet.set_status(1, cpu=77.0, mem_used=3 * 2**30)
    fleet.set_status(2, cpu=12.0)
    await poll(hass, freezer)

    assert sorted(writes) == sorted(rendered)
    assert len(rendered) == 4  # two CPUs, the memory used and its share


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_a_write_works_out_value_and_availability_once(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
    writes: list[str],
) -> None:
    """A CPU sensor (no rename to follow, no change with time) computes each once, to decide.

    Home Assistant's reads during the write find them in the entity's ``_attr_*``: the value that
    decided the write is the one written.
    """
    await setup_entry(hass, config_entry)
    asked: list[str] = []
    computed: list[object] = []
    source = NezhaServerEntity._state_source  # where a server entity's availability is decided

    def counted_source(self: NezhaServerEntity) -> Server | None:
        asked.append(self.entity_id)
        return source(self)

    def counted_value(value: object) -> object:
        computed.append(value)
        return storable(value)

    monkeypatch.setattr(NezhaServerEntity, "_state_source", counted_source)
    monkeypatch.setattr(sensor_module, "storable", counted_value)
    writes.clear()

    fleet.set_status(1, cpu=77.0)
    await poll(hass, freezer)

    assert writes == [GPU_CPU]
    assert of_servers(asked) == [GPU_CPU]
    assert computed == [77.0]
    assert hass.states.get(GPU_CPU).state == "77.0"


async def test_a_window_s_comparisons_are_spread(
    hass: HomeAssistant, simulator: NezhaSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """90 servers whose CPU changes before every 2 s frame: once all fall due together, each
    frame compares at most 20 (not 90 at once), and each server's CPU is written once a window."""
    simulator.freeze_clock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp())
    for number in range(1, 91):
        simulator.add_server(f"node-{number}")
    entry = entry_for(simulator, "v2", scan_interval=30)
    await setup_entry(hass, entry)
    servers_of(entry).async_set_live(True)
    cpu_writes: list[list[str]] = []

    @callback
    def record(event: Event) -> None:
        if event.data["entity_id"].endswith("_cpu_usage"):
            cpu_writes[-1].append(event.data["entity_id"])

    hass.bus.async_listen(EVENT_STATE_CHANGED, record)

    async def frames(count: int, value: float) -> None:
        for _ in range(count):
            value += 0.5
            for server_id in range(1, 91):
                simulator.set_status(server_id, cpu=value)
            simulator.advance(2)
            freezer.tick(2)
            cpu_writes.append([])
            await frame(hass, entry, simulator)
            # The polls the ticks start answer before the next tick (no request times out).
            await hass.async_block_till_done(wait_background_tasks=True)

    await frames(1, 10.0)  # a connection's first frame is compared whole
    assert len(cpu_writes[0]) == 90
    await frames(45, 20.0)  # three windows of 15 frames

    assert max(len(written) for written in cpu_writes[1:]) <= 20
    for window in (cpu_writes[16:31], cpu_writes[31:46]):  # once spread
        written = [entity_id for frame_writes in window for entity_id in frame_writes]
        assert len(written) == len(set(written)) == 90  # each server once per window

    servers_of(entry).async_set_live(False)  # the stream drops and comes back
    servers_of(entry).async_set_live(True)
    await frames(1, 40.0)
    assert len(cpu_writes[-1]) == 90  # a new connection's first frame is compared whole


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_a_boot_time_drifting_within_the_tolerance_writes_nothing(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    writes: list[str],
) -> None:
    """A boot time that moves by a second (computed from the uptime) is no change for Home
    Assistant, which keeps an uptime within its drift tolerance: nothing is written."""
    await setup_entry(hass, config_entry)
    boot = fleet.server(1).host.boot_time
    writes.clear()

    fleet.set_host(1, boot_time=boot + 1)
    await poll(hass, freezer)

    assert writes == []


async def test_a_list_read_keeps_the_servers_that_did_not_change(
    hass: HomeAssistant,
    fleet: NezhaSimulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A server the list answers unchanged keeps the object held: no new graph per poll."""
    await setup_entry(hass, config_entry)
    held = dict(servers_of(config_entry).data.servers)

    fleet.set_status(1, cpu=77.0)
    await poll(hass, freezer)

    now = servers_of(config_entry).data.servers
    assert now[2] is held[2]
    assert now[1] is not held[1]
    assert now[1].status.cpu == 77.0


def test_each_server_entity_reads_only_the_fields_it_names() -> None:
    """An entity called back only when a field it names changes must not depend on any other."""
    base = Server(
        id=1,
        name="a",
        last_active=datetime(2026, 3, 1, tzinfo=UTC),
        ipv4="192.0.2.1",
        host=Host(mem_total=8 * 2**30, disk_total=2**40, gpu_models=("A", "B")),
        status=Status(cpu=5.0, mem_used=2**30, gpu_usage=(1.0, 3.0), temperatures=()),
        public_note='{"billingDataMod":{"endDate":"2030-01-01T00:00:00Z"}}',
    )
    other = Server(
        id=1,
        name="b",
        tag="t",
        last_active=datetime(2026, 3, 2, tzinfo=UTC),
        disconnected=True,
        ipv4="192.0.2.2",
        ipv6="2001:db8::1",
        display_index=3,
        host=Host(
            mem_total=4 * 2**30, disk_total=2**30, boot_time=datetime(2026, 1, 1, tzinfo=UTC)
        ),
        status=Status(cpu=50.0, mem_used=2**31, gpu_usage=(9.0,)),
        public_note=None,
    )
    names = {field.name for field in fields(Server)}
    parts = {f"host.{field.name}" for field in fields(Host)} | {
        f"status.{field.name}" for field in fields(Status)
    }
    descriptions = (*SERVER_SENSORS, ONLINE, BILLING_EXPIRY)
    for description in descriptions:
        reads = description.reads
        assert reads is not None, description.key
        assert reads <= names | parts, description.key
        mixed = replace(
            base,
            **{name: getattr(other, name) for name in names - reads - {"id", "host", "status"}},
            host=_mixed(base.host, other.host, "host", reads),
            status=_mixed(base.status, other.status, "status", reads),
        )
        value_fn = getattr(description, "value_fn", None)
        if value_fn is not None:
            assert value_fn(mixed) == value_fn(base), description.key


def _mixed[PartT: (Host, Status)](
    base: PartT, other: PartT, name: str, reads: frozenset[str]
) -> PartT:
    """``base``'s ``host`` or ``status`` with every field not in ``reads`` taken from ``other``."""
    if name in reads:
        return base
    return replace(
        base,
        **{
            field.name: getattr(other, field.name)
            for field in fields(base)
            if f"{name}.{field.name}" not in reads
        },
    )
