"""The simulator of ``scripts/develop``: the lively demo fleet, plus a route to steer it.

``python -m nezha_simulator --demo`` serves the same fleet, but nothing can change it from outside
its process, so nothing in the demo ever goes offline. This adds, on the same port::

    POST /demo/servers/<name>/offline    the server's agent stops reporting
    POST /demo/servers/<name>/online     it reports again

so a user trying a blueprint can make it fire (README, "Try a blueprint in the demo"). A real v0
dashboard has no such route; the simulator's own routes are untouched.
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
from nezha_simulator import NezhaSimulator, build_demo_fleet

CONTROL = re.compile(r"^/demo/servers/(?P<name>[^/]+)/(?P<state>offline|online)$")


def control_middleware(sim: NezhaSimulator) -> Callable[..., Awaitable[web.StreamResponse]]:
    """A middleware answering the control route and passing everything else on."""

    @web.middleware
    async def middleware(
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        match = CONTROL.match(request.path)
        if match is None or request.method != "POST":
            return await handler(request)
        name, state = match["name"], match["state"]
        server = next((s for s in sim.servers.values() if s.name == name), None)
        if server is None:
            names = ", ".join(sorted(s.name for s in sim.servers.values()))
            return web.Response(status=404, text=f"no demo server {name!r} (there are {names})\n")
        if state == "offline":
            sim.take_offline(server.id)
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


async def serve(args: argparse.Namespace) -> None:
    """Serve the demo fleet (moving along the real clock) until cancelled."""
    sim = DemoSimulator(token=args.token, seed=args.seed)
    ticker = asyncio.create_task(build_demo_fleet(sim, seed=args.seed).run())
    url = await sim.start(args.host, args.port)
    print(f"Nezha v0 demo dashboard at {url} (POST {url}/demo/servers/NAME/offline)", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        ticker.cancel()
        await sim.stop()


def main(argv: list[str] | None = None) -> None:
    """Entry point; Ctrl-C or SIGTERM stops it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8008)
    parser.add_argument("--token", required=True, help="the API token to accept")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))


if __name__ == "__main__":
    main()
