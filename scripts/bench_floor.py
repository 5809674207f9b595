"""Home Assistant's own floor and the counts of ``scripts/bench`` (see bench_ha.py).

Imported by the workers of ``bench_ha.py`` once Home Assistant runs the entry:

- ``GcMeter``: loop CPU with the time the cyclic garbage collector took out (``gc.callbacks``),
  so a full collection landing in one poll moves its GC figure, not its code's;
- the floor: bare clones of the entities a poll (or push window) wrote, plain ``SensorEntity`` /
  ``BinarySensorEntity`` subclasses with the originals' descriptions, devices and ``_attr_*``,
  added to the entry's own platforms (same translations, same devices) and written with
  ``async_write_ha_state`` with exactly the states the integration wrote: what Home Assistant
  needs for those writes, and nothing else;
- ``count_calls``: ``SensorEntity.state`` evaluations and entity callbacks in one untimed poll,
  counted with a profile hook in this process (nothing in the integration is patched);
- ``kept_blocks``: the memory blocks the integration's code allocated in one poll and still holds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
import gc
import statistics
import sys
import threading
import time
import tracemalloc
from types import CodeType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity import Entity

Values = dict[str, tuple[bool, Any, Any]]
"""Per entity id: available, its value (``native_value`` or ``is_on``), its extra attributes."""

PER_WRITE = {"_attr_available", "_attr_native_value", "_attr_is_on", "_attr_unique_id"}
PER_WRITE |= {"_attr_extra_state_attributes"}
STATIC = (
    "device_class",
    "state_class",
    "native_unit_of_measurement",
    "suggested_display_precision",
    "suggested_unit_of_measurement",
    "options",
    "icon",
    "entity_category",
    "translation_key",
    "name",
)
"""Properties an integration class may compute; a clone gets their value as ``_attr_*``."""


@dataclass(frozen=True)
class Span:
    """One measured stretch of the loop thread."""

    cpu: float
    """Its CPU seconds, the garbage collector's taken out."""
    gc: float
    """The garbage collector's seconds in it."""
    full: int
    """Full (generation 2) collections in it, on any thread."""


class GcMeter:
    """Loop CPU apart from the cyclic garbage collector's time (installed in ``gc.callbacks``)."""

    def __init__(self) -> None:
        """Meter the calling thread (the event loop's); nothing is measured until ``install``."""
        self.thread = threading.get_ident()
        self.seconds = 0.0
        self.full = 0
        self._started: float | None = None

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            self.full += 1
        if threading.get_ident() != self.thread:
            return
        if phase == "start":
            self._started = time.thread_time()
        elif self._started is not None:
            self.seconds += time.thread_time() - self._started
            self._started = None

    def install(self) -> None:
        """Start timing collections."""
        gc.callbacks.append(self._callback)

    def mark(self) -> tuple[float, float, int]:
        """Where a span starts."""
        return time.thread_time(), self.seconds, self.full

    def since(self, mark: tuple[float, float, int]) -> Span:
        """The span from ``mark`` to now."""
        cpu, seconds, full = mark
        collected = self.seconds - seconds
        return Span(time.thread_time() - cpu - collected, collected, self.full - full)


def median_mean(values: Iterable[float]) -> tuple[float, float]:
    """Both, since a collection that lands in a few samples moves the mean but not the median."""
    listed = list(values)
    return statistics.median(listed), statistics.fmean(listed)


def entry_entities(hass: HomeAssistant, entry: Any) -> list[Entity]:
    """Every entity the entry's platforms hold."""
    from homeassistant.helpers.entity_platform import async_get_platforms

    return [
        entity
        for platform in async_get_platforms(hass, entry.domain)
        if platform.config_entry is entry
        for entity in platform.entities.values()
    ]


def capture(entities: Iterable[Entity]) -> Values:
    """What each entity shows now (the state it last wrote, for one that writes on change)."""
    values: Values = {}
    for entity in entities:
        assert entity.entity_id is not None
        if not entity.available:
            values[entity.entity_id] = (False, None, None)
            continue
        value = getattr(entity, "native_value" if is_sensor(entity) else "is_on")
        attributes = entity.extra_state_attributes
        values[entity.entity_id] = (True, value, None if attributes is None else dict(attributes))
    return values


