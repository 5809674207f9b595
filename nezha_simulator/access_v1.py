"""Who is asking, on a 1.x/2.x dashboard: the middleware chain before every handler.

Order as in v1.14.14/v2.3.7 ``cmd/dashboard/controller/controller.go``: real IP (``waf.RealIp``),
WAF block, then per route ``fallbackAuth`` (``/setting``), ``optionalAuth`` (public unless
``force_auth``; v2: ``patOrFallbackAuthMiddleware``) or ``authMw`` (JWT or, v2, PAT), then v2's
CSRF check on unsafe methods, ``patForbidden`` and the PAT scope check.
"""

from dataclasses import dataclass
import hmac
from typing import Literal

from aiohttp import hdrs, web

from .accounts import PAT_PREFIX, PEER_IP, SimPat, SimUser
from .gojson import GoJSON, dumps
from .model import SimServer
from .services import ServiceWorld

type Access = Literal["public", "fallback", "optional", "auth"]

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
HTML_CONTENT_TYPE = "text/html; charset=utf-8"
UNAUTHORIZED = "ApiErrorUnauthorized"
CSRF_COOKIE = "nz-csrf"
CSRF_HEADER = "X-CSRF-Token"
JWT_COOKIE = "nz-jwt"

WAF_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Blocked - Nezha</title></head>
<body><h1>403</h1><p>you were blocked by nezha WAF</p></body>
</html>
"""


def json_response(payload: GoJSON, status: int = 200) -> web.Response:
    """gin ``c.JSON``."""
    return web.Response(
        status=status, body=dumps(payload).encode(), headers={hdrs.CONTENT_TYPE: JSON_CONTENT_TYPE}
    )


def ok(data: GoJSON) -> web.Response:
    """``CommonResponse{Success: true, Data: data}``: nil or empty-slice data is omitted."""
    if data is None or data == []:
        return json_response({"success": True})
    return json_response({"success": True, "data": data})


def error(message: str, status: int = 200) -> web.Response:
    """``{"error": …}`` with no ``success`` key (``omitempty``)."""
    return json_response({"error": message}, status)


def waf_page() -> web.Response:
    """``waf.ShowBlockPage``: HTTP 403 HTML (also the v2 stale-session answer)."""
    return web.Response(
        status=403, body=WAF_PAGE.encode(), headers={hdrs.CONTENT_TYPE: HTML_CONTENT_TYPE}
    )


@dataclass
class Viewer:
    """The caller as the handlers see it."""

    kind: Literal["guest", "jwt", "pat"]
    user: SimUser | None = None
    pat: SimPat | None = None
    jwt: str | None = None

    @property
    def is_admin(self) -> bool:
        """A logged-in admin (or an admin's PAT)."""
        return self.user is not None and self.user.role == "admin"

    def owns(self, server: SimServer) -> bool:
        """``Server.HasPermission``: admin or owner, inside a PAT's whitelist."""
        if self.user is None or (self.pat is not None and not self.pat.allows_server(server.id)):
            return False
        return self.is_admin or server.owner_id == self.user.id

    def can_view(self, server: SimServer) -> bool:
        """v2 ``userCanViewServer``: PAT whitelist, then admin, then owner or not hidden."""
        if self.pat is not None and not self.pat.allows_server(server.id):
            return False
        return self.owns(server) or not server.hide_for_guest


@dataclass
class Ctx:
    """One request on its way through a handler."""

    request: web.Request
    viewer: Viewer
    v2: bool
    ip: str | None
    arg: str = ""
    """The ``:id`` of the route, if it has one."""


def real_ip(world: ServiceWorld, request: web.Request) -> tuple[bool, str | None]:
    """``(ok, ip)``: ``ip`` is ``None`` with no header configured; not ok if it is missing."""
    header = world.real_ip_header
    if header is None:
        return True, None
    if header == PEER_IP:
        return True, request.remote or ""
    value = request.headers.get(header, "").strip()
    return value != "", value or None


def _jwt_token(request: web.Request) -> str | None:
    """gin-jwt ``TokenLookup``: ``Bearer`` header, then ``?token=``, then the ``nz-jwt`` cookie."""
    header = request.headers.get(hdrs.AUTHORIZATION, "")
    if header.startswith("Bearer ") and header[7:]:
        return header[7:]
    return request.query.get("token") or request.cookies.get(JWT_COOKIE) or None


def _pat_token(request: web.Request) -> str | None:
    """v2 ``apiTokenAuthMiddleware``: only ``Authorization: Bearer nzp_…`` is a PAT."""
    header = request.headers.get(hdrs.AUTHORIZATION, "")
    if header.startswith("Bearer " + PAT_PREFIX):
        return header.removeprefix("Bearer ")
    return None


def _check_pat(world: ServiceWorld, token: str, ip: str | None) -> Viewer | web.Response:
    """A PAT's owner, or the 401 of NEZHA_API_DELTA.md §5.2 (which counts toward the WAF)."""
    pat = world.find_pat(token)
    if pat is None:
        reason = "invalid api token"
    elif pat.expires_at is not None and world.now > pat.expires_at:
        reason = "api token expired"
    elif pat.user_id not in world.users:
        reason = "owner of api token not found"
    else:
        world.waf_token_passed(ip)
        pat.last_used_ip = ip or ""
        return Viewer("pat", world.users[pat.user_id], pat)
    world.waf_token_failed(ip)
    return error(f"{UNAUTHORIZED}: {reason}", 401)


def authenticate(
    world: ServiceWorld, request: web.Request, access: Access, *, v2: bool, ip: str | None
) -> Viewer | web.Response:
    """The caller for a route of this ``access``, or the reply that stops the request."""
    if access == "public":
        return Viewer("guest")
    required = access == "auth" or (access == "optional" and world.force_auth)
    pat = _pat_token(request) if v2 and access != "fallback" else None
    if pat is not None:
        return _check_pat(world, pat, ip)
    token = _jwt_token(request)
    state, user = world.jwt_user(token, ip or "", v2=v2) if token else ("none", None)
    if state == "ok":
        return Viewer("jwt", user, jwt=token)
    if state == "stale":
        world.waf_token_failed(ip)
        if not required:
            return waf_page()
    if required:
        return error(UNAUTHORIZED)
    return Viewer("guest")


def csrf_ok(request: web.Request, issued: set[str]) -> bool:
    """v2 ``csrfMiddleware``: the ``nz-csrf`` cookie, issued by us, repeated in ``X-CSRF-Token``."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    header = request.headers.get(CSRF_HEADER, "")
    return cookie in issued and hmac.compare_digest(cookie.encode(), header.encode())


def csrf_failed() -> web.Response:
    """The 403 of a non-PAT unsafe call without a valid CSRF pair."""
    return error("ApiErrorForbidden: missing or invalid CSRF token", 403)


def pat_forbidden() -> web.Response:
    """``restPATForbiddenMiddleware``."""
    return error("ApiErrorForbidden: this endpoint is not accessible by api token", 403)


def lacks_scope(scope: str) -> web.Response:
    """``restScopeMiddleware`` for a PAT without ``scope``."""
    return error(f"ApiErrorForbidden: api token lacks scope {scope}", 403)
