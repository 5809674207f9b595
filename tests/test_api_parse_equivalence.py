"""The faster server parsers read every input exactly as the careful ones before them did.

The parsers of a server list run for every server of every poll and stream frame, so they take a
fast path for well-typed fields (``api/parsing.py``, ``api/v0.py``, ``api/v1_parse.py``). The readers as they were before (main at 5703f24) are kept
below, only here, as the reference: hypothesis feeds both real-shaped servers (from the recorded
real answers) with fields dropped or replaced by hostile values (wrong types, NaN, infinity,
huge and negative integers, booleans, times out of UTC's range) and requires the same result,
down to its ``repr`` (so ``0`` and ``0.0`` differ).
"""

from __future__ import annotations

from collections.abc import Mapping
import copy
from datetime import UTC, datetime, timedelta, timezone
import json
import math
from types import MappingProxyType
from typing import Any

from hypothesis import given, settings, strategies as st

from custom_components.nezha.api import parsing, v0, v1_parse
from custom_components.nezha.api.models import (
    Host,
    Server,
    Status,
    Temperature,
)
from custom_components.nezha.api.parsing import has_report, in_utc_range, unix_seconds
from custom_components.nezha.api.stream import decode_frame

from .real_answers import FIXTURES

UINT64_LIMIT = 2**64


# --- The reference: the readers before they were made faster (unchanged helpers are imported) ---


def old_mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def old_whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def old_uint64(value: Any) -> int | None:
    whole = old_whole(value)
    return whole if whole is not None and 0 <= whole < UINT64_LIMIT else None


def old_integer(data: Mapping[str, Any], key: str) -> int | None:
    return old_whole(data.get(key))


def old_unsigned(data: Mapping[str, Any], key: str) -> int | None:
    return old_uint64(data.get(key))


def old_finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        result = float(value)
    except OverflowError:
        return None
    return result if math.isfinite(result) else None


def old_number(data: Mapping[str, Any], key: str) -> float | None:
    return old_finite(data.get(key))


def old_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def old_text_tuple(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key)
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str) and item)


def old_unsigned_tuple(data: Mapping[str, Any], key: str) -> tuple[int, ...]:
    value = data.get(key)
    if not isinstance(value, list):
        return ()
    return tuple(whole for item in value if (whole := old_uint64(item)) is not None)


def old_number_tuple(data: Mapping[str, Any], key: str) -> tuple[float, ...]:
    value = data.get(key)
    if not isinstance(value, list):
        return ()
    return tuple(number for item in value if (number := old_finite(item)) is not None)


