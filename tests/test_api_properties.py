"""Property-based tests of the v0 client: hostile but plausible answers, over real HTTP.

Each example is served by a bare TCP server (``RawDashboard``, which sends any ``Date`` header) and
read through ``NezhaV0Client``'s public methods. Whatever the body, the client returns well-formed
models or raises one of the package's own errors, and the token never shows in a message.

Hypothesis drives its examples synchronously, so they run in a thread with their own event loop;
examples are capped (``max_examples``) to keep the suite fast.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
import copy
import dataclasses
from datetime import datetime
import json
import math
import threading
from typing import Any

import aiohttp
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.nezha.api import (
    MonitorsSnapshot,
    NezhaError,
    NezhaV0Client,
    Server,
    ServersSnapshot,
)
from custom_components.nezha.api.parsing import MAX_POINT_MILLIS, MIN_POINT_MILLIS
from nezha_simulator import NezhaWorld, dumps

from .test_api import SECRET, RawDashboard

pytestmark = pytest.mark.usefixtures("socket_enabled")

SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
UINT64 = 2**64
BIG = "__BIG_NUMBER__"
"""A placeholder for a number literal too big for a float (``1e400`` reads as infinity)."""
SIGNED_INT_FIELDS = {"display_index"}

DATE_HEADERS = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    st.sampled_from(
        [
            "Mon, 01 Jan 0001 00:00:00 +2359",  # before year 1 in UTC
            "Fri, 31 Dec 9999 23:59:59 -2359",  # after year 9999 in UTC
            "Thu, 26 Nov 2025 12:00:00 GMT",
            "Wed, 99 Foo 2025 99:99:99 GMT",
            "0",
            "",
        ]
    ),
)
JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.just(SECRET),
    st.just(BIG),
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
HOSTILE = st.one_of(
    JSON_LEAVES,
    st.sampled_from([-1, 0, UINT64 - 1, UINT64, 2**63, -(2**63), 1e308, -1e308, 1.5, "12", "∞"]),
    st.lists(JSON_LEAVES, max_size=3),
    st.dictionaries(st.text(max_size=4), JSON_LEAVES, max_size=2),
)
DELETE = object()


def encode(value: Any) -> bytes:
    """JSON as Python writes it (``NaN``/``Infinity`` included), with huge number literals."""
    return json.dumps(value, ensure_ascii=False).replace(f'"{BIG}"', "1e400").encode()


def real_envelope() -> dict[str, Any]:
    """A ``/server/details`` body of three real-shaped servers, as the Go encoder writes it."""
    world = NezhaWorld(seed=1, now=1_764_158_400.0)
    world.add_server("gpu-box", gpu_names=["RTX"], temperatures=[("cpu", 47.0)], cpu=42.5)
    world.add_server("vps")
    world.add_server("never", reported=False)
    items = [world.status_response(server, with_display=True) for server in world.servers.values()]
    return json.loads(dumps({"code": 0, "message": "success", "result": items}))


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``value`` (dict keys and list indexes)."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(paths(item, (*prefix, index)))
    return found


ENVELOPE = real_envelope()
ENVELOPE_PATHS = paths(ENVELOPE)


def mutate(envelope: dict[str, Any], mutations: list[tuple[tuple[Any, ...], Any]]) -> Any:
    """Apply ``(path, value)`` replacements (``DELETE`` removes the field) to a copy."""
    body = copy.deepcopy(envelope)
    for path, value in mutations:
        parent: Any = body
        try:
            for step in path[:-1]:
                parent = parent[step]
            if value is DELETE:
                del parent[path[-1]]
            else:
                parent[path[-1]] = value
        except KeyError, IndexError, TypeError:
            continue  # an earlier mutation removed or replaced the way there
    return body


MUTATIONS = st.lists(
    st.tuples(st.sampled_from(ENVELOPE_PATHS), st.one_of(HOSTILE, st.just(DELETE))),
    min_size=1,
    max_size=6,
)


def run_examples(test: Callable[[], None]) -> None:
    """Run a Hypothesis test in a thread of its own (each example makes its own event loop)."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            test()
        except BaseException as err:  # handed back to the test's thread
            failure.append(err)

    thread = threading.Thread(target=target, name="hypothesis-examples")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


