"""The 1.x (v1.14.14) and 2.x (v2.3.7) routes and who sees what on each.

Routes are those of ``cmd/dashboard/controller/controller.go`` at those tags (NEZHA_API.md B.2,
NEZHA_API_DELTA.md §2) that a read-only client uses. Everything else under ``/api`` is gin's
``fallbackToFrontend`` ``{"error":"404 Not Found"}`` (HTTP 404 since v1.5.0, 200 before:
``v0_routes_answer_200``); other paths serve the frontend's HTML.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
import json

from aiohttp import hdrs, web

from . import render_v1 as render
from .access_v1 import (
    CSRF_COOKIE,
    JWT_COOKIE,
    UNAUTHORIZED,
    Access,
    Viewer,
    authenticate,
    csrf_failed,
    csrf_ok,
    error,
    lacks_scope,
    ok,
    pat_forbidden,
    real_ip,
    waf_page,
)
from .accounts import SCOPE_INVENTORY_READ, SCOPE_SERVER_READ, random_string
from .gojson import Float32, GoJSON, dumps
from .services import ServiceWorld
from .stream import StreamHub
from .world import SimServer

V1_FRONTEND_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="UTF-8"><title>Nezha</title></head>
<body><div id="root"></div></body>
</html>
"""
PERIODS = {"1d": 86400.0, "7d": 7 * 86400.0, "30d": 30 * 86400.0}
FRONTEND_TEMPLATES: list[GoJSON] = [
    {
        "path": "user-dist",
        "name": "OfficialUser",
        "repository": "https://github.com/hamster1963/nezha-dash-v1",
        "author": "hamster1963",
        "version": "v1.0.0",
        "is_official": True,
    },
    {
        "path": "admin-dist",
        "name": "OfficialAdmin",
        "repository": "https://github.com/nezhahq/admin-frontend",
        "author": "nezhahq",
        "version": "v1.0.0",
        "is_admin": True,
        "is_official": True,
    },
]


@dataclass
class Ctx:
    """One request on its way through a handler."""

    request: web.Request
    viewer: Viewer
    v2: bool
    ip: str | None
    arg: str = ""
    """The ``:id`` of the route, if it has one."""