def is_sensor(entity: Entity) -> bool:
    """A sensor (else a binary sensor)."""
    from homeassistant.components.sensor import SensorEntity

    return isinstance(entity, SensorEntity)


def reported(hass: HomeAssistant, entity_ids: Iterable[str]) -> dict[str, object]:
    """When each state was last written (changed or not), to find the entities a span wrote."""
    return {
        entity_id: state.last_reported
        for entity_id in entity_ids
        if (state := hass.states.get(entity_id)) is not None
    }


def written_since(hass: HomeAssistant, before: dict[str, object]) -> list[str]:
    """The entities written since ``before`` was taken."""
    after = reported(hass, before)
    return [entity_id for entity_id, at in before.items() if after.get(entity_id) != at]


def apply(clone: Entity, shown: tuple[bool, Any, Any]) -> None:
    """Give a clone the state an original showed, as a bare entity sets it."""
    available, value, attributes = shown
    attrs: Any = clone  # the _attr_* of the clone's own class, set as any entity sets them
    attrs._attr_available = available
    if available:
        if is_sensor(clone):
            attrs._attr_native_value = value
        else:
            attrs._attr_is_on = value
    attrs._attr_extra_state_attributes = attributes


def _clone(original: Entity, kinds: dict[bool, type[Entity]]) -> Entity:
    """A bare entity with the original's description, device and ``_attr_*``."""
    from homeassistant.helpers.entity import Entity as BaseEntity

    clone: Any = kinds[is_sensor(original)]()
    if hasattr(original, "entity_description"):
        clone.entity_description = original.entity_description
    owned = [
        cls for cls in type(original).__mro__ if cls.__module__.startswith("custom_components")
    ]
    # HA's metaclass keeps a cached property's _attr_x in __attr_x (class and instance alike).
    keys = {key for cls in owned for key in vars(cls)} | set(vars(original))
    names = {
        key.replace("__attr_", "_attr_", 1) for key in keys if key.startswith(("_attr_", "__attr_"))
    }
    for name in sorted(names - PER_WRITE):
        if hasattr(original, name):
            setattr(clone, name, getattr(original, name))
    for name in STATIC:  # computed by an integration class: copy the value it gives
        if any(name in vars(cls) for cls in owned) or name in vars(original):
            setattr(clone, f"_attr_{name}", getattr(original, name))
    clone._attr_unique_id = f"floor-{original.unique_id}"
    clone._attr_device_info = original.device_info
    clone._attr_should_poll = False
    assert isinstance(clone, BaseEntity)
    return clone


async def add_clones(
    hass: HomeAssistant, entry: Any, originals: list[Entity], shown: Values
) -> list[tuple[Entity, str]]:
    """Clones of ``originals`` on the entry's platforms, showing ``shown``; (clone, original id)."""
    from homeassistant.components.binary_sensor import BinarySensorEntity
    from homeassistant.components.sensor import SensorEntity
    from homeassistant.helpers.entity_platform import async_get_platforms

    class FloorSensor(SensorEntity):
        """A sensor that only writes the state it is given."""

    class FloorBinarySensor(BinarySensorEntity):
        """A binary sensor that only writes the state it is given."""

    kinds: dict[bool, type[Entity]] = {True: FloorSensor, False: FloorBinarySensor}
    platforms = {
        platform.domain: platform
        for platform in async_get_platforms(hass, entry.domain)
        if platform.config_entry is entry
    }
    pairs: list[tuple[Entity, str]] = []
    by_domain: dict[str, list[Entity]] = {}
    for original in originals:
        assert original.entity_id is not None
        clone = _clone(original, kinds)
        apply(clone, shown[original.entity_id])
        pairs.append((clone, original.entity_id))
        by_domain.setdefault(original.entity_id.split(".")[0], []).append(clone)
    for domain, clones in by_domain.items():
        await platforms[domain].async_add_entities(clones)
    return pairs