async def fetch(
    body: bytes, date: str | None, call: Callable[[NezhaV0Client], Coroutine[Any, Any, Any]]
) -> Any:
    """Serve ``body`` (with ``date`` as the ``Date`` header) and return what the client makes of it."""
    headers = [("Content-Type", "application/json; charset=utf-8")]
    if date is not None:
        headers.append(("Date", date))
    async with RawDashboard(body, headers=headers) as dashboard, aiohttp.ClientSession() as http:
        client = NezhaV0Client(http, dashboard.url, SECRET, timeout=5)
        try:
            return await call(client)
        except NezhaError as err:
            for text in (str(err), repr(err), str(err.args)):
                assert SECRET not in text
            return err


def assert_measurements(value: Any) -> None:
    """Every number in a model is one a measurement can be; every time is aware."""
    for item in dataclasses.fields(value):
        field_value = getattr(value, item.name)
        if dataclasses.is_dataclass(field_value):
            assert_measurements(field_value)
        elif isinstance(field_value, tuple):
            for element in field_value:
                if dataclasses.is_dataclass(element):
                    assert_measurements(element)
                else:
                    assert isinstance(element, str) or math.isfinite(element)
        elif isinstance(field_value, bool):
            continue
        elif isinstance(field_value, int):
            assert item.name in SIGNED_INT_FIELDS or 0 <= field_value < UINT64, item.name
        elif isinstance(field_value, float):
            assert math.isfinite(field_value), item.name
        elif isinstance(field_value, datetime):
            assert field_value.tzinfo is not None
        else:
            assert field_value is None or isinstance(field_value, str), item.name


def assert_servers(result: Any) -> None:
    """Well-formed servers or one of the package's errors."""
    if isinstance(result, NezhaError):
        return
    assert isinstance(result, ServersSnapshot)
    assert result.dashboard_time is None or result.dashboard_time.tzinfo is not None
    for server_id, server in result.servers.items():
        assert isinstance(server, Server)
        assert server.id == server_id
        assert server.name
        assert_measurements(server)


def test_any_json_value_is_a_model_or_our_error() -> None:
    """Any JSON value, any Date header, from both endpoints."""

    @SETTINGS
    @given(value=JSON_VALUES, date=DATE_HEADERS)
    def check(value: Any, date: str | None) -> None:
        body = encode(value)
        assert_servers(asyncio.run(fetch(body, date, lambda c: c.async_get_servers())))
        monitors = asyncio.run(fetch(body, date, lambda c: c.async_get_monitors(1)))
        assert isinstance(monitors, MonitorsSnapshot | NezhaError)

    run_examples(check)


def test_a_mutated_real_envelope_is_a_model_or_our_error() -> None:
    """Fields deleted, null, of the wrong type, huge, negative, NaN, unicode, duplicated ids."""

    @SETTINGS
    @given(mutations=MUTATIONS, duplicate=st.booleans(), date=DATE_HEADERS)
    def check(
        mutations: list[tuple[tuple[Any, ...], Any]], duplicate: bool, date: str | None
    ) -> None:
        body = mutate(ENVELOPE, mutations)
        if duplicate and isinstance(body.get("result"), list) and body["result"]:
            body["result"].append(copy.deepcopy(body["result"][0]))
        assert_servers(asyncio.run(fetch(encode(body), date, lambda c: c.async_get_servers())))

    run_examples(check)


BYTE_COUNTS = {"MemUsed": "mem_used", "DiskUsed": "disk_used", "NetInTransfer": "net_in_transfer"}
FLOATS = {"CPU": "cpu", "Load1": "load_1"}


