"""The servers' data an entry holds, and how a poll or a frame of the live stream changes it."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .const import STALE_AFTER_POLLS

if TYPE_CHECKING:
    from .api import Server, StreamFrame


def track_presence[IdT](
    previous_absent: dict[IdT, int], previous_ids: Collection[IdT], current_ids: Collection[IdT]
) -> tuple[dict[IdT, int], set[IdT]]:
    """Count consecutive successful polls each known id has been missing from.

    Returns the ids still missing (with their count) and those missing long enough to remove.
    """
    absent: dict[IdT, int] = {}
    gone: set[IdT] = set()
    for missing_id in (set(previous_ids) | previous_absent.keys()) - set(current_ids):
        count = previous_absent.get(missing_id, 0) + 1
        if count >= STALE_AFTER_POLLS:
            gone.add(missing_id)
        else:
            absent[missing_id] = count
    return absent, gone


def online_ids(
    servers: Mapping[int, Server], dashboard_time: datetime, threshold: timedelta
) -> frozenset[int]:
    """The servers whose agent reported within ``threshold``, by the dashboard's clock."""
    return frozenset(
        server_id
        for server_id, server in servers.items()
        if server.last_active is not None and dashboard_time - server.last_active <= threshold
    )


@dataclass(frozen=True, slots=True)
class ServersData:
    """The servers in scope after a successful poll (and the frames since)."""

    servers: dict[int, Server]
    """Servers the dashboard reported in this poll, by id."""
    absent: dict[int, int]
    """Servers we still track that the last polls did not report: id -> polls missing."""
    dashboard_time: datetime
    """The dashboard's clock at this poll or frame (HA's clock when it sent none)."""
    online: frozenset[int] = frozenset()
    """The reported servers whose agent reported within the online threshold, by that clock."""

    @property
    def tracked_ids(self) -> set[int]:
        """Every server that still has a device (a new set: call it once per poll, not per item)."""
        return self.servers.keys() | self.absent.keys()


def apply_frame(
    data: ServersData,
    frame: StreamFrame,
    listed: Mapping[int, Server],
    compared: dict[int, datetime],
    *,
    now: datetime,
    window: timedelta,
    threshold: timedelta,
) -> tuple[ServersData, set[int]]:
    """``data`` after one frame, and the servers whose entities must hear of it.

    Only servers of the last list (``listed``) are taken: a member's stream also carries other
    users' public servers. What frames lack comes from what is held: the IPs, and the note after
    a connection's first frame.

    A server whose online state the frame changes is told at once. Any other server is compared
    (parsed, and told if it changed) at most once per ``window`` (``compared`` says when it last
    was, and is updated): so a metric entity writes at most once per ``scan_interval``, and a
    change inside the window reaches it with the first frame after the window, with the latest
    value. Most servers of most frames are only checked for their last report: a frame of 1,000
    servers comes every 2 s.
    """
    dashboard_time = frame.dashboard_time or now
    in_frame = frame.server_ids & listed.keys()
    online = set(data.online - in_frame)
    updated: dict[int, Server] = {}
    tell: set[int] = set()
    for server_id in in_frame:
        last_active = frame.last_active(server_id)
        is_online = last_active is not None and dashboard_time - last_active <= threshold
        if is_online:
            online.add(server_id)
        online_changed = is_online != (server_id in data.online)
        last = compared.get(server_id)
        if not online_changed and last is not None and now - last < window:
            continue
        compared[server_id] = now
        held = data.servers.get(server_id) or listed[server_id]
        streamed = frame.server(server_id)
        server = replace(
            streamed,
            tag=held.tag,
            ipv4=held.ipv4,
            ipv6=held.ipv6,
            public_note=streamed.public_note or held.public_note,
        )
        if online_changed or server != data.servers.get(server_id):
            updated[server_id] = server
            tell.add(server_id)
    merged = ServersData(
        servers={**data.servers, **updated} if updated else data.servers,
        absent=data.absent,
        dashboard_time=dashboard_time,
        online=frozenset(online),
    )
    return merged, tell
