"""Serve a simulated Nezha dashboard: ``python -m nezha_simulator [--generation v0|v1|v2] [--demo]``.

Without ``--demo`` the dashboard is empty (no servers, no monitors); with it, it serves the demo
fleet of ``build_demo_fleet`` and keeps it moving. The clock follows the real one either way.
It prints how to connect: the API token (v0), the admin's user name and password (v1, v2) and a
personal access token with its scopes (v2).
"""

import argparse
import asyncio
import contextlib

from .app import NezhaSimulator
from .demo import DEMO_PAT_SCOPES, build_demo_fleet
from .render_v1 import V1_VERSION, V2_VERSION

VERSIONS = {"v0": "v0", "v1": f"v{V1_VERSION}", "v2": f"v{V2_VERSION}"}


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m nezha_simulator", description="Simulated Nezha dashboard API."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8008, help="port to bind (default 8008)")
    parser.add_argument(
        "--generation",
        choices=("v0", "v1", "v2"),
        default="v0",
        help="v0 (v0.20.13, default), v1 (v1.14.14) or v2 (v2.3.7)",
    )
    parser.add_argument("--token", help="the v0 API token to accept (default: a random one)")
    parser.add_argument("--password", help="the v1/v2 admin's password (default: a random one)")
    parser.add_argument("--seed", type=int, default=0, help="seed for orders and the demo")
    parser.add_argument("--demo", action="store_true", help="serve a lively demo fleet")
    return parser.parse_args(argv)


def connect_lines(sim: NezhaSimulator, url: str, pat: str | None = None) -> list[str]:
    """What a user needs to connect to this dashboard; v2 prints ``pat`` (else creates one)."""
    lines = [f"Nezha {VERSIONS[sim.generation]} dashboard simulator at {url}"]
    if sim.generation == "v0":
        return [*lines, f"API token: {sim.token}"]
    lines.append(f"User: {sim.admin.username}  Password: {sim.admin.password}")
    if sim.generation == "v2":
        pat = pat or sim.create_pat(DEMO_PAT_SCOPES)
        lines.append(f"PAT ({' '.join(DEMO_PAT_SCOPES)}): {pat}")
    return lines


async def serve(args: argparse.Namespace) -> None:
    """Run the simulator (and the demo ticker) until cancelled."""
    sim = NezhaSimulator(token=args.token, seed=args.seed, generation=args.generation)
    if args.password:
        sim.admin.password = args.password
    ticker = asyncio.create_task(build_demo_fleet(sim, seed=args.seed).run()) if args.demo else None
    url = await sim.start(args.host, args.port)
    for line in connect_lines(sim, url):
        print(line, flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        if ticker is not None:
            ticker.cancel()
        await sim.stop()


def main(argv: list[str] | None = None) -> None:
    """Entry point; Ctrl-C stops it."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(_parse_args(argv)))


if __name__ == "__main__":
    main()
