"""Client for Nezha 1.x and 2.x dashboards (REST under ``/api/v1``, NEZHA_API.md Parts B and C).

Every answer is HTTP 200 with ``{"success":true,"data":…}`` or ``{"error":"…"}`` (``data`` is left
out when empty), apart from a 2.x access token's 401/403, unknown routes' 404 and the WAF's HTML 403
page. 1.x and 2.x differ here only in the monitor route and in having access tokens; a client made
for 1.x notices a dashboard upgraded in place to 2.x and changes ``api_version`` to ``"v2"`` itself
(an upgrade keeps the database, and the login keeps working), so its owner can store that.
"""

import asyncio
from collections.abc import Mapping
from datetime import datetime
import json
import re
from typing import Any, Final

import aiohttp
from yarl import URL

from .actions import CSRF_COOKIE, CSRF_HEADER, NezhaActions, NezhaCsrfError, action_error
from .auth import AccessToken, Credential, Grant, JwtLogin, Login
from .errors import (
    AuthRefusal,
    NezhaAuthError,
    NezhaBlockedError,
    NezhaError,
    NezhaPermissionError,
    NezhaRealIpHeaderError,
    NezhaResponseError,
)
from .models import AlertRule, MonitorsSnapshot, Server, ServersSnapshot, ServicesSnapshot
from .parsing import decode_json_object, monitors_snapshot, objects, redact, rfc3339, text
from .services_parse import parse_alert_rules, parse_services
from .stream import NezhaServerStream, open_server_stream, stream_url
from .transport import DEFAULT_TIMEOUT, MAX_CONCURRENT_REQUESTS, Reply, fetch
from .v1_parse import is_2x_server, parse_group, parse_server

API_V1: Final = "v1"
API_V2: Final = "v2"

# The "error" texts a client acts on (not localized, unlike most of the dashboard's).
ERROR_UNAUTHORIZED = "ApiErrorUnauthorized"
_FORBIDDEN = "ApiErrorForbidden"
ERROR_ROUTE_MISSING = "404 Not Found"
ERROR_REAL_IP_MISSING = "real ip header not found"
_PAT_LOOKUP_FAILED = "api token lookup failed"
"""A 2.x database error behind a 401: the token may be fine, so it is not refused for good."""
_PAT_EXPIRED = "api token expired"
"""2.x's reason for an access token past its expiry (``api_token.go``)."""
_SCOPE = re.compile(r"lacks scope (\S+)")
_QUOTE_CHARS = 120
_PROOF_ROUTE = "alert-rule"
"""A small route that needs a login (every user may read it; PATs never need it as proof)."""

type _Answer = tuple[Any, datetime | None]
"""A success envelope's ``data`` and the dashboard's clock when it answered."""


