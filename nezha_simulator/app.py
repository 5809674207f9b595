"""The HTTP side of the simulator: routes, authentication, fault injection and the Date header.

Routing follows gin in release mode at v0.20.13: only ``GET`` is routed, anything else (unknown
path, wrong method, ``HEAD``) gets the dashboard's HTML 404 page. With ``generation`` ``"v1"`` or
``"v2"`` the same server answers like v1.14.14 or v2.3.7 (``routes_v1.Router``), which no longer
have the token API.
"""

import asyncio
from dataclasses import dataclass
from email.utils import formatdate
import hmac
import re
import secrets
import string
from types import TracebackType
from typing import Literal, NamedTuple, Self

from aiohttp import hdrs, web

from .accounts import SimPat
from .gojson import GoJSON, dumps
from .routes_v1 import Router
from .services import ServiceWorld
from .stream import StreamHub

type Generation = Literal["v0", "v1", "v2"]

AUTH_REQUIRED_MESSAGE = "访问此接口需要认证"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
HTML_CONTENT_TYPE = "text/html; charset=utf-8"

PAGE_404 = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>该页面不存在 - 哪吒监控</title>
</head>
<body>
<div class="ui container">
<h1>404</h1>
<h2>该页面不存在</h2>
<p>该页面内容可能已着陆火星</p>
<a class="ui button" href="/">返回首页</a>
</div>
</body>
</html>
"""

BAD_GATEWAY_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)

LOGIN_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in</title></head>
<body>
<form method="post" action="/login">
<input name="username" autocomplete="username">
<input name="password" type="password" autocomplete="current-password">
<button type="submit">Sign in</button>
</form>
</body>
</html>
"""

BROKEN_JSON = '{"code":0,"message":"success","result":[{"id":1,"name":"'

_UINT64 = re.compile(r"[0-9]{1,20}")
_MONITOR_PREFIX = "/api/v1/monitor/"
_VIEW_PASSWORD_COOKIE = "nezha-dashboard-vp"


class SimRequest(NamedTuple):
    """One request the simulator received. ``repr`` hides the Authorization header."""

    method: str
    path_qs: str
    authorization: str | None

    def __repr__(self) -> str:
        """Show the request without its credentials."""
        auth = "None" if self.authorization is None else "'***'"
        return f"SimRequest(method={self.method!r}, path_qs={self.path_qs!r}, authorization={auth})"


@dataclass
class _Fault:
    """A canned misbehaviour for the next ``remaining`` matching requests."""

    remaining: int
    path: str | None
    delay: float = 0.0
    status: int | None = None
    body: bytes = b""
    content_type: str = ""
    disconnect: bool = False


def parse_uint64(text: str) -> int | None:
    """``strconv.ParseUint(text, 10, 64)``: ASCII digits only, no sign or spaces, in range."""
    if not _UINT64.fullmatch(text):
        return None
    value = int(text)
    return value if value < 2**64 else None


