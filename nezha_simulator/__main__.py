"""Serve a simulated Nezha v0 dashboard: ``python -m nezha_simulator [--demo]``.

Without ``--demo`` the dashboard is empty (no servers, no monitors); with it, it serves the demo
fleet of ``build_demo_fleet`` and keeps it moving. The clock follows the real one either way.
"""

import argparse
import asyncio
import contextlib

from .app import NezhaSimulator
from .demo import build_demo_fleet


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m nezha_simulator", description="Simulated Nezha v0.20.13 dashboard API."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8008, help="port to bind (default 8008)")
    parser.add_argument("--token", help="the API token to accept (default: a random one)")
    parser.add_argument("--seed", type=int, default=0, help="seed for orders and the demo")
    parser.add_argument("--demo", action="store_true", help="serve a lively demo fleet")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Run the simulator (and the demo ticker) until cancelled."""
    sim = NezhaSimulator(token=args.token, seed=args.seed)
    ticker = asyncio.create_task(build_demo_fleet(sim, seed=args.seed).run()) if args.demo else None
    url = await sim.start(args.host, args.port)
    print(f"Nezha v0 dashboard simulator at {url}", flush=True)
    print(f"API token: {sim.token}", flush=True)
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
