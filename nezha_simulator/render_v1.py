"""The 1.x/2.x JSON of the world (NEZHA_API.md B.3/B.5, NEZHA_API_DELTA.md §3-4).

Go encoding rules kept here: ``omitempty`` fields are left out when zero and the others always
sent; ``time.Time`` is a struct, so ``omitempty`` never drops it and a zero time is
``0001-01-01T00:00:00Z``; times are RFC 3339 with nanoseconds (trailing zeros dropped) in the
zone of the value; Go maps keyed by ids are written with their keys sorted as strings.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
import uuid

from .cycles import next_update_delay
from .gojson import Float32, GoJSON
from .model import SimHost, SimMonitor, SimServer, SimStatus
from .services import DAYS, CycleState, ServiceStats, ServiceWorld

ZERO_TIME = "0001-01-01T00:00:00Z"
V1_VERSION = "1.14.14"
V2_VERSION = "2.3.7"


def format_datetime(moment: datetime, *, nano: bool = True) -> str:
    """Go ``time.RFC3339Nano`` (or ``RFC3339`` without ``nano``) of an aware datetime."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if nano and moment.microsecond:
        text += "." + f"{moment.microsecond:06d}".rstrip("0")
    offset = moment.utcoffset() or timedelta(0)
    if not offset:
        return text + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def format_time(at: float | None, utc_offset: int, *, nano: bool = True) -> str:
    """Unix seconds as Go writes a ``time.Time`` in the dashboard's zone; ``None`` = zero."""
    if at is None:
        return ZERO_TIME
    micros = round(at * 1_000_000)
    zone = timezone(timedelta(seconds=utc_offset))
    moment = datetime.fromtimestamp(micros // 1_000_000, zone)
    return format_datetime(moment.replace(microsecond=micros % 1_000_000), nano=nano)


def _omit(pairs: Iterable[tuple[str, GoJSON]]) -> dict[str, GoJSON]:
    """Keep the pairs whose value is not Go's zero (every field here is ``omitempty``)."""
    return {key: value for key, value in pairs if value not in (0, "", None, [], {}, False)}


def id_map(values: Mapping[int, GoJSON]) -> dict[str, GoJSON]:
    """A Go ``map[uint64]T``: keys as strings, sorted as strings."""
    return {key: values[int(key)] for key in sorted(str(item) for item in values)}


def host_json(host: SimHost, *, filtered: bool = False) -> dict[str, GoJSON]:
    """``model.Host``; ``filtered`` is ``Host.Filter()`` (no platform_version, no version)."""
    return _omit(
        [
            ("platform", host.platform),
            ("platform_version", "" if filtered else host.platform_version),
            ("cpu", list(host.cpu_names)),
            ("mem_total", host.mem_total),
            ("disk_total", host.disk_total),
            ("swap_total", host.swap_total),
            ("arch", host.arch),
            ("virtualization", host.virtualization),
            ("boot_time", host.boot_time),
            ("version", "" if filtered else host.agent_version),
            ("gpu", list(host.gpu_names)),
        ]
    )


def state_json(status: SimStatus, host: SimHost) -> dict[str, GoJSON]:
    """``model.HostState``: ``gpu`` is one percentage per GPU; temperatures keep PascalCase."""
    temperatures: list[GoJSON] = [
        {"Name": name, "Temperature": value} for name, value in status.temperatures
    ]
    gpu: list[GoJSON] = [status.gpu for _ in host.gpu_names]
    return _omit(
        [
            ("cpu", status.cpu),
            ("mem_used", status.mem_used),
            ("swap_used", status.swap_used),
            ("disk_used", status.disk_used),
            ("net_in_transfer", status.net_in_transfer),
            ("net_out_transfer", status.net_out_transfer),
            ("net_in_speed", status.net_in_speed),
            ("net_out_speed", status.net_out_speed),
            ("uptime", status.uptime),
            ("load_1", status.load1),
            ("load_5", status.load5),
            ("load_15", status.load15),
            ("tcp_conn_count", status.tcp_conn_count),
            ("udp_conn_count", status.udp_conn_count),
            ("process_count", status.process_count),
            ("temperatures", temperatures),
            ("gpu", gpu),
        ]
    )


def server_uuid(server: SimServer) -> str:
    """A stable agent UUID for the server."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"nezha-simulator/server/{server.id}"))


def server_json(world: ServiceWorld, server: SimServer, *, v2: bool) -> dict[str, GoJSON]:
    """One ``GET /server`` item (``model.Server``); v2.0.13+ appends ``owner``."""
    created = format_time(world.created, world.utc_offset)
    item: dict[str, GoJSON] = {"id": server.id, "created_at": created, "updated_at": created}
    item["name"] = server.name
    item |= _omit(
        [("uuid", server_uuid(server)), ("note", server.note), ("public_note", server.public_note)]
    )
    item["display_index"] = server.display_index
    item |= _omit([("hide_for_guest", server.hide_for_guest)])
    host, status, seen = world.view(server, zero_when_closed=v2)
    item["host"] = host_json(host)
    item["state"] = state_json(status, host)
    ip = _omit([("ipv4_addr", host.ipv4), ("ipv6_addr", host.ipv6)])
    item["geoip"] = {"ip": ip} | _omit([("country_code", host.country_code)])
    item["last_active"] = format_time(seen, world.utc_offset)
    if v2:
        owner = world.users.get(server.owner_id)
        # ``username`` is omitempty: a server an agent registered (owner 0) shows ``{"id": 0}``.
        item["owner"] = {"id": server.owner_id} | _omit(
            [("username", owner.username if owner else "")]
        )
    return item


def stream_server_json(
    world: ServiceWorld, server: SimServer, *, filtered: bool, with_note: bool, v2: bool
) -> dict[str, GoJSON]:
    """One ``StreamServer`` of a websocket frame (everything ``omitempty``)."""
    item = _omit(
        [
            ("id", server.id),
            ("name", server.name),
            ("public_note", server.public_note if with_note else ""),
            ("display_index", server.display_index),
        ]
    )
    host, status, seen = world.view(server, zero_when_closed=v2)
    item["host"] = host_json(host, filtered=filtered)
    item["state"] = state_json(status, host)
    item |= _omit([("country_code", host.country_code)])
    item["last_active"] = format_time(seen, world.utc_offset)
    return item


def service_item(monitor: SimMonitor, stats: ServiceStats, *, v2: bool) -> dict[str, GoJSON]:
    """``ServiceResponseItem``: counts always sent; delay float32 in 1.x, float64 in 2.x."""
    delay: list[GoJSON] = [value if v2 else Float32(value) for value in stats.delay]
    item = _omit([("service_name", monitor.name)])
    item |= {
        "current_up": stats.current_up,
        "current_down": stats.current_down,
        "total_up": sum(stats.up),
        "total_down": sum(stats.down),
        "delay": delay,
        "up": list[GoJSON](stats.up),
        "down": list[GoJSON](stats.down),
    }
    assert len(delay) == DAYS
    return item


def cycle_json(
    world: ServiceWorld, state: CycleState, server_ids: Iterable[int]
) -> dict[str, GoJSON]:
    """``CycleTransferStats`` restricted to ``server_ids`` (the viewer's servers)."""
    names: dict[int, GoJSON] = {}
    transfer: dict[int, GoJSON] = {}
    updates: dict[int, GoJSON] = {}
    for server_id in server_ids:
        used = state.transfer[server_id]
        names[server_id] = world.server(server_id).name
        transfer[server_id] = used
        delay = next_update_delay(used, state.max_bytes)
        updates[server_id] = format_time(world.now + delay, world.utc_offset)
    stats: dict[str, GoJSON] = {
        "name": state.name,
        "from": format_datetime(state.begin),
        "to": format_datetime(state.end),
        "max": state.max_bytes,
        "min": state.min_bytes,
    }
    return stats | _omit(
        [
            ("server_name", id_map(names)),
            ("transfer", id_map(transfer)),
            ("next_update", id_map(updates)),
        ]
    )


def alert_rule_json(world: ServiceWorld, state_id: int) -> dict[str, GoJSON]:
    """One ``GET /alert-rule`` item (``model.AlertRule`` with its ``rules``)."""
    alert = world.alert_rules[state_id]
    created = format_time(world.created, world.utc_offset)
    rules: list[GoJSON] = []
    for rule in alert.rules:
        item: dict[str, GoJSON] = {"type": rule.kind}
        item |= _omit([("min", float(rule.min_bytes)), ("max", float(rule.max_bytes))])
        item["cycle_start"] = format_datetime(rule.cycle_start)
        item["cycle_interval"] = rule.cycle_interval
        item["cycle_unit"] = rule.cycle_unit
        item["cover"] = 0 if rule.server_ids is None else 1
        ignore: dict[int, GoJSON] = dict.fromkeys(rule.server_ids or (), True)
        item |= _omit([("ignore", id_map(ignore))])
        rules.append(item)
    return {
        "id": alert.id,
        "created_at": created,
        "updated_at": created,
        "name": alert.name,
        "enable": alert.enabled,
        "trigger_mode": 0,
        "notification_group_id": 0,
        "rules": rules,
        "fail_trigger_tasks": [],
        "recover_trigger_tasks": [],
    }