def test_numbers_that_cant_be_measurements_are_unknown() -> None:
    """A negative, fractional, non-finite or oversized byte count, a non-finite float: None."""

    @SETTINGS
    @given(
        case=st.one_of(
            st.tuples(
                st.sampled_from(sorted(BYTE_COUNTS)),
                st.sampled_from([-1, -0.5, 0.5, UINT64, 2**70, float("nan"), float("inf"), BIG]),
            ),
            st.tuples(
                st.sampled_from(sorted(FLOATS)),
                st.sampled_from([float("nan"), float("inf"), float("-inf"), BIG, 2**1100]),
            ),
        )
    )
    def check(case: tuple[str, Any]) -> None:
        field, value = case
        body = mutate(ENVELOPE, [(("result", 0, "status", field), value)])
        result = asyncio.run(fetch(encode(body), None, lambda c: c.async_get_servers()))
        assert isinstance(result, ServersSnapshot)
        attribute = BYTE_COUNTS.get(field) or FLOATS[field]
        assert getattr(result.servers[1].status, attribute) is None

    run_examples(check)


def test_a_date_header_that_cant_be_a_time_is_ignored() -> None:
    """The dashboard's clock is None, never an error, for any Date header."""

    @SETTINGS
    @given(date=DATE_HEADERS)
    def check(date: str | None) -> None:
        result = asyncio.run(fetch(encode(ENVELOPE), date, lambda c: c.async_get_servers()))
        assert isinstance(result, ServersSnapshot)
        assert len(result.servers) == 3
        assert result.dashboard_time is None or result.dashboard_time.tzinfo is not None

    run_examples(check)


SERIES_ITEMS = st.one_of(
    st.integers(min_value=1_700_000_000_000, max_value=1_800_000_000_000),
    st.integers(min_value=-2000, max_value=2000),  # around the epoch: 0 s is "never"
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(),
    st.booleans(),
    st.text(max_size=3),
)


def usable_by_hand(times: list[Any], delays: list[Any]) -> list[tuple[int, float]]:
    """The usable points, the slow and obvious way (models.Monitor.point_count).

    A negative delay counts: like 0 ms it is a failed round, on every generation.
    """
    usable = []
    for millis, delay in zip(times, delays, strict=False):
        if type(millis) is not int or not MIN_POINT_MILLIS <= millis <= MAX_POINT_MILLIS:
            continue
        if isinstance(delay, bool) or not isinstance(delay, int | float):
            continue
        if not math.isfinite(delay):
            continue
        usable.append((millis, float(delay)))
    return usable


def newest_by_hand(times: list[Any], delays: list[Any]) -> tuple[int, float] | None:
    """The newest usable point (ties: the later one)."""
    best = None
    for point in usable_by_hand(times, delays):
        if best is None or point[0] >= best[0]:
            best = point
    return best


def test_a_monitor_series_gives_its_newest_usable_point() -> None:
    """Sorted or not, with bad items or not: the newest usable point and how many are usable."""

    @SETTINGS
    @given(
        times=st.lists(SERIES_ITEMS, max_size=12),
        delays=st.lists(SERIES_ITEMS, max_size=12),
        sort=st.booleans(),
    )
    def check(times: list[Any], delays: list[Any], sort: bool) -> None:
        if sort and all(type(t) is int for t in times):
            times = sorted(times)
        body = {
            "code": 0,
            "message": "success",
            "result": [
                {"monitor_id": 7, "monitor_name": "m", "created_at": times, "avg_delay": delays}
            ],
        }
        result = asyncio.run(fetch(encode(body), None, lambda c: c.async_get_monitors(1)))
        assert isinstance(result, MonitorsSnapshot)
        monitor = result.monitors[7]
        sent_times, sent_delays = json.loads(encode(times)), json.loads(encode(delays))
        assert monitor.point_count == len(usable_by_hand(sent_times, sent_delays))
        expected = newest_by_hand(sent_times, sent_delays)
        if expected is None:
            assert monitor.latest is None
        else:
            assert monitor.latest is not None
            assert monitor.latest.time.timestamp() == expected[0] // 1000
            assert monitor.latest.latency_ms == expected[1]

    run_examples(check)
