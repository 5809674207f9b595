"""The simulated dashboard of ``scripts/bench``, in a process of its own, steered over HTTP.

    python scripts/bench_server.py        prints {"url": ..., "control": ...} as its first line

Serves ``NezhaSimulator``'s v0 API (its ``_handle`` counts requests in flight, adds the latency
and routes) from bodies encoded once per change, so the dashboard is never the bottleneck: the
figures measured on the other side are the integration's. A second port takes the commands:

    POST /fleet?servers=N&points=1440    N real-shaped servers, 2 ping monitors with a 24 h series
                                         (a 0.x dashboard again, not streaming)
    POST /latency?ms=20                  wait this long before answering each request
    POST /change                         change every value of every server (one new details body)
    POST /stream?frame_ms=333            show the fleet as a 2.x dashboard streaming a frame every
                                         333 ms, every value of every server changed before each
                                         frame (the worst case); returns an access token for it
    POST /reset                          restart the in-flight maximum and the request count
    GET  /stats                          {"cpu_s", "requests", "in_flight_max"} of this process
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
import sys
import time

from aiohttp import hdrs, web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nezha_simulator import NezhaSimulator, dumps

TOKEN = "benchToken0123456789abcdefghijkl"
NOW = 1_764_158_400.0
"""A frozen dashboard clock: a poll with nothing changed is truly unchanged."""
MONITORS = ("ICMP 1.1.1.1", "TCP example.com:443")
JSON_TYPE = "application/json; charset=utf-8"


class BenchSimulator(NezhaSimulator):
    """The simulator with its v0 answers encoded ahead (same bytes, encoded once per change)."""

    def __init__(self) -> None:
        """A stopped simulator with a frozen clock and no servers."""
        super().__init__(token=TOKEN, seed=0, now=NOW)
        self.details = b""
        self.series: dict[str, bytes] = {}
        self.generation_count = 0

    def build(self, servers: int, points: int) -> None:
        """``servers`` copies of one real-shaped server, each with both monitors' series."""
        for server_id in list(self.servers):
            self.remove_server(server_id)
        for _ in range(servers):
            self.add_server(temperatures=[("coretemp_package_id_0", 47.0)], cpu=12.5)
        newest = int(NOW // 60) * 60_000
        times = json.dumps([newest - 60_000 * (points - 1 - i) for i in range(points)])
        delays = [
            json.dumps([round(10 + (i * 7 + shift) % 40 * 0.25, 2) for i in range(points)])
            for shift in (0, 3)
        ]
        self.series = {}
        for server_id, server in self.servers.items():
            items = ",".join(
                f'{{"monitor_id":{index + 1},"server_id":{server_id},'
                f'"monitor_name":{json.dumps(name)},"server_name":{json.dumps(server.name)},'
                f'"created_at":{times},"avg_delay":{delays[index]}}}'
                for index, name in enumerate(MONITORS)
            )
            self.series[f"/api/v1/monitor/{server_id}"] = (
                f'{{"code":0,"message":"success","result":[{items}]}}'.encode()
            )
        self.encode_details()

    def change_everything(self) -> None:
        """Every live value of every server moves (the clock stays, so nobody goes offline)."""
        self.generation_count += 1
        step = self.generation_count
        for server_id, server in self.servers.items():
            status = server.status
            self.set_status(
                server_id,
                report=False,
                cpu=(status.cpu + 1.5) % 100,
                mem_used=status.mem_used + 4096,
                swap_used=status.swap_used + 4096,
                disk_used=status.disk_used + 4096,
                net_in_transfer=status.net_in_transfer + 1000,
                net_out_transfer=status.net_out_transfer + 1000,
                net_in_speed=status.net_in_speed + 100 + step,
                net_out_speed=status.net_out_speed + 100 + step,
                load1=status.load1 + 0.01,
                load5=status.load5 + 0.01,
                load15=status.load15 + 0.01,
                tcp_conn_count=status.tcp_conn_count + 1,
                udp_conn_count=status.udp_conn_count + 1,
                process_count=status.process_count + 1,
                temperatures=[("coretemp_package_id_0", 40.0 + step % 20)],
            )
        self.encode_details()

    def encode_details(self) -> None:
        """The unfiltered ``/server/details`` answer, as the Go encoder writes it."""
        result = [self.status_response(s, with_display=True) for s in self.ordered()]
        self.details = dumps({"code": 0, "message": "success", "result": result}).encode()

    def _route_v0(self, request: web.Request) -> web.Response:
        """The pre-encoded answers for the benchmark's paths, the simulator's for the rest."""
        if request.method == hdrs.METH_GET and self._authorized(request):
            if request.path == "/api/v1/server/details" and not request.query:
                return web.Response(body=self.details, headers={hdrs.CONTENT_TYPE: JSON_TYPE})
            if (body := self.series.get(request.path)) is not None:
                return web.Response(body=body, headers={hdrs.CONTENT_TYPE: JSON_TYPE})
        return super()._route_v0(request)


def control_app(sim: BenchSimulator) -> web.Application:
    """The commands of the module docstring."""

    changing: list[asyncio.Task[None]] = []
    """The task changing the fleet before each frame, while it streams."""

    def stop_streaming() -> None:
        for task in changing:
            task.cancel()
        changing.clear()
        sim.generation = "v0"

    async def fleet(request: web.Request) -> web.Response:
        stop_streaming()
        sim.build(int(request.query["servers"]), int(request.query.get("points", "1440")))
        return web.json_response({"servers": len(sim.servers)})

    async def latency(request: web.Request) -> web.Response:
        sim.latency = float(request.query["ms"]) / 1000
        return web.json_response({"latency_ms": sim.latency * 1000})

    async def change(_: web.Request) -> web.Response:
        sim.change_everything()
        return web.json_response({"generation": sim.generation_count})

    async def change_before_each_frame(interval: float) -> None:
        while True:
            sim.change_everything()
            await asyncio.sleep(interval)

    async def stream(request: web.Request) -> web.Response:
        interval = float(request.query.get("frame_ms", "333")) / 1000
        stop_streaming()
        sim.generation = "v2"
        sim.frame_interval = interval
        pat = sim.create_pat(("nezha:inventory:read", "nezha:service:read"))
        changing.append(asyncio.create_task(change_before_each_frame(interval)))
        return web.json_response({"token": pat})

    async def reset(_: web.Request) -> web.Response:
        sim.requests.clear()
        sim.reset_in_flight()
        return web.json_response({})

    async def stats(_: web.Request) -> web.Response:
        return web.json_response(
            {
                "cpu_s": time.process_time(),
                "requests": len(sim.requests),
                "in_flight_max": sim.requests_in_flight_max,
            }
        )

    app = web.Application()
    app.router.add_post("/fleet", fleet)
    app.router.add_post("/latency", latency)
    app.router.add_post("/change", change)
    app.router.add_post("/stream", stream)
    app.router.add_post("/reset", reset)
    app.router.add_get("/stats", stats)
    return app


async def serve() -> None:
    """Serve both ports until stdin closes (the benchmark ends or dies)."""
    sim = BenchSimulator()
    url = await sim.start()
    runner = web.AppRunner(control_app(sim), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    control = f"http://127.0.0.1:{runner.addresses[0][1]}"
    print(json.dumps({"url": url, "control": control, "token": TOKEN}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await runner.cleanup()
    await sim.stop()


if __name__ == "__main__":
    asyncio.run(serve())
