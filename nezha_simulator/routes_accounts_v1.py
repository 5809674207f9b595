"""The 1.x/2.x routes of logins, tokens, settings and the profile (v1.14.14 and v2.3.7).

``POST /login``, ``/refresh-token`` (v1 ``GET``, v2 ``POST`` behind CSRF), v2's
``POST /api-tokens``, ``GET /setting`` and ``GET /profile``, as mixed into ``routes_v1.Router``.
v2 seeds the ``nz-csrf`` cookie on login, refresh and any auth-group request without one.
"""

import json

from aiohttp import hdrs, web

from . import render_v1 as render
from .access_v1 import CSRF_COOKIE, JWT_COOKIE, UNAUTHORIZED, Ctx, error, ok
from .accounts import random_string
from .gojson import GoJSON
from .services import ServiceWorld

USER_TEMPLATE = "user-dist"
"""The config's ``user_template``: the public frontend's folder (the default)."""
ADMIN_TEMPLATE = "admin-dist"
"""The config's ``admin_template``: the admin frontend's folder (the default)."""
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


class AccountRoutes:
    """The handlers; ``_csrf`` holds the v2 CSRF tokens issued so far."""

    world: ServiceWorld
    _csrf: set[str]

    def _set_csrf(self, response: web.StreamResponse) -> None:
        """Seed the v2 ``nz-csrf`` cookie (login, refresh, any auth-group GET without one)."""
        if response.prepared:
            return
        value = random_string(32)
        self._csrf.add(value)
        response.set_cookie(CSRF_COOKIE, value, path="/", samesite="Lax")

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
        """The guest config for everyone but an admin's JWT (v1.4.0+), which gets the frontend
        templates of the config, its ``cover``, the ``version`` and the template list."""
        world = self.world
        admin = ctx.viewer.kind == "jwt" and ctx.viewer.is_admin
        config: dict[str, GoJSON] = {"language": "en-US", "site_name": world.site_name}
        if admin:
            config |= {"user_template": USER_TEMPLATE, "admin_template": ADMIN_TEMPLATE}
        config |= {"ip_change_notification_group_id": 0, "cover": 1 if admin else 0}
        data: dict[str, GoJSON] = {"config": config}
        if admin:
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
