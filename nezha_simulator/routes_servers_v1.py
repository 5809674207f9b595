"""The 1.x/2.x routes of servers, groups, the live stream and services.

Who sees what follows v1.14.14 (guests lose hidden servers and get the filtered host, any
logged-in user sees everything) and v2.3.7 (``Viewer.can_view``/``owns``: NEZHA_API_DELTA.md
§3.3, §4.2, §5.3), as mixed into ``routes_v1.Router``.
"""

import math

from aiohttp import web

from . import render_v1 as render
from .access_v1 import Ctx, Viewer, error, ok
from .gojson import Float32, GoJSON, dumps
from .model import SimServer
from .services import ServiceWorld
from .stream import StreamHub

PERIODS = {"1d": 86400.0, "7d": 7 * 86400.0, "30d": 30 * 86400.0}


def sorted_servers(servers: list[SimServer]) -> list[SimServer]:
    """``GetSortedList``: display index descending, then id."""
    return sorted(servers, key=lambda server: (-server.display_index, server.id))


class ServerRoutes:
    """The handlers; ``streams`` holds the open websockets."""

    world: ServiceWorld
    streams: StreamHub

    def _visible(self, viewer: Viewer, v2: bool) -> list[SimServer]:
        """Servers a viewer may see in public lists (v1: guests lose hidden ones; v2: §3.3)."""
        servers = list(self.world.servers.values())
        if v2:
            return sorted_servers([server for server in servers if viewer.can_view(server)])
        if viewer.kind == "guest":
            servers = [server for server in servers if not server.hide_for_guest]
        return sorted_servers(servers)

    async def _servers(self, ctx: Ctx) -> web.StreamResponse:
        """``GET /server``: admin all, member own, PAT whitelisted; ``?id=`` (no match = all)."""
        mine = sorted_servers([s for s in self.world.servers.values() if ctx.viewer.owns(s)])
        wanted = {part for part in ctx.request.query.get("id", "").split(",") if part}
        chosen = [server for server in mine if str(server.id) in wanted]
        servers = chosen or mine
        return ok([render.server_json(self.world, server, v2=ctx.v2) for server in servers])

    async def _groups(self, ctx: Ctx) -> web.StreamResponse:
        """``GET /server-group``: v2.0.5+ guests only see groups with visible servers."""
        viewer, data = ctx.viewer, list[GoJSON]()
        created = render.format_time(self.world.created, self.world.utc_offset)
        for group_id, name, ids in self.world.server_groups():
            members = ids
            if ctx.v2:
                members = [i for i in ids if viewer.can_view(self.world.server(i))]
                whitelisted = viewer.pat is not None and viewer.pat.server_ids
                if not members and (viewer.kind == "guest" or whitelisted):
                    continue
            group: dict[str, GoJSON] = {
                "id": group_id,
                "created_at": created,
                "updated_at": created,
                "name": name,
            }
            data.append({"group": group, "servers": list[GoJSON](members) or None})
        return ok(data)

    async def _ws(self, ctx: Ctx) -> web.StreamResponse:
        """``GET /ws/server``: frames of the servers this viewer may see (DELTA §3).

        ``now`` is ``time.Now().Unix() * 1000``: whole seconds of the world clock. ``public_note``
        is in each connection's first frame only. v2.3.7 keys the frame it shares between
        concurrent connections by ``withPublicNote``; v1.14.14's key (``serverStats::%t``) lacks
        it, so on a busy v1 dashboard a first frame may miss the note and a later one carry it.
        The simulator builds every frame on its own: v1 without that race.
        """
        viewer, v2, world = ctx.viewer, ctx.v2, self.world

        def frame(first: bool) -> str:
            servers: list[GoJSON] = [
                render.stream_server_json(
                    world,
                    server,
                    with_note=first,
                    v2=v2,
                    filtered=not viewer.owns(server) if v2 else viewer.kind == "guest",
                )
                for server in self._visible(viewer, v2)
            ]
            now = math.floor(world.now) * 1000
            data: dict[str, GoJSON] = {"now": now, "online": self.streams.open}
            if servers:
                data["servers"] = servers
            return dumps(data)

        opened = world.now

        def gone() -> bool:
            restart = world.restart
            return restart is not None and opened < restart.stop_at <= world.now

        digest = viewer.pat.digest if viewer.pat is not None else None
        return await self.streams.serve(ctx.request, frame, digest, gone)

    # Services

    async def _service(self, ctx: Ctx) -> web.StreamResponse:
        """``GET /service``: 30-day stats and ``cycle_transfer_stats``, per viewer in v2."""
        world, viewer = self.world, ctx.viewer
        services: dict[int, GoJSON] = {}
        for monitor in world.monitors.values():
            if monitor.hide_for_guest and not (ctx.v2 and viewer.is_admin):
                continue
            services[monitor.id] = render.service_item(
                monitor, world.service_stats(monitor.id), v2=ctx.v2
            )
        cycles: dict[int, GoJSON] = {}
        for state in world.cycle_states():
            ids = [i for i in state.transfer if not ctx.v2 or viewer.can_view(world.server(i))]
            if ids or not ctx.v2:
                cycles[state.alert.id] = render.cycle_json(world, state, ids)
        data: dict[str, GoJSON] = {}
        if services:
            data["services"] = render.id_map(services)
        if cycles:
            data["cycle_transfer_stats"] = render.id_map(cycles)
        return ok(data)

    async def _service_servers(self, ctx: Ctx) -> web.StreamResponse:
        """``GET /service/server``: ids of the visible servers that have latency rows."""
        ids: list[GoJSON] = [
            server.id
            for server in self._visible(ctx.viewer, ctx.v2)
            if self.world.points(server.id)
        ]
        return ok(ids)

    def _histories(self, server: SimServer, since: float, v2: bool) -> list[GoJSON]:
        """``[]ServiceInfos`` of a server since ``since`` (v1: float32, no 1000 ms clamp)."""
        rows: dict[int, tuple[list[GoJSON], list[GoJSON]]] = {}
        for point in self.world.points(server.id):
            if point.at >= since and point.monitor_id in self.world.monitors:
                stamps, delays = rows.setdefault(point.monitor_id, ([], []))
                stamps.append(int(point.at // 60) * 60_000)
                delays.append(point.raw if v2 else Float32(point.raw))
        infos: list[GoJSON] = []
        for monitor_id, (stamps, delays) in sorted(rows.items()):
            info: dict[str, GoJSON] = {"monitor_id": monitor_id, "server_id": server.id}
            info["monitor_name"] = self.world.monitors[monitor_id].name
            info["server_name"] = server.name
            if v2:
                info["display_index"] = 0
            infos.append(info | {"created_at": stamps, "avg_delay": delays})
        return infos

    def _server_arg(self, ctx: Ctx) -> SimServer | web.Response:
        """The ``:id`` server, or the error a handler answers with."""
        if not ctx.arg.isascii() or not ctx.arg.isdigit():
            return error(f'strconv.ParseUint: parsing "{ctx.arg}": invalid syntax')
        server = self.world.servers.get(int(ctx.arg))
        if server is None:
            return error("server not found")
        return server

    async def _service_history(self, ctx: Ctx) -> web.StreamResponse:
        """v1 ``GET /service/:server_id``: 24 h; hidden servers only for logged-in users."""
        server = self._server_arg(ctx)
        if isinstance(server, web.Response):
            return server
        if server.hide_for_guest and ctx.viewer.kind == "guest":
            return error("unauthorized")
        return ok(self._histories(server, self.world.now - PERIODS["1d"], v2=False))

    async def _server_service(self, ctx: Ctx) -> web.StreamResponse:
        """v2 ``GET /server/:id/service?period=``: guests only get ``1d``."""
        server = self._server_arg(ctx)
        if isinstance(server, web.Response):
            return server
        if not ctx.viewer.can_view(server):
            return error("unauthorized")
        period = ctx.request.query.get("period", "1d")
        if period not in PERIODS:
            return error(f"invalid period: {period}, expected 1d, 7d, or 30d")
        if period != "1d" and ctx.viewer.kind == "guest":
            return error("unauthorized: only 1d data available for guests")
        return ok(self._histories(server, self.world.now - PERIODS[period], v2=True))