def old_rfc3339(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value or value.startswith("0001-01-01"):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None and in_utc_range(parsed) else None


def old_omitted_as(data: Mapping[str, Any], key: str, read: Any, zero: Any) -> Any:
    return zero if key not in data else read(data, key)


def old_temperatures(value: Any) -> tuple[Temperature, ...]:
    if not isinstance(value, list):
        return ()
    sensors = []
    for item in value:
        if isinstance(item, Mapping) and (celsius := old_number(item, "Temperature")) is not None:
            sensors.append(Temperature(name=old_text(item, "Name") or "", celsius=celsius))
    return tuple(sensors)


def old_v0_server(item: Mapping[str, Any]) -> Server | None:
    server_id = old_unsigned(item, "id")
    if server_id is None:
        return None
    seconds = old_integer(item, "last_active")
    last_active = unix_seconds(seconds)
    host_data, status_data = old_mapping(item, "host"), old_mapping(item, "status")
    reported = has_report(status_data)
    host = Host()
    if last_active or has_report(host_data):
        host = Host(
            platform=old_text(host_data, "Platform"),
            platform_version=old_text(host_data, "PlatformVersion"),
            cpu_models=old_text_tuple(host_data, "CPU"),
            mem_total=old_unsigned(host_data, "MemTotal"),
            disk_total=old_unsigned(host_data, "DiskTotal"),
            swap_total=old_unsigned(host_data, "SwapTotal"),
            arch=old_text(host_data, "Arch"),
            virtualization=old_text(host_data, "Virtualization"),
            boot_time=unix_seconds(old_integer(host_data, "BootTime")),
            country_code=old_text(host_data, "CountryCode"),
            agent_version=old_text(host_data, "Version"),
            gpu_models=old_text_tuple(host_data, "GPU"),
        )
    status = Status()
    if last_active or reported:
        gpu = old_number(status_data, "GPU")
        status = Status(
            cpu=old_number(status_data, "CPU"),
            mem_used=old_unsigned(status_data, "MemUsed"),
            swap_used=old_unsigned(status_data, "SwapUsed"),
            disk_used=old_unsigned(status_data, "DiskUsed"),
            net_in_transfer=old_unsigned(status_data, "NetInTransfer"),
            net_out_transfer=old_unsigned(status_data, "NetOutTransfer"),
            net_in_speed=old_unsigned(status_data, "NetInSpeed"),
            net_out_speed=old_unsigned(status_data, "NetOutSpeed"),
            uptime=old_unsigned(status_data, "Uptime"),
            load_1=old_number(status_data, "Load1"),
            load_5=old_number(status_data, "Load5"),
            load_15=old_number(status_data, "Load15"),
            tcp_connections=old_unsigned(status_data, "TcpConnCount"),
            udp_connections=old_unsigned(status_data, "UdpConnCount"),
            processes=old_unsigned(status_data, "ProcessCount"),
            temperatures=old_temperatures(status_data.get("Temperatures")),
            gpu_usage=(gpu,) if host.gpu_models and gpu is not None else (),
        )
    return Server(
        id=server_id,
        name=old_text(item, "name") or f"#{server_id}",
        tag=old_text(item, "tag") or "",
        last_active=last_active,
        disconnected=seconds is not None and seconds <= 0 and reported,
        ipv4=old_text(item, "ipv4"),
        ipv6=old_text(item, "ipv6"),
        display_index=old_integer(item, "display_index") or 0,
        host=host,
        status=status,
    )


def old_v1_status(data: Mapping[str, Any]) -> Status:
    def count(key: str) -> int | None:
        return old_omitted_as(data, key, old_unsigned, 0)

    def figure(key: str) -> float | None:
        return old_omitted_as(data, key, old_number, 0.0)

    return Status(
        cpu=figure("cpu"),
        mem_used=count("mem_used"),
        swap_used=count("swap_used"),
        disk_used=count("disk_used"),
        net_in_transfer=count("net_in_transfer"),
        net_out_transfer=count("net_out_transfer"),
        net_in_speed=count("net_in_speed"),
        net_out_speed=count("net_out_speed"),
        uptime=count("uptime"),
        load_1=figure("load_1"),
        load_5=figure("load_5"),
        load_15=figure("load_15"),
        tcp_connections=count("tcp_conn_count"),
        udp_connections=count("udp_conn_count"),
        processes=count("process_count"),
        temperatures=old_temperatures(data.get("temperatures")),
        gpu_usage=old_number_tuple(data, "gpu"),
    )


def old_v1_server(item: Mapping[str, Any]) -> Server | None:
    server_id = old_unsigned(item, "id")
    if server_id is None:
        return None
    last_active = old_rfc3339(item.get("last_active"))
    state = old_mapping(item, "state")
    zero_time = item.get("last_active")
    disconnected = (
        isinstance(zero_time, str) and zero_time.startswith("0001-01-01") and has_report(state)
    )
    geoip = old_mapping(item, "geoip")
    addresses = old_mapping(geoip, "ip")
    data = old_mapping(item, "host")
    return Server(
        id=server_id,
        name=old_text(item, "name") or f"#{server_id}",
        last_active=last_active,
        disconnected=disconnected,
        ipv4=old_text(addresses, "ipv4_addr"),
        ipv6=old_text(addresses, "ipv6_addr"),
        display_index=old_integer(item, "display_index") or 0,
        host=Host(
            platform=old_text(data, "platform"),
            platform_version=old_text(data, "platform_version"),
            cpu_models=old_text_tuple(data, "cpu"),
            mem_total=old_unsigned(data, "mem_total"),
            disk_total=old_unsigned(data, "disk_total"),
            swap_total=old_unsigned(data, "swap_total"),
            arch=old_text(data, "arch"),
            virtualization=old_text(data, "virtualization"),
            boot_time=unix_seconds(old_unsigned(data, "boot_time")),
            country_code=old_text(geoip, "country_code") or old_text(item, "country_code"),
            agent_version=old_text(data, "version"),
            gpu_models=old_text_tuple(data, "gpu"),
        ),
        status=old_v1_status(state) if last_active or disconnected else Status(),
        public_note=old_text(item, "public_note"),
    )


# --- Inputs: real servers with hostile parts ---------------------------------------------------


def recorded_server(version: str, answer: str) -> dict[str, Any]:
    """The first server of a recorded answer (a list's ``result``/``data``, a frame's servers)."""
    data = json.loads((FIXTURES / version / f"{answer}.json").read_text())
    if "frames" in data:
        return dict(data["frames"][0]["servers"][0])
    body = data["body"]
    return dict((body.get("result") or body.get("data"))[0])


V0_SERVER = recorded_server("v0.20.13", "server_details")
V0_SERVER["host"] = {**V0_SERVER["host"], "GPU": ["RTX 4090", ""], "CountryCode": "de"}
V0_SERVER["status"] = {
    **V0_SERVER["status"],
    "GPU": 12.5,
    "Temperatures": [{"Name": "cpu", "Temperature": 47.0}, {"Name": "x", "Temperature": None}],
}
V2_SERVER = recorded_server("v2.3.7", "server_pat")
V2_SERVER["host"] = {**V2_SERVER["host"], "gpu": ["RTX"], "swap_total": 1024}
V2_SERVER["state"] = {
    **V2_SERVER["state"],
    "gpu": [12.5, 0, "x"],
    "temperatures": [{"Name": "cpu", "Temperature": 47}],
}
V2_SERVER["geoip"] = {**V2_SERVER["geoip"], "country_code": "jp"}
V1_SERVER = recorded_server("v1.14.14", "server_jwt")
FRAME_SERVER = recorded_server("v2.3.7", "ws_server_pat")

OFFSETS = st.timedeltas(min_value=-timedelta(hours=23, minutes=59), max_value=timedelta(hours=23))
TIMES = st.builds(
    lambda moment, offset: moment.replace(tzinfo=timezone(offset)).isoformat(),
    st.datetimes(),
    OFFSETS,
) | st.sampled_from(
    (
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+14:00",
        "0001-01-02T00:00:00+23:59",
        "0002-01-01T00:00:00+23:59",
        "9998-12-31T23:59:59-23:59",
        "9999-12-31T23:59:59-23:59",
        "9999-12-31T00:00:00+01:00",
        "2026-12-06T23:58:25.465786395+08:00",
        "2026-12-06T23:58:25",
        "2026-13-45T99:00:00Z",
    )
)
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from((0, -1, 1, UINT64_LIMIT - 1, UINT64_LIMIT, 2**63, -(2**63), 2**1100)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from((0.0, -0.0, 1.0, 1e308, -1e308, 2.0**64, 2.0**63, 5e-324, 12.5)),
    st.sampled_from((math.nan, math.inf, -math.inf)),
    st.text(max_size=8),
    TIMES,
)
HOSTILE = st.one_of(
    LEAVES,
    st.lists(LEAVES, max_size=3),
    st.dictionaries(st.sampled_from(("Name", "Temperature", "ip", "x")), LEAVES, max_size=2),
)


@st.composite
def mutated(draw: st.DrawFn, value: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """``value`` with each field kept, dropped, replaced by a hostile value or (objects) mutated."""
    result: dict[str, Any] = {}
    for key, item in value.items():
        action = draw(st.sampled_from(("keep", "keep", "drop", "hostile", "mutate")))
        if action == "keep":
            result[key] = copy.deepcopy(item)
        elif action == "hostile":
            result[key] = draw(HOSTILE)
        elif action == "mutate" and isinstance(item, dict) and depth < 3:
            result[key] = draw(mutated(item, depth + 1))
        elif action == "mutate" and isinstance(item, list):
            result[key] = [draw(st.one_of(st.just(part), LEAVES)) for part in item]
        elif action == "mutate":
            result[key] = draw(HOSTILE)
    return result


def same(new: Any, old: Any) -> None:
    """Equal, and of the same types down to each field (``repr`` tells ``0`` from ``0.0``)."""
    assert new == old
    assert repr(new) == repr(old)


@settings(max_examples=300, deadline=None)
@given(mutated(V0_SERVER))
def test_v0_server_reads_as_before(item: dict[str, Any]) -> None:
    """A 0.x ``/server/details`` item, hostile parts and all, reads as it did."""
    same(v0._parse_server(item), old_v0_server(item))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from((V2_SERVER, V1_SERVER, FRAME_SERVER)).flatmap(mutated))
def test_v1_server_reads_as_before(item: dict[str, Any]) -> None:
    """A 1.x/2.x ``/server`` item or a frame's server reads as it did."""
    same(v1_parse.parse_server(item), old_v1_server(item))


@settings(max_examples=100, deadline=None)
@given(st.lists(mutated(FRAME_SERVER), max_size=4), st.integers(0, 2**64 - 1) | HOSTILE)
def test_frame_reads_as_before(items: list[dict[str, Any]], now: Any) -> None:
    """A frame keeps the servers it kept, with the same last reports and parsed servers."""
    text = json.dumps({"now": now, "servers": items})
    frame = decode_frame(text)
    sent = json.loads(text, parse_constant=lambda _: None)["servers"]  # NaN arrives as unknown
    kept = {
        server_id: item
        for item in sent
        if isinstance(item, Mapping) and (server_id := old_unsigned(item, "id")) is not None
    }
    assert list(frame.server_ids) == list(kept)
    for server_id, item in kept.items():
        same(frame.last_active(server_id), old_rfc3339(item.get("last_active")))
        same(frame.server(server_id), old_v1_server(item))


@settings(max_examples=300, deadline=None)
@given(HOSTILE | TIMES)
def test_field_readers_read_as_before(value: Any) -> None:
    """Each single-field reader, on any value and on a missing key, answers as before."""
    for data in ({"k": value}, {}):
        same(parsing.mapping(data, "k"), old_mapping(data, "k"))
        same(parsing.integer(data, "k"), old_integer(data, "k"))
        same(parsing.unsigned(data, "k"), old_unsigned(data, "k"))
        same(parsing.number(data, "k"), old_number(data, "k"))
        same(parsing.text_tuple(data, "k"), old_text_tuple(data, "k"))
        same(parsing.unsigned_tuple(data, "k"), old_unsigned_tuple(data, "k"))
        same(parsing.number_tuple(data, "k"), old_number_tuple(data, "k"))
        same(parsing.unsigned_or_zero(data, "k"), old_omitted_as(data, "k", old_unsigned, 0))
        same(parsing.number_or_zero(data, "k"), old_omitted_as(data, "k", old_number, 0.0))
    same(parsing.rfc3339(value), old_rfc3339(value))


def test_edge_inputs_read_as_before() -> None:
    """An object of another mapping type, and times at the ends of what UTC holds (where the
    fast year check must agree with the conversion)."""
    other = {"k": MappingProxyType({"a": 1})}
    same(parsing.mapping(other, "k"), old_mapping(other, "k"))
    for text in (
        "0001-01-01T23:00:00+23:00",
        "0001-01-02T00:00:00+23:59",
        "0002-01-01T00:00:00+23:59",
        "9998-12-31T23:59:59-23:59",
        "9999-12-31T00:00:00-23:59",
        "9999-12-31T00:00:00+00:00",
    ):
        same(parsing.rfc3339(text), old_rfc3339(text))
    assert parsing.rfc3339("0001-01-02T00:00:00+23:59") == datetime(1, 1, 1, 0, 1, tzinfo=UTC)
    assert parsing.rfc3339("9999-12-31T00:01:00-23:59") is None
