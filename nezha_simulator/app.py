"""The HTTP side of the simulator: its lifecycle, the knobs tests turn, and the request pipeline.

Every request is recorded, delayed by ``latency``, answered by a queued fault (``faults.py``) if
one applies, then routed: v0.20.13's token API (``routes_v0.V0Routes``) or, with ``generation``
``"v1"`` or ``"v2"``, v1.14.14 or v2.3.7 (``routes_v1.Router``), which no longer have the token
API. Every response carries a ``Date`` from the dashboard clock.
"""

import asyncio
from collections.abc import Mapping
from email.utils import formatdate
import secrets
import string
from types import TracebackType
from typing import Literal, NamedTuple, Self

from aiohttp import hdrs, web

from .accounts import SimPat
from .agents import Restart
from .faults import BAD_GATEWAY_PAGE, BROKEN_JSON, LOGIN_PAGE, Fault, FaultQueue
from .routes_v0 import HTML_CONTENT_TYPE, JSON_CONTENT_TYPE, V0Routes
from .routes_v1 import Router
from .services import ServiceWorld
from .stream import StreamHub

type Generation = Literal["v0", "v1", "v2"]


def _drop(request: web.Request) -> web.Response:
    """Close the connection without an answer (aiohttp drops a response to an aborted transport)."""
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=500)


class SimRequest(NamedTuple):
    """One request the simulator received. ``repr`` hides the Authorization header."""

    method: str
    path_qs: str
    authorization: str | None

    def __repr__(self) -> str:
        """Show the request without its credentials."""
        auth = "None" if self.authorization is None else "'***'"
        return f"SimRequest(method={self.method!r}, path_qs={self.path_qs!r}, authorization={auth})"


def random_token() -> str:
    """A token like the v0 admin UI makes: 32 letters and digits."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(32))


class NezhaSimulator(V0Routes, ServiceWorld):
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
        self.requests_in_flight = 0
        """Requests being handled right now (waiting out latency or a fault's delay included)."""
        self.requests_in_flight_max = 0
        """The most requests handled at once since start or ``reset_in_flight``."""
        self._faults = FaultQueue()
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

    @property
    def upgrade_stripped(self) -> bool:
        """A proxy without the upgrade headers is in front: stream handshakes get HTTP 400.

        As recorded through nginx without ``proxy_http_version 1.1``/``Upgrade``/``Connection``
        (``ws_through_proxy_without_upgrade.json``): ``text/plain`` "Bad Request"; REST works.
        """
        return self._streams.upgrade_stripped

    @upgrade_stripped.setter
    def upgrade_stripped(self, value: bool) -> None:
        self._streams.upgrade_stripped = value

    def restart_as_recorded(
        self, agents_back: float | Mapping[int, float] | None = None
    ) -> Restart:
        """Restart the dashboard with the timings recorded on real ones (``restart_dashboard``).

        1.x/2.x stop gracefully in 5 s (answers and frames go on), 0.x at once; nothing listens
        for 2 s; agents reconnect 8 s later (by default one per second in id order, as
        recorded), each with its host a second before its state.
        """
        if agents_back is None:
            agents_back = {
                server_id: 8.0 + index for index, server_id in enumerate(sorted(self.servers))
            }
        graceful = 0.0 if self.generation == "v0" else 5.0
        return self.restart_dashboard(
            graceful=graceful, refused=2.0, agents_back=agents_back, host_lead=1.0
        )

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
        self._faults.add(
            Fault(n, path, status=status, body=body.encode(), content_type=content_type)
        )

    def html_next(self, n: int = 1, *, path: str | None = None) -> None:
        """Answer with an HTTP 200 login page, as an SSO proxy in front of the dashboard does."""
        self.fail_next(n, status=200, body=LOGIN_PAGE, content_type=HTML_CONTENT_TYPE, path=path)

    def broken_json_next(self, n: int = 1, *, path: str | None = None) -> None:
        """Answer with HTTP 200 ``application/json`` that is cut off mid-way."""
        self.fail_next(n, status=200, body=BROKEN_JSON, content_type=JSON_CONTENT_TYPE, path=path)

    def slow_next(self, seconds: float, n: int = 1, *, path: str | None = None) -> None:
        """Answer the next ``n`` requests normally, but only after ``seconds``."""
        self._faults.add(Fault(n, path, delay=seconds))

    def disconnect_next(self, n: int = 1, *, path: str | None = None) -> None:
        """Close the connection without answering the next ``n`` requests.

        aiohttp clients retry an idempotent request once after a disconnect, so it takes
        ``n=2`` to make one ``GET`` fail.
        """
        self._faults.add(Fault(n, path, disconnect=True))

    def reset_in_flight(self) -> None:
        """Start counting ``requests_in_flight_max`` afresh."""
        self.requests_in_flight_max = self.requests_in_flight

    @property
    def pending_faults(self) -> int:
        """How many faulty answers are still queued."""
        return self._faults.pending

    def clear_faults(self) -> None:
        """Drop all queued faults."""
        self._faults.clear()

    # HTTP

    async def _on_response_prepare(self, _: web.Request, response: web.StreamResponse) -> None:
        """Date from the dashboard clock; no Server header (gin sends none)."""
        response.headers[hdrs.DATE] = formatdate(self.now, usegmt=True)
        response.headers.popall(hdrs.SERVER, None)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        """Count the request in flight while it is handled."""
        self.requests_in_flight += 1
        self.requests_in_flight_max = max(self.requests_in_flight_max, self.requests_in_flight)
        try:
            return await self._answer(request)
        finally:
            self.requests_in_flight -= 1

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        """Record, delay, inject a fault or route the request."""
        self.requests.append(
            SimRequest(request.method, request.path_qs, request.headers.get(hdrs.AUTHORIZATION))
        )
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        restart = self.restart
        if restart is not None and restart.refusing(self.now):
            # Nothing listens between two processes: the connection ends unanswered.
            return _drop(request)
        fault = self._faults.take(request.path)
        if fault is not None:
            if fault.delay > 0:
                await asyncio.sleep(fault.delay)
            if fault.disconnect:
                return _drop(request)
            if fault.status is not None:
                return web.Response(
                    status=fault.status,
                    body=fault.body,
                    headers={hdrs.CONTENT_TYPE: fault.content_type},
                )
        if self.generation != "v0":
            return await self._router.handle(request, v2=self.generation == "v2")
        return self._route_v0(request)