def same_state(hass: HomeAssistant, clone: Entity, original_id: str) -> bool:
    """Whether a clone's state (value and attributes) is the original's."""
    assert clone.entity_id is not None
    mine, theirs = hass.states.get(clone.entity_id), hass.states.get(original_id)
    return (
        mine is not None
        and theirs is not None
        and (mine.state, mine.attributes) == (theirs.state, theirs.attributes)
    )


async def floor_writes(
    hass: HomeAssistant,
    pairs: list[tuple[Entity, str]],
    shown: tuple[Values, Values],
    rounds: int,
    meter: GcMeter,
    *,
    settle: bool = True,
    given: list[Span] | None = None,
) -> list[Span]:
    """Write every clone ``rounds`` times, showing ``shown``'s two sets in turn (each a change).

    Only the writes are timed (and, with ``settle``, ``async_block_till_done`` after them, as a
    poll is timed). Giving the clones their ``_attr_*`` first is the entity's own work: each
    round's is timed apart into ``given`` when asked for.
    """
    spans = []
    for round_ in range(rounds):
        values = shown[(round_ + 1) % 2]  # the clones were added showing shown[0]
        mark = meter.mark()
        for clone, original_id in pairs:
            apply(clone, values[original_id])
        if given is not None:
            given.append(meter.since(mark))
        mark = meter.mark()
        for clone, _ in pairs:
            clone.async_write_ha_state()
        if settle:
            await hass.async_block_till_done()
        spans.append(meter.since(mark))
    return spans


@dataclass
class CallCounts:
    """What one profiled stretch called."""

    state: int = 0
    """``SensorEntity.state`` evaluations."""
    callbacks: int = 0
    """Calls into an entity from the integration's code or HA's coordinator (its listeners)."""


async def count_calls(
    entities: Iterable[Entity], package_dir: str, run: Callable[[], Awaitable[None]]
) -> CallCounts:
    """Count, while ``run`` runs, ``SensorEntity.state`` evaluations and entity callbacks.

    Counted with ``sys.monitoring`` (calls only, functions without ``self`` switched off after
    their first call), so the counted poll runs only a few times slower than a timed one.

    A callback is a call made by the integration's own code (``package_dir``) or by HA's
    ``update_coordinator`` or its job runner (``core``: the dispatcher and the event bus call
    through it) into a method of one of ``entities``, not from another of them: the coordinators
    waking an entity, however the integration routes it (fewer callbacks than writes would mean a
    route this misses). Home Assistant reading an entity's properties while writing its state is
    not one, nor is the coordinator starting the write an entity asked for (``deferred_writes``).
    """
    from homeassistant import core
    from homeassistant.components.sensor import SensorEntity
    from homeassistant.helpers import update_coordinator
    from homeassistant.helpers.entity import Entity

    state_code = SensorEntity.state.fget.__code__  # type: ignore[attr-defined]
    write_code = Entity.async_write_ha_state.__code__
    ids = {id(entity) for entity in entities}
    callers = (package_dir, update_coordinator.__file__, core.__file__)
    counts = CallCounts()
    monitoring = sys.monitoring
    tool, start = monitoring.PROFILER_ID, monitoring.events.PY_START

    def started(code: CodeType, _: int) -> object:
        if code is state_code:
            counts.state += 1
            return None
        if code is write_code:
            return None  # a write, not a wake-up
        if not code.co_argcount or code.co_varnames[0] != "self":
            return monitoring.DISABLE  # no method: never a callback (stops its events)
        callee = sys._getframe(1)  # the frame of the call being started
        caller = callee.f_back
        if caller is None or not caller.f_code.co_filename.startswith(callers):
            return None
        if id(callee.f_locals.get("self")) in ids and id(caller.f_locals.get("self")) not in ids:
            counts.callbacks += 1
        return None

    monitoring.use_tool_id(tool, "scripts/bench")
    monitoring.register_callback(tool, start, started)
    monitoring.set_events(tool, start)
    monitoring.restart_events()  # what an earlier count disabled
    try:
        await run()
    finally:
        monitoring.set_events(tool, monitoring.events.NO_EVENTS)
        monitoring.register_callback(tool, start, None)
        monitoring.free_tool_id(tool)
    return counts


