"""The simulator of ``scripts/develop``: the lively demo fleet, plus a route to steer it.

``python -m nezha_simulator --demo`` serves the same fleet, but nothing can change it from outside
its process, so nothing in the demo ever goes offline. This adds, on the same port::

    POST /demo/servers/<name>/offline    the server's agent hangs: no more reports
    POST /demo/servers/<name>/stopped    its agent process stops (2.x then shows the zero time)
    POST /demo/servers/<name>/online     it reports again
    POST /demo/restart                   the dashboard restarts as recorded on real ones
    POST /demo/generation/<v0|v1|v2>     the same fleet answers as another generation from now on

so a user trying a blueprint can make it fire (README, "Try a blueprint in the demo"), and the
browser test can add the fleet through a 2.x and then a 0.x dashboard without a second simulator.
A real dashboard has no such routes; the simulator's own routes are untouched.

``--generation`` (default ``v2``) picks what it speaks first; the credentials are fixed by the
caller (``scripts/develop`` passes the public demo values of ``scripts/setup``) and printed.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
import contextlib
from pathlib import Path
import re
import sys

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a file, like bench.py
from nezha_simulator import Generation, NezhaSimulator, build_demo_fleet
from nezha_simulator.__main__ import connect_lines
from nezha_simulator.demo import DEMO_PAT_SCOPES

CONTROL = re.compile(r"^/demo/servers/(?P<name>[^/]+)/(?P<state>offline|stopped|online)$")
GENERATION = re.compile(r"^/demo/generation/(?P<generation>v0|v1|v2)$")
GENERATIONS: tuple[Generation, ...] = ("v0", "v1", "v2")


def control_middleware(sim: NezhaSimulator) -> Callable[..., Awaitable[web.StreamResponse]]:
    """A middleware answering the control route and passing everything else on."""

    @web.middleware
    async def middleware(
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        if request.method != "POST":
            return await handler(request)
        if switch := GENERATION.match(request.path):
            sim.generation = next(g for g in GENERATIONS if g == switch["generation"])
            sim.drop_streams()  # a 2.x websocket has no place on a 0.x dashboard
            return web.Response(text=f"the demo answers as {sim.generation} now\n")
        if request.path == "/demo/restart":
            restart = sim.restart_as_recorded()
            listen = restart.listen_at - sim.now
            return web.Response(
                text=f"the dashboard restarts: back in {listen:.0f} s, agents later\n"
            )
        match = CONTROL.match(request.path)
        if match is None:
            return await handler(request)
        name, state = match["name"], match["state"]
        server = next((s for s in sim.servers.values() if s.name == name), None)
        if server is None:
            names = ", ".join(sorted(s.name for s in sim.servers.values()))
            return web.Response(status=404, text=f"no demo server {name!r} (there are {names})\n")
        if state == "offline":
            sim.take_offline(server.id)
        elif state == "stopped":
            sim.stop_agent(server.id)
        else:
            sim.bring_online(server.id)
        return web.Response(text=f"{name} is {state}\n")

    return middleware


class DemoSimulator(NezhaSimulator):
    """A simulator whose app also serves the control route."""

    def make_app(self) -> web.Application:
        """The simulator's app with the control middleware in front."""
        app = super().make_app()
        app.middlewares.append(control_middleware(self))
        return app


def make_demo(args: argparse.Namespace) -> DemoSimulator:
    """The demo simulator with the given credentials (a v2 PAT only if asked for one)."""
    sim = DemoSimulator(token=args.token, seed=args.seed, generation=args.generation)
    if args.password:
        sim.admin.password = args.password
    if args.pat:
        sim.create_pat(DEMO_PAT_SCOPES, plaintext=args.pat, name="Home Assistant demo")
    return sim


async def serve(args: argparse.Namespace) -> None:
    """Serve the demo fleet (moving along the real clock) until cancelled."""
    sim = make_demo(args)
    ticker = asyncio.create_task(build_demo_fleet(sim, seed=args.seed).run())
    url = await sim.start(args.host, args.port)
    for line in connect_lines(sim, url, args.pat):
        print(line, flush=True)
    print(f"Steer it: POST {url}/demo/servers/NAME/offline (or /online)", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        ticker.cancel()
        await sim.stop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8008)
    parser.add_argument(
        "--generation", choices=GENERATIONS, default="v2", help="what it speaks (default v2)"
    )
    parser.add_argument("--token", help="the v0 API token to accept (default: a random one)")
    parser.add_argument("--password", help="the v1/v2 admin's password (default: a random one)")
    parser.add_argument(
        "--pat", help=f"a v2 personal access token to accept, scopes {' '.join(DEMO_PAT_SCOPES)}"
    )
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Entry point; Ctrl-C or SIGTERM stops it."""
    args = parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))


if __name__ == "__main__":
    main()