def random_token() -> str:
    """A token like the v0 admin UI makes: 32 letters and digits."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(32))


def _json(payload: GoJSON, status: int = 200) -> web.Response:
    """A gin ``c.JSON`` response."""
    return web.Response(
        status=status,
        body=dumps(payload).encode(),
        headers={hdrs.CONTENT_TYPE: JSON_CONTENT_TYPE},
    )


def _html(page: str, status: int) -> web.Response:
    """A gin ``c.HTML`` response."""
    return web.Response(
        status=status, body=page.encode(), headers={hdrs.CONTENT_TYPE: HTML_CONTENT_TYPE}
    )


class NezhaSimulator(ServiceWorld):
    """A Nezha dashboard on aiohttp, steered in-process (see ``NezhaWorld`` and ``ServiceWorld``).

    ``generation`` picks what it speaks: ``v0`` (v0.20.13's token API), ``v1`` (v1.14.14) or
    ``v2`` (v2.3.7); it may be changed at any time. ``token`` is the one valid v0 API token (a
    random one if not given); ``now`` freezes the clock at that Unix time, ``None`` lets it
    follow ``time.time()``.
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        seed: int = 0,
        now: float | None = None,
        generation: Generation = "v0",
    ) -> None:
        """Create a stopped simulator with no servers."""
        super().__init__(seed=seed, now=now)
        self.token: str | None = random_token() if token is None else token
        self.generation: Generation = generation
        self.latency = 0.0
        """Seconds to wait before answering every request."""
        self.view_password: str | None = None
        """Site view password; the ``nezha-dashboard-vp`` cookie must hold it (real: a bcrypt hash)."""
        self.requests: list[SimRequest] = []
        self._faults: list[_Fault] = []
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._streams = StreamHub()
        self._router = Router(self, self._streams)

    # Lifecycle

    def make_app(self) -> web.Application:
        """An aiohttp application serving this dashboard (for test clients or runners)."""
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._handle)
        app.on_response_prepare.append(self._on_response_prepare)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (a free port by default) and return the base URL."""
        if self._runner is not None:
            raise RuntimeError("the simulator is already running")
        runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound_port = runner.addresses[0][1]
        self._url = (
            f"http://[{host}]:{bound_port}" if ":" in host else f"http://{host}:{bound_port}"
        )
        return self._url

    async def stop(self) -> None:
        """Stop serving (safe to call when not running); open streams close at once."""
        self._streams.drop()
        if self._runner is not None:
            runner, self._runner, self._url = self._runner, None, None
            await runner.cleanup()

    @property
    def url(self) -> str:
        """Base URL of the running simulator, e.g. ``http://127.0.0.1:41234``."""
        if self._url is None:
            raise RuntimeError("the simulator is not running")
        return self._url

    async def __aenter__(self) -> Self:
        """Start serving."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop serving."""
        await self.stop()

    # Steering

    @property
    def frame_interval(self) -> float:
        """Seconds of wall time between two ``/ws/server`` frames (2 s on a real dashboard)."""
        return self._streams.frame_interval

    @frame_interval.setter
    def frame_interval(self, value: float) -> None:
        self._streams.frame_interval = value

    @property
    def open_streams(self) -> int:
        """Open ``/api/v1/ws/server`` connections."""
        return self._streams.open

    def drop_streams(self) -> None:
        """Close every open stream (TCP close, no close frame)."""
        self._streams.drop()

    def stall_streams(self, stalled: bool = True) -> None:
        """Keep streams open but send no frames (``False`` resumes)."""
        self._streams.stalled = stalled

    def _pat_revoked(self, pat: SimPat) -> None:
        """A deleted PAT's streams close at once (v2.1.0+ ``api_token_revoke_registry.go``)."""
        self._streams.drop(pat.digest)

    def revoke_token(self) -> None:
        """Delete the API token: no token is accepted any more."""
        self.token = None

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int = 502,
        body: str = BAD_GATEWAY_PAGE,
        content_type: str = "text/html",
        path: str | None = None,
    ) -> None:
        """Answer the next ``n`` requests (under ``path``, if given) with this canned response."""
        self._faults.append(
            _Fault(n, path, status=status, body=body.encode(), content_type=content_type)
        )

    def html_next(self, n: int = 1, *, path: str | None = None) -> None:
        """Answer with an HTTP 200 login page, as an SSO proxy in front of the dashboard does."""
        self.fail_next(n, status=200, body=LOGIN_PAGE, content_type=HTML_CONTENT_TYPE, path=path)

    def broken_json_next(self, n: int = 1, *, path: str | None = None) -> None:
        """Answer with HTTP 200 ``application/json`` that is cut off mid-way."""
        self.fail_next(n, status=200, body=BROKEN_JSON, content_type=JSON_CONTENT_TYPE, path=path)

    def slow_next(self, seconds: float, n: int = 1, *, path: str | None = None) -> None:
        """Answer the next ``n`` requests normally, but only after ``seconds``."""
        self._faults.append(_Fault(n, path, delay=seconds))

    def disconnect_next(self, n: int = 1, *, path: str | None = None) -> None:
        """Close the connection without answering the next ``n`` requests.

        aiohttp clients retry an idempotent request once after a disconnect, so it takes
        ``n=2`` to make one ``GET`` fail.
        """
        self._faults.append(_Fault(n, path, disconnect=True))

    @property
    def pending_faults(self) -> int:
        """How many faulty answers are still queued."""
        return sum(fault.remaining for fault in self._faults)

    def clear_faults(self) -> None:
        """Drop all queued faults."""
        self._faults.clear()

    # HTTP

    def _take_fault(self, path: str) -> _Fault | None:
        """Consume one use of the first queued fault that applies to ``path``."""
        for fault in self._faults:
            if fault.path is None or path.startswith(fault.path):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    async def _on_response_prepare(self, _: web.Request, response: web.StreamResponse) -> None:
        """Date from the dashboard clock; no Server header (gin sends none)."""
        response.headers[hdrs.DATE] = formatdate(self.now, usegmt=True)
        response.headers.popall(hdrs.SERVER, None)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        """Record, delay, inject a fault or route the request."""
        self.requests.append(
            SimRequest(request.method, request.path_qs, request.headers.get(hdrs.AUTHORIZATION))
        )
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        fault = self._take_fault(request.path)
        if fault is not None:
            if fault.delay > 0:
                await asyncio.sleep(fault.delay)
            if fault.disconnect:
                # aiohttp cannot write to an aborted transport and drops the response quietly.
                if request.transport is not None:
                    request.transport.abort()
                return web.Response(status=500)
            if fault.status is not None:
                return web.Response(
                    status=fault.status,
                    body=fault.body,
                    headers={hdrs.CONTENT_TYPE: fault.content_type},
                )
        if self.generation != "v0":
            return await self._router.handle(request, v2=self.generation == "v2")
        return self._route_v0(request)

    def _route_v0(self, request: web.Request) -> web.Response:
        """The v0.20.13 routes; everything else is the HTML 404 page."""
        path = request.path
        if request.method == hdrs.METH_GET:
            if path == "/api/v1/server/list":
                return self._server_list(request)
            if path == "/api/v1/server/details":
                return self._server_details(request)
            server_id = path.removeprefix(_MONITOR_PREFIX)
            if path.startswith(_MONITOR_PREFIX) and server_id and "/" not in server_id:
                return self._monitor(request, server_id)
        return _html(PAGE_404, 404)

    def _authorized(self, request: web.Request) -> bool:
        """Whether the raw ``Authorization`` header is the API token (no ``Bearer``)."""
        header = request.headers.get(hdrs.AUTHORIZATION, "")
        return (
            self.token is not None
            and header != ""
            and hmac.compare_digest(header.encode(), self.token.encode())
        )

    def _server_list(self, request: web.Request) -> web.Response:
        """``GET /api/v1/server/list?tag=``: ``CommonServerInfo`` only, display fields zeroed."""
        if not self._authorized(request):
            return _json({"code": 403, "message": AUTH_REQUIRED_MESSAGE})
        servers = self.ordered(tag=request.query.get("tag", ""))
        result: list[GoJSON] = [self.common_info(server) for server in servers]
        return _json({"code": 0, "message": "success", "result": result})

    def _server_details(self, request: web.Request) -> web.Response:
        """``GET /api/v1/server/details?id=&tag=``: tag wins over id, neither means all."""
        if not self._authorized(request):
            return _json({"code": 403, "message": AUTH_REQUIRED_MESSAGE})
        tag = request.query.get("tag", "")
        ids = request.query.get("id", "")
        if tag:
            servers, with_display = self.ordered(tag=tag), False
        elif ids:
            servers = self.by_ids(parse_uint64(part) or 0 for part in ids.split(","))
            with_display = False
        else:
            servers, with_display = self.ordered(), True
        result: list[GoJSON] = [
            self.status_response(server, with_display=with_display) for server in servers
        ]
        return _json({"code": 0, "message": "success", "result": result})

    def _monitor(self, request: web.Request, raw_id: str) -> web.Response:
        """``GET /api/v1/monitor/:server_id`` with the checks in the dashboard's order."""
        authorized = self._authorized(request)
        if not authorized and self.view_password is not None:
            if request.cookies.get(_VIEW_PASSWORD_COOKIE) != self.view_password:
                return _json({"code": 403, "message": "访问受限"})
            authorized = True
        server_id = parse_uint64(raw_id)
        if server_id is None:
            return _json({"code": 400, "message": "id参数错误"}, 400)
        server = self.servers.get(server_id)
        if server is None:
            return _json({"code": 404, "message": "id不存在"}, 404)
        if server.hide_for_guest and not authorized:
            return _json({"code": 403, "message": "需要认证"}, 403)
        result = self.monitor_histories(server_id)
        return _json({"code": 0, "message": "success", "result": result})
