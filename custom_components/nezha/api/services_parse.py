"""Nezha 1.x/2.x ``GET /service`` and ``GET /alert-rule`` bodies into models (DELTA §4).

``/service`` carries each monitor's 30-day summary and ``cycle_transfer_stats``: one entry per
alert rule with a traffic-cycle rule, keyed by the alert-rule id, with the bytes each visible
server used this cycle. Dashboards up to v2.3.7 send ``from``/``to``/``max``/``min`` once per rule;
a newer theme also reads them as per-server maps, so both are accepted. What the bytes count (in,
out or both) is only in ``/alert-rule``. An item or field of the wrong type is dropped or unknown.
"""

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, Final

from .errors import NezhaResponseError
from .models import AlertRule, CycleUsage, ServicesSnapshot, ServiceStats, TrafficCycle
from .parsing import UINT64_LIMIT, as_unsigned, finite, mapping, objects, rfc3339, text, unsigned

TODAY: Final = 29
"""Index of today in the 30 daily values of a service."""

CYCLE_DIRECTIONS: Final = {
    "transfer_in_cycle": "in",
    "transfer_out_cycle": "out",
    "transfer_all_cycle": "both",
}


def parse_services(data: Any, dashboard_time: datetime | None) -> ServicesSnapshot:
    """The ``data`` of a ``/service`` answer (``null``: no monitors and no cycles)."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise NezhaResponseError(f"data is {type(data).__name__}, not an object")
    services = {
        monitor_id: _service(monitor_id, item) for monitor_id, item in _by_id(data, "services")
    }
    cycles = {
        rule_id: _cycle(rule_id, item) for rule_id, item in _by_id(data, "cycle_transfer_stats")
    }
    return ServicesSnapshot(services=services, cycles=cycles, dashboard_time=dashboard_time)


def parse_alert_rules(data: Any) -> dict[int, AlertRule]:
    """The ``data`` of a ``/alert-rule`` answer: every rule with a usable id, by id."""
    rules: dict[int, AlertRule] = {}
    for item in objects(data):
        if (rule_id := unsigned(item, "id")) is None:
            continue
        conditions = item.get("rules")
        directions = tuple(
            CYCLE_DIRECTIONS[kind]
            for condition in (conditions if isinstance(conditions, list) else ())
            if isinstance(condition, Mapping)
            and isinstance(kind := condition.get("type"), str)
            and kind in CYCLE_DIRECTIONS
        )
        rules[rule_id] = AlertRule(
            id=rule_id, name=text(item, "name") or f"#{rule_id}", cycle_directions=directions
        )
    return dict(sorted(rules.items()))


def _by_id(data: Mapping[str, Any], key: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """The objects of a Go ``map[uint64]…`` (decimal string keys), by id."""
    for item_id, item in sorted(_id_map(mapping(data, key)).items()):
        if isinstance(item, Mapping):
            yield item_id, item


def _id_map(data: Mapping[str, Any]) -> dict[int, Any]:
    """A Go ``map[uint64]T`` in JSON: keys that are not decimal ids are dropped."""
    result: dict[int, Any] = {}
    for key, value in data.items():
        if isinstance(key, str) and key.isascii() and key.isdecimal():
            item_id = int(key)
            if item_id < UINT64_LIMIT:
                result[item_id] = value
    return result


def _service(monitor_id: int, item: Mapping[str, Any]) -> ServiceStats:
    delays = item.get("delay")
    today = finite(delays[TODAY]) if isinstance(delays, list) and len(delays) > TODAY else None
    return ServiceStats(
        id=monitor_id,
        name=text(item, "service_name") or f"#{monitor_id}",
        current_up=unsigned(item, "current_up"),
        current_down=unsigned(item, "current_down"),
        total_up=unsigned(item, "total_up"),
        total_down=unsigned(item, "total_down"),
        delay_today=today if today is not None and today > 0 else None,
    )


def _cycle(rule_id: int, item: Mapping[str, Any]) -> TrafficCycle:
    def per_server[T](key: str, read: Callable[[Any], T | None]) -> Callable[[int], T | None]:
        """A field sent once for the rule, or as a map by server id (newer themes' reading)."""
        value = item.get(key)
        if isinstance(value, Mapping):
            by_server = _id_map(value)
            return lambda server_id: read(by_server.get(server_id))
        shared = read(value)
        return lambda _: shared

    quota = per_server("max", as_unsigned)
    start = per_server("from", rfc3339)
    end = per_server("to", rfc3339)
    next_update = _id_map(mapping(item, "next_update"))
    servers = {
        server_id: CycleUsage(
            server_id=server_id,
            used=used,
            quota=quota(server_id),
            start=start(server_id),
            end=end(server_id),
            next_update=rfc3339(next_update.get(server_id)),
        )
        for server_id, raw in sorted(_id_map(mapping(item, "transfer")).items())
        if (used := as_unsigned(raw)) is not None
    }
    return TrafficCycle(rule_id=rule_id, name=text(item, "name") or f"#{rule_id}", servers=servers)