async def kept_blocks(package_dir: str, run: Callable[[], Awaitable[None]]) -> int:
    """Memory blocks (about one per object) allocated while ``run`` ran and alive after it.

    Counted for the integration: blocks whose allocating stack's newest frame of either the
    integration or Home Assistant is the integration's (a parsed server is; the ``State`` Home
    Assistant makes for a write is not). Collected first, so cyclic garbage is not counted.
    """
    import homeassistant

    ha_dir = homeassistant.__path__[0]
    tracemalloc.start(64)
    try:
        await run()
        gc.collect()
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    kept = 0
    for trace in snapshot.traces:
        for frame in reversed(trace.traceback):  # the newest frame first
            if frame.filename.startswith(package_dir):
                kept += 1
                break
            if frame.filename.startswith(ha_dir):
                break
    return kept


async def poll_floor(
    hass: HomeAssistant,
    entry: Any,
    package_dir: str,
    *,
    change: Callable[[], Awaitable[None]],
    poll: Callable[[], Awaitable[None]],
    writes: Callable[[], int],
    rounds: int,
    meter: GcMeter,
) -> dict[str, Any]:
    """Count one changed poll's calls, then time changed polls and the floor in turn.

    ``change`` has the dashboard change every server (untimed), ``poll`` polls it. The bare
    clones show the states before and after the counted poll in turn, so each floor round writes
    every entity a poll writes, each a change, as the poll did. Each round is a changed poll and
    then the floor's writes: both meet the same machine and heap, so their ratio does not move
    with how busy the machine was when either was taken.
    """
    entities = entry_entities(hass, entry)
    before = capture(entities)
    at = reported(hass, before)

    async def changed_poll() -> None:
        await change()
        await poll()

    counts = await count_calls(entities, package_dir, changed_poll)
    written = set(written_since(hass, at))
    originals = [entity for entity in entities if entity.entity_id in written]
    after = capture(originals)
    pairs = await add_clones(hass, entry, originals, before)
    await hass.async_block_till_done()

    async def counted_write() -> None:
        await floor_writes(hass, pairs, (before, after), 1, meter)

    floor_counts = await count_calls([clone for clone, _ in pairs], package_dir, counted_write)
    same = sum(same_state(hass, clone, original_id) for clone, original_id in pairs)
    floor_written = 0
    given: list[Span] = []
    polls: list[Span] = []
    spans: list[Span] = []
    for round_ in range(rounds):
        await change()
        mark = meter.mark()
        await poll()
        polls.append(meter.since(mark))
        start = writes()
        # The clones show ``after`` now: even rounds write ``before``, odd rounds ``after``.
        shown = (after, before) if round_ % 2 == 0 else (before, after)
        spans += await floor_writes(hass, pairs, shown, 1, meter, given=given)
        floor_written += writes() - start
    sensors = max(sum(is_sensor(entity) for entity in originals), 1)
    cpu, cpu_mean = median_mean(span.cpu for span in spans)
    collected, collected_mean = median_mean(span.gc for span in spans)
    paired, paired_mean = median_mean(span.cpu for span in polls)
    return {
        "paired_cpu_ms": paired * 1e3,
        "paired_cpu_mean_ms": paired_mean * 1e3,
        "floor_cpu_ms": cpu * 1e3,
        "floor_cpu_mean_ms": cpu_mean * 1e3,
        "floor_gc_ms": collected * 1e3,
        "floor_gc_mean_ms": collected_mean * 1e3,
        "floor_writes": floor_written / rounds,
        "floor_given_ms": median_mean(span.cpu for span in given)[0] * 1e3,
        "state_per_sensor": counts.state / sensors,
        "floor_state_per_sensor": floor_counts.state / sensors,
        "callbacks_per_write": counts.callbacks / max(len(written), 1),
        "counted_writes": len(written),
        "floor_same_states": same,
    }
