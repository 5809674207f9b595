"""Nezha 1.x/2.x bodies (the ``data`` of a success envelope) into the version-neutral models.

The wire format (NEZHA_API.md B.5, the same in 1.x and 2.x): snake_case keys, Go's ``omitempty``
everywhere (a 0 is left out), times in RFC 3339 with the dashboard's offset and
``0001-01-01T00:00:00Z`` for never, IPs and the country code under ``geoip``, one usage figure per
GPU. An item or field of the wrong type is dropped or unknown, never an exception.
"""

from collections.abc import Mapping
import logging
from typing import Any

from .models import Host, Server, Status
from .parsing import (
    has_report,
    integer,
    mapping,
    number_or_zero,
    number_tuple,
    rfc3339,
    temperatures,
    text,
    text_tuple,
    unix_seconds,
    unsigned,
    unsigned_or_zero,
    unsigned_tuple,
)

_LOGGER = logging.getLogger(__name__)


def is_2x_server(item: Mapping[str, Any]) -> bool:
    """Whether a ``GET /server`` item comes from 2.x: ``owner`` exists from v2.0.13 on."""
    return "owner" in item


def parse_server(item: Mapping[str, Any]) -> Server | None:
    """One ``GET /server`` item; ``None`` without a usable id."""
    server_id = unsigned(item, "id")
    if server_id is None:
        _LOGGER.debug("Skipping a server entry without a numeric id")
        return None
    reported_at = item.get("last_active")
    last_active = rfc3339(reported_at)
    state = mapping(item, "state")
    # 2.x zeroes the time of an agent whose connection closed, and keeps its last state; a
    # server never seen since the dashboard started has an empty one. (A zero time reads as
    # None: only then is it looked at.)
    disconnected = last_active is None and _is_zero_time(reported_at) and has_report(state)
    geoip = mapping(item, "geoip")
    addresses = mapping(geoip, "ip")
    # ``GET /server`` nests the country code under ``geoip``; stream frames have it at the top.
    country_code = text(geoip, "country_code") or text(item, "country_code")
    return Server(
        id=server_id,
        name=text(item, "name") or f"#{server_id}",
        last_active=last_active,
        disconnected=disconnected,
        ipv4=text(addresses, "ipv4_addr"),
        ipv6=text(addresses, "ipv6_addr"),
        display_index=integer(item, "display_index") or 0,
        host=_parse_host(mapping(item, "host"), country_code=country_code),
        # A server that never reported has an empty state: unknown, not zeros.
        status=_parse_status(state) if last_active or disconnected else Status(),
        public_note=text(item, "public_note"),
    )


def _is_zero_time(value: Any) -> bool:
    """Go's zero ``time.Time`` as JSON: "never", as opposed to a time left out or garbled."""
    return isinstance(value, str) and value.startswith("0001-01-01")


def _parse_host(data: Mapping[str, Any], *, country_code: str | None) -> Host:
    # Totals stay unknown when left out: a 0 there (no swap) and "not reported" look the same.
    return Host(
        platform=text(data, "platform"),
        platform_version=text(data, "platform_version"),
        cpu_models=text_tuple(data, "cpu"),
        mem_total=unsigned(data, "mem_total"),
        disk_total=unsigned(data, "disk_total"),
        swap_total=unsigned(data, "swap_total"),
        arch=text(data, "arch"),
        virtualization=text(data, "virtualization"),
        boot_time=unix_seconds(unsigned(data, "boot_time")),
        country_code=country_code,
        agent_version=text(data, "version"),
        gpu_models=text_tuple(data, "gpu"),
    )


def _parse_status(data: Mapping[str, Any]) -> Status:
    """The state of a server that has reported: every number left out is a 0."""

    count, figure = unsigned_or_zero, number_or_zero
    return Status(
        cpu=figure(data, "cpu"),
        mem_used=count(data, "mem_used"),
        swap_used=count(data, "swap_used"),
        disk_used=count(data, "disk_used"),
        net_in_transfer=count(data, "net_in_transfer"),
        net_out_transfer=count(data, "net_out_transfer"),
        net_in_speed=count(data, "net_in_speed"),
        net_out_speed=count(data, "net_out_speed"),
        uptime=count(data, "uptime"),
        load_1=figure(data, "load_1"),
        load_5=figure(data, "load_5"),
        load_15=figure(data, "load_15"),
        tcp_connections=count(data, "tcp_conn_count"),
        udp_connections=count(data, "udp_conn_count"),
        processes=count(data, "process_count"),
        temperatures=temperatures(data.get("temperatures")),
        gpu_usage=number_tuple(data, "gpu"),
    )


def parse_group(item: Mapping[str, Any]) -> tuple[int, str, frozenset[int]] | None:
    """One ``GET /server-group`` item: id, name and member server ids (``null`` = none)."""
    group = mapping(item, "group")
    group_id = unsigned(group, "id")
    if group_id is None:
        return None
    return (
        group_id,
        text(group, "name") or f"#{group_id}",
        frozenset(unsigned_tuple(item, "servers")),
    )