type Handler = Callable[[Ctx], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    """One route: its access level, PAT scope (v2) and whether PATs are refused."""

    handler: Handler
    access: Access
    scope: str | None = None
    pat_forbidden: bool = False


def sorted_servers(servers: list[SimServer]) -> list[SimServer]:
    """``GetSortedList``: display index descending, then id."""
    return sorted(servers, key=lambda server: (-server.display_index, server.id))


class Router:
    """Routes the v1/v2 API of one world; ``streams`` holds its open websockets."""

    def __init__(self, world: ServiceWorld, streams: StreamHub) -> None:
        """Bind to the world; CSRF tokens issued so far are remembered here."""
        self.world = world
        self.streams = streams
        self._csrf: set[str] = set()

    def _routes(self, v2: bool) -> dict[tuple[str, str], Route]:
        """The route table of a generation; ``:id`` marks a path parameter."""
        legacy = self.world.legacy_server_scope
        inventory = SCOPE_SERVER_READ if legacy else SCOPE_INVENTORY_READ
        service = "nezha:service:read"
        get, post = hdrs.METH_GET, hdrs.METH_POST
        routes = {
            (post, "/login"): Route(self._login, "public"),
            (get, "/setting"): Route(self._setting, "fallback"),
            (get, "/ws/server"): Route(self._ws, "optional", inventory),
            (get, "/server-group"): Route(self._groups, "optional", inventory),
            (get, "/service"): Route(self._service, "optional", service),
            (get, "/service/server"): Route(self._service_servers, "optional", service),
            (get, "/profile"): Route(self._profile, "auth", pat_forbidden=True),
            (get, "/server"): Route(self._servers, "auth", inventory),
            (get, "/alert-rule"): Route(self._alert_rules, "auth", "nezha:alertrule:read"),
        }
        if v2:
            routes[(post, "/refresh-token")] = Route(self._refresh, "auth", pat_forbidden=True)
            routes[(get, "/server/:id/service")] = Route(self._server_service, "optional", service)
            routes[(post, "/api-tokens")] = Route(self._create_pat, "auth", pat_forbidden=True)
        else:
            routes[(get, "/refresh-token")] = Route(self._refresh, "auth")
            routes[(get, "/service/:id")] = Route(self._service_history, "optional")
        return routes

    def _match(self, method: str, path: str, v2: bool) -> tuple[Route, str] | None:
        """The route for ``method path`` (below ``/api/v1``) and its ``:id``."""
        routes = self._routes(v2)
        if (method, path) in routes:
            return routes[(method, path)], ""
        parts = path.split("/")
        for (route_method, pattern), route in routes.items():
            pattern_parts = pattern.split("/")
            if route_method != method or len(pattern_parts) != len(parts):
                continue
            if all(p in (":id", q) for p, q in zip(pattern_parts, parts, strict=True)):
                return route, parts[pattern_parts.index(":id")]
        return None

    async def handle(  # noqa: PLR0911 (one return per middleware that can stop a request)
        self, request: web.Request, *, v2: bool
    ) -> web.StreamResponse:
        """Real IP, WAF, route, authentication, CSRF, scope, handler."""
        world = self.world
        found, ip = real_ip(world, request)
        if not found:
            return error("real ip header not found")
        if ip is not None and world.waf_blocked(ip):
            return waf_page()
        path = request.path
        match = self._match(request.method, path.removeprefix("/api/v1"), v2)
        if not path.startswith("/api/v1/") or match is None:
            if path.startswith("/api"):
                return error("404 Not Found", 200 if world.v0_routes_answer_200 else 404)
            return web.Response(text=V1_FRONTEND_PAGE, content_type="text/html")
        route, arg = match
        viewer = authenticate(world, request, route.access, v2=v2, ip=ip)
        if isinstance(viewer, web.Response):
            return viewer
        csrf_gated = v2 and route.access == "auth" and request.method != hdrs.METH_GET
        if csrf_gated and viewer.kind == "jwt" and not csrf_ok(request, self._csrf):
            return csrf_failed()
        if viewer.pat is not None:
            if route.pat_forbidden:
                return pat_forbidden()
            if route.scope is not None and not viewer.pat.has_scope(route.scope):
                return lacks_scope(route.scope)
        response = await route.handler(Ctx(request, viewer, v2, ip, arg))
        if v2 and route.access == "auth" and CSRF_COOKIE not in request.cookies:
            self._set_csrf(response)
        return response

    def _set_csrf(self, response: web.StreamResponse) -> None:
        """Seed the v2 ``nz-csrf`` cookie (login, refresh, any auth-group GET without one)."""
        if response.prepared:
            return
        value = random_string(32)
        self._csrf.add(value)
        response.set_cookie(CSRF_COOKIE, value, path="/", samesite="Lax")

    # Logins

    def _token_reply(self, ctx: Ctx, token: str) -> web.Response:
        """``LoginResponse`` and the ``nz-jwt`` cookie (gin-jwt ``SendCookie``)."""
        world = self.world
        expire = render.format_time(world.now + world.jwt_lifetime, world.utc_offset, nano=False)
        response = ok({"token": token, "expire": expire})
        response.set_cookie(
            JWT_COOKIE,
            token,
            path="/",
            max_age=int(world.jwt_lifetime),
            httponly=True,
            samesite="Lax" if ctx.v2 else None,
        )
        return response

    async def _login(self, ctx: Ctx) -> web.StreamResponse:
        """``POST /login``: JSON ``username``/``password``; failures count toward the WAF."""
        world = self.world
        world.login_count += 1
        try:
            body = json.loads(await ctx.request.read() or b"null")
        except ValueError:
            body = None
        user = None
        if isinstance(body, dict):
            user = world.check_login(body.get("username"), body.get("password"))
        if user is None:
            world.waf_login_failed(ctx.ip)
            response = error(UNAUTHORIZED)
            response.headers[hdrs.WWW_AUTHENTICATE] = f"JWT realm={world.site_name}"
            return response
        world.waf_login_passed(ctx.ip)
        response = self._token_reply(ctx, world.issue_jwt(user, ctx.ip or "", v2=ctx.v2))
        if ctx.v2:
            self._set_csrf(response)
        return response

    async def _refresh(self, ctx: Ctx) -> web.StreamResponse:
        """``GET`` (v1) / ``POST`` (v2, CSRF-checked) ``/refresh-token``: a new token."""
        assert ctx.viewer.user is not None
        assert ctx.viewer.jwt is not None
        key = self.world.session_key(ctx.viewer.jwt) if ctx.v2 else None
        token = self.world.issue_jwt(ctx.viewer.user, ctx.ip or "", v2=ctx.v2, key_id=key)
        response = self._token_reply(ctx, token)
        if ctx.v2:
            self._set_csrf(response)
        return response

    async def _create_pat(self, ctx: Ctx) -> web.StreamResponse:
        """``POST /api-tokens`` (v2.1.0+, JWT only). The reply shape is this simulator's."""
        assert ctx.viewer.user is not None
        try:
            body = json.loads(await ctx.request.read())
            scopes = [str(scope) for scope in body.get("scopes") or []]
            server_ids = [int(server_id) for server_id in body.get("server_ids") or []]
            token = self.world.create_pat(
                scopes,
                user=ctx.viewer.user.username,
                server_ids=server_ids,
                expires_in_days=int(body.get("expires_in_days") or 0),
                name=str(body.get("name") or ""),
            )
        except (ValueError, TypeError, AttributeError) as err:
            return error(str(err))
        pat = self.world.find_pat(token)
        assert pat is not None
        return ok({"id": pat.id, "name": pat.name, "token": token})

    # Settings and profile

    async def _setting(self, ctx: Ctx) -> web.StreamResponse:
        """Guest config for everyone; ``version`` and templates for admins (v1.4.0+)."""
        world = self.world
        config: dict[str, GoJSON] = {
            "language": "en-US",
            "site_name": world.site_name,
            "ip_change_notification_group_id": 0,
            "cover": 0,
        }
        data: dict[str, GoJSON] = {"config": config}
        if ctx.viewer.kind == "jwt" and ctx.viewer.is_admin:
            data["version"] = render.V2_VERSION if ctx.v2 else render.V1_VERSION
            data["frontend_templates"] = FRONTEND_TEMPLATES
        if ctx.v2:
            data["tsdb_enabled"] = world.tsdb_enabled
        return ok(data)

    async def _profile(self, ctx: Ctx) -> web.StreamResponse:
        """``model.Profile``: v1.14.14 leaks the password hash and omits admin's ``role`` 0;
        v2.3.7 drops the hash (v2.2.7) and always sends ``role`` (v2.1.1)."""
        user = ctx.viewer.user
        assert user is not None
        created = render.format_time(self.world.created, self.world.utc_offset)
        role = 0 if user.role == "admin" else 1
        data: dict[str, GoJSON] = {"id": user.id, "created_at": created, "updated_at": created}
        data["username"] = user.username
        if not ctx.v2:
            data["password"] = "$2a$10$" + random_string(53)
        if ctx.v2 or role:
            data["role"] = role
        data["agent_secret"] = user.agent_secret
        if ctx.ip:
            data["login_ip"] = ctx.ip
        return ok(data)

    # Servers

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
        """``GET /ws/server``: frames of the servers this viewer may see."""
        viewer, v2, world = ctx.viewer, ctx.v2, self.world

        def frame(first: bool) -> str:
            servers: list[GoJSON] = [
                render.stream_server_json(
                    world,
                    server,
                    with_note=first,
                    filtered=not viewer.owns(server) if v2 else viewer.kind == "guest",
                )
                for server in self._visible(viewer, v2)
            ]
            data: dict[str, GoJSON] = {"now": int(world.now) * 1000, "online": self.streams.open}
            if servers:
                data["servers"] = servers
            return dumps(data)

        digest = viewer.pat.digest if viewer.pat is not None else None
        return await self.streams.serve(ctx.request, frame, digest)

    # Services and alert rules

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

    async def _alert_rules(self, ctx: Ctx) -> web.StreamResponse:
        """``GET /alert-rule``: admins see all, members their own."""
        user = ctx.viewer.user
        assert user is not None
        rules: list[GoJSON] = [
            render.alert_rule_json(self.world, alert.id)
            for alert in self.world.alert_rules.values()
            if ctx.viewer.is_admin or alert.owner_id == user.id
        ]
        return ok(rules)