class _Refused(Exception):
    """The dashboard refused the authorization sent (not raised out of this module)."""

    def __init__(self, detail: str, *, block_page: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.block_page = block_page


class _RouteMissing(Exception):
    """``{"error":"404 Not Found"}``: the dashboard has no such route (not raised out of here)."""


class NezhaV1Client(NezhaActions):
    """Reads servers, server groups and ping monitors from a Nezha 1.x or 2.x dashboard.

    The writes (``NezhaActions``) go through the same requests: credential, limit, errors.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        credential: Login | str,
        *,
        api_version: str = API_V1,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """Use ``session`` (shared, owned by the caller) for the dashboard at ``url``.

        ``credential`` is a ``Login`` (1.x and 2.x) or a 2.x personal access token (``nzp_…``).
        ``api_version`` is ``"v1"`` or ``"v2"``, as detected; it picks the monitor route.
        """
        if api_version not in (API_V1, API_V2):
            raise ValueError(f"not a Nezha 1.x/2.x API generation: {api_version}")
        if isinstance(credential, str) and api_version != API_V2:
            raise ValueError("access tokens exist only on Nezha 2.x dashboards")
        self.api_version: str = api_version
        self._session = session
        self._stream_url = stream_url(URL(url.rstrip("/")))
        self._base = URL(url.rstrip("/")) / "api/v1"
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._limit = asyncio.Semaphore(MAX_CONCURRENT_REQUESTS)
        """At most this many requests of this client (one entry) in flight, logins included."""
        self._credential: Credential = (
            AccessToken(credential)
            if isinstance(credential, str)
            else JwtLogin(credential, self._sign_in)
        )
        self._csrf: str | None = None
        """The 2.x ``nz-csrf`` cookie last set: a login's writes repeat it in ``X-CSRF-Token``."""

    async def async_get_servers(self, group: int | None = None) -> ServersSnapshot:
        """Every server the credential may see, with live status; or those of one server group.

        A group id the dashboard no longer has selects no server (as a v0 tag without servers).
        """
        members: frozenset[int] | None = None
        if group is None:
            data, dashboard_time = await self._get("server")
        else:
            # /server-group is public: it is read as the login that /server then takes.
            (groups, _), (data, dashboard_time) = await self._get_pair("server-group", "server")
            members = _groups(groups).get(group, ("", frozenset()))[1]
        servers: dict[int, Server] = {}
        for item in objects(data):
            if is_2x_server(item):
                self.api_version = API_V2
            if (server := parse_server(item)) is not None and (
                members is None or server.id in members
            ):
                servers[server.id] = server
        return ServersSnapshot(servers=dict(sorted(servers.items())), dashboard_time=dashboard_time)

    async def async_get_groups(self) -> dict[int, str]:
        """The dashboard's server groups the credential may see, id to name."""
        groups, _ = await self._get_own("server-group")
        return {group_id: name for group_id, (name, _) in sorted(_groups(groups).items())}

    async def async_get_monitors(self, server_id: int) -> MonitorsSnapshot:
        """One server's ping monitors: each one's newest round and the size of its 24 h series."""
        v2_route = (f"server/{server_id}/service", {"period": "1d"})
        if self.api_version == API_V2:
            data, dashboard_time = await self._get(*v2_route)
        else:
            try:
                data, dashboard_time = await self._get(f"service/{server_id}", missing_ok=True)
            except _RouteMissing:
                # 2.x removed this route: the dashboard was upgraded in place.
                self.api_version = API_V2
                data, dashboard_time = await self._get(*v2_route)
        return monitors_snapshot(objects(data), server_id, dashboard_time)

    async def async_open_stream(self) -> NezhaServerStream:
        """Open the live stream (``/ws/server``) with the credential the REST calls use.

        A login's JWT is fetched or renewed first, like before any request; a refused credential
        raises its ``NezhaAuthError`` without a request.
        """
        authorization = await self._credential.authorization()
        return await open_server_stream(self._session, self._stream_url, authorization)

    async def async_get_services(self) -> ServicesSnapshot:
        """Every visible monitor's 30-day summary and every traffic cycle, in one request.

        The dashboard keeps only the servers the credential may see in each cycle.
        """
        data, dashboard_time = await self._get_own("service")
        return parse_services(data, dashboard_time)

    async def async_get_alert_rules(self) -> dict[int, AlertRule]:
        """The alert rules the credential may read (2.x access tokens: ``nezha:alertrule:read``)."""
        data, _ = await self._get("alert-rule")
        return parse_alert_rules(data)

    async def _read(self, path: str) -> Any:
        """``_get``'s data (a route that needs the credential: never a guest's answer)."""
        data, _ = await self._get(path)
        return data

    @property
    def has_scopes(self) -> bool:
        """Whether the credential is a 2.x access token."""
        return isinstance(self._credential, AccessToken)

    async def _send(self, method: str, path: str, body: Any = None) -> Any:
        """One write; a 2.x login's carries the CSRF pair, fetched first by a GET if unknown.

        A CSRF refusal happened before the dashboard acted: one fresh cookie, one more send.
        """
        csrf = self.api_version == API_V2 and self._credential.renewable
        if csrf:
            await self._credential.authorization()  # a login (if one is due) sets the cookie
        for attempt in range(2):
            if csrf and self._csrf is None:
                await self._get("profile")  # any authenticated GET sets it too
            try:
                (data, _), _ = await self._get_signed(path, method=method, body=body)
            except NezhaCsrfError:
                self._csrf = None
                if attempt or not csrf:
                    raise
            else:
                return data
        raise AssertionError("unreachable")  # pragma: no cover

    async def _get_own(self, path: str) -> _Answer:
        """GET a public route as the credential, never as a guest.

        Public routes answer a JWT the dashboard no longer takes (bound to an address this host
        no longer has: NEZHA_API_DELTA.md §5.4) as a guest's, silently and with less: servers
        and monitors hidden from guests are missing. Only routes that need a login refuse it.
        So a login's answer counts once such a route took the same JWT right after it. An access
        token is never taken for a guest (a bad one is refused everywhere, §5.2).
        """
        if not self._credential.renewable:
            return await self._get(path)
        answer, _ = await self._get_pair(path, _PROOF_ROUTE)
        return answer

    async def _get_pair(self, public: str, private: str) -> tuple[_Answer, _Answer]:
        """GET a public route, then one that needs the credential and proves it (see _get_own).

        If the second took another authorization than the first (the first's JWT was refused
        and a new login made), the first may be a guest's answer: both are asked again, once.
        """
        for _ in range(2):
            first, used = await self._get_signed(public)
            second, proved = await self._get_signed(private)
            if proved == used:
                return first, second
        raise NezhaResponseError("the dashboard keeps refusing the JWTs of this login")

    async def _get(
        self, path: str, params: Mapping[str, str] | None = None, *, missing_ok: bool = False
    ) -> _Answer:
        """GET ``/api/v1/<path>``: the envelope's ``data`` and the dashboard's clock."""
        answer, _ = await self._get_signed(path, params, missing_ok=missing_ok)
        return answer

    async def _get_signed(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        missing_ok: bool = False,
        method: str = "GET",
        body: Any = None,
    ) -> tuple[_Answer, str]:
        """``_get`` (or a write: ``method`` and ``body``), and the authorization it was made with.

        A refused JWT is dropped and replaced by one new login, then the request is sent again,
        once. Anything refused after that, or a refused access token, latches the credential.
        ``missing_ok``: an unknown route raises ``_RouteMissing`` instead of a response error.
        """
        credential = self._credential
        authorization = await credential.authorization()
        try:
            return await self._get_once(
                path, params, authorization, missing_ok, method=method, body=body
            ), authorization
        except _Refused as refused:
            if not credential.renewable:
                raise self._refused_for_good(refused) from None
        credential.drop(authorization)
        authorization = await credential.authorization()  # one new login (shared by all)
        try:
            return await self._get_once(
                path, params, authorization, missing_ok, method=method, body=body
            ), authorization
        except _Refused as refused:
            raise self._refused_for_good(refused) from None

    async def _get_once(
        self,
        path: str,
        params: Mapping[str, str] | None,
        authorization: str,
        missing_ok: bool,
        *,
        method: str = "GET",
        body: Any = None,
    ) -> _Answer:
        headers = {"Authorization": authorization}
        cookies = None
        if method != "GET" and self._csrf is not None and self._credential.renewable:
            headers[CSRF_HEADER] = self._csrf
            cookies = {CSRF_COOKIE: self._csrf}
        async with self._limit:
            reply = await fetch(
                self._session,
                method,
                self._base / path,
                limits=self._timeout,
                headers=headers,
                params=params,
                json=body,
                cookies=cookies,
            )
        self._csrf = reply.cookies.get(CSRF_COOKIE) or self._csrf
        answer = self._data(reply, authorization, missing_ok, write=method != "GET")
        return answer, reply.dashboard_time

    def _refused_for_good(self, refused: _Refused) -> NezhaError:
        """The block page means the WAF; any other refusal latches the credential."""
        if refused.block_page:
            return NezhaBlockedError()
        return self._credential.refuse(*self._refusal(refused.detail))

    def _refusal(self, detail: str) -> tuple[str, AuthRefusal]:
        if isinstance(self._credential, AccessToken):
            if not detail:
                # 2.0.x reads an nzp_ token as a JWT and refuses it without a reason.
                return (
                    "the dashboard refused the access token without a reason: before 2.1.0 it"
                    " has no access tokens (sign in with a user name and password instead)"
                ), "no_access_tokens"
            kind: AuthRefusal = "expired" if detail == _PAT_EXPIRED else "refused"
            return f"the dashboard refused the access token ({self._quote(detail)})", kind
        # A JWT issued a moment ago and refused already: e.g. the dashboard binds JWTs to the
        # client's IP address and sees this host under another one on each request.
        return "the dashboard refused the token it had just issued for this login", "session"

    async def _sign_in(self, login: Login) -> Grant:
        """``POST /login``; a refused login is a ``NezhaAuthError`` (the caller latches it)."""
        async with self._limit:
            reply = await fetch(
                self._session,
                "POST",
                self._base / "login",
                limits=self._timeout,
                json={"username": login.username, "password": login.password},
            )
        self._csrf = reply.cookies.get(CSRF_COOKIE) or self._csrf  # 2.x sets it at login
        try:
            data = self._data(reply, None)
        except _Refused as refused:
            if refused.block_page:
                raise NezhaBlockedError() from None
            raise NezhaAuthError("the dashboard refused the user name or password") from None
        grant = data if isinstance(data, Mapping) else {}
        token = text(grant, "token")
        if token is None or not (token.isascii() and token.isprintable()):
            raise NezhaResponseError("the login answer carries no usable token")
        expire = rfc3339(grant.get("expire"))
        lifetime = (
            (expire - reply.dashboard_time).total_seconds()
            if expire is not None and reply.dashboard_time is not None
            else None
        )
        return Grant(token=token, lifetime=lifetime)

    def _data(
        self,
        reply: Reply,
        authorization: str | None,
        missing_ok: bool = False,
        *,
        write: bool = False,
    ) -> Any:
        """The ``data`` of a success envelope; every other answer raised as what it means."""
        secrets = (*self._credential.secrets, *([authorization] if authorization else []))
        if reply.status == 403 and _not_json(reply.body):
            # The WAF's page: a block of this host, or (2.x) its answer to a stale JWT session.
            raise _Refused("", block_page=True)
        payload = decode_json_object(reply.body, reply.status, secrets)
        error = payload.get("error")
        if error == ERROR_ROUTE_MISSING:
            if missing_ok:
                raise _RouteMissing
            raise NezhaResponseError(f"HTTP {reply.status}: the dashboard has no such route")
        if isinstance(error, str):
            raise self._error(error, reply.status, secrets, write=write)
        if payload.get("success") is not True:
            raise NezhaResponseError(f"HTTP {reply.status}: JSON without a Nezha 1.x/2.x envelope")
        return payload.get("data")

    def _error(
        self, error: str, status: int, secrets: tuple[str, ...], *, write: bool = False
    ) -> Exception:
        kind, _, detail = error.partition(":")
        detail = detail.strip()
        # A write's refusal in the dashboard's words has its own type (reads keep theirs).
        refusal = action_error(error) if write else None
        if error == ERROR_REAL_IP_MISSING:
            refusal = NezhaRealIpHeaderError()
        if refusal is not None:
            return refusal
        if kind == ERROR_UNAUTHORIZED:
            if detail == _PAT_LOOKUP_FAILED:
                return NezhaResponseError(
                    f"HTTP {status}: the dashboard could not look the token up"
                )
            return _Refused(redact(detail, secrets), block_page=False)
        if kind == _FORBIDDEN:
            detail = redact(detail, secrets)
            if match := _SCOPE.search(detail):
                return NezhaPermissionError(
                    f"the access token lacks the scope {match.group(1)}", match.group(1)
                )
            return NezhaPermissionError(
                f"the dashboard forbids this request ({self._quote(detail)})"
            )
        return NezhaResponseError(
            f"HTTP {status}: the dashboard says {self._quote(redact(error, secrets))}"
        )

    @staticmethod
    def _quote(text: str) -> str:
        return repr(text[:_QUOTE_CHARS])


def _groups(data: Any) -> dict[int, tuple[str, frozenset[int]]]:
    """``GET /server-group``'s data: each group's name and member servers, by id."""
    return {
        group_id: (name, members)
        for group_id, name, members in filter(None, map(parse_group, objects(data)))
    }


def _not_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError, RecursionError:
        return True
    return False
