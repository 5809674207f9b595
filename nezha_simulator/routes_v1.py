"""The 1.x (v1.14.14) and 2.x (v2.3.7) route table and the middleware order of each request.

Routes are those of ``cmd/dashboard/controller/controller.go`` at those tags (NEZHA_API.md B.2,
NEZHA_API_DELTA.md §2) that a read-only client uses. Everything else under ``/api`` is gin's
``fallbackToFrontend`` ``{"error":"404 Not Found"}`` (HTTP 404 since v1.5.0, 200 before:
``v0_routes_answer_200``); other paths serve the frontend's HTML.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import hdrs, web

from .access_v1 import (
    CSRF_COOKIE,
    Access,
    Ctx,
    authenticate,
    csrf_failed,
    csrf_ok,
    error,
    lacks_scope,
    pat_forbidden,
    real_ip,
    waf_page,
)
from .accounts import SCOPE_INVENTORY_READ, SCOPE_SERVER_READ
from .routes_accounts_v1 import AccountRoutes
from .routes_servers_v1 import ServerRoutes
from .services import ServiceWorld
from .stream import StreamHub

V1_FRONTEND_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="UTF-8"><title>Nezha</title></head>
<body><div id="root"></div></body>
</html>
"""

type Handler = Callable[[Ctx], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    """One route: its access level, PAT scope (v2) and whether PATs are refused."""

    handler: Handler
    access: Access
    scope: str | None = None
    pat_forbidden: bool = False


class Router(AccountRoutes, ServerRoutes):
    """Routes the v1/v2 API of one world; ``streams`` holds its open websockets.

    The handlers are in ``routes_accounts_v1`` (logins, tokens, settings, profile) and
    ``routes_servers_v1`` (servers, groups, the stream, services, alert rules).
    """

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
        safe = request.method in (hdrs.METH_GET, hdrs.METH_HEAD, hdrs.METH_OPTIONS)
        csrf_gated = v2 and route.access == "auth" and not safe
        if csrf_gated and viewer.kind == "jwt" and not csrf_ok(request, self._csrf):
            return csrf_failed()
        response: web.StreamResponse
        if viewer.pat is not None and route.pat_forbidden:
            response = pat_forbidden()
        elif viewer.pat is not None and route.scope and not viewer.pat.has_scope(route.scope):
            response = lacks_scope(route.scope)
        else:
            response = await route.handler(Ctx(request, viewer, v2, ip, arg))
        # csrfMiddleware runs before the PAT checks and seeds the cookie on safe methods only.
        if v2 and route.access == "auth" and safe and CSRF_COOKIE not in request.cookies:
            self._set_csrf(response)
        return response
