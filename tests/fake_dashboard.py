"""A fake 1.x/2.x dashboard for client tests: each route answers what the test sets.

For bodies the simulator never sends (mutated, echoing secrets, oversized). The sample bodies are
shaped like v2.3.7 ones (NEZHA_API.md B.5, DELTA §3.2): ``omitempty`` zeros left out, RFC 3339
times with the dashboard's ``+08:00`` offset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import json
from typing import Any

from aiohttp import web

PASSWORD = "Pa55w0rd-NeverShown"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJ1aWQiOjF9.SiGnAtUrE-never-shown"
PAT = "nzp_AbCdEfGhIjKlMnOpQrStUvWxYz012345"
SECRETS = (PASSWORD, JWT, PAT)

SERVER: dict[str, Any] = {
    "id": 3,
    "created_at": "2026-08-01T10:00:00.123456789+08:00",
    "updated_at": "2026-08-17T11:00:00.5+08:00",
    "name": "hk-01",
    "uuid": "4b1e7e1c-0000-4000-8000-000000000003",
    "note": "admin note",
    "public_note": '{"billingDataMod":{}}',
    "display_index": 10,
    "host": {
        "platform": "ubuntu",
        "platform_version": "24.04",
        "cpu": ["AMD EPYC 7B13 2 Virtual Core"],
        "mem_total": 4109926400,
        "disk_total": 42006183936,
        "swap_total": 1073737728,
        "arch": "x86_64",
        "virtualization": "kvm",
        "boot_time": 1785542400,
        "version": "2.3.3",
        "gpu": ["NVIDIA A10", "NVIDIA A10"],
    },
    "state": {
        "cpu": 3.01,
        "mem_used": 1022361600,
        "disk_used": 9126805504,
        "net_in_transfer": 123456789,
        "net_out_transfer": 987654321,
        "net_in_speed": 2048,
        "net_out_speed": 4096,
        "uptime": 1395600,
        "load_1": 0.12,
        "tcp_conn_count": 42,
        "process_count": 131,
        "temperatures": [{"Name": "coretemp_package_id_0", "Temperature": 47}],
        "gpu": [12.5, 80],
    },
    "geoip": {"ip": {"ipv4_addr": "203.0.113.3", "ipv6_addr": "2001:db8::3"}, "country_code": "hk"},
    "last_active": "2026-08-17T11:40:00.123456789+08:00",
    "owner": {"id": 1, "username": "admin"},
}
NEVER_REPORTED = {
    "id": 4,
    "name": "clever-heron",
    "display_index": 0,
    "host": {},
    "state": {},
    "geoip": {"ip": {}},
    "last_active": "0001-01-01T00:00:00Z",
}
GROUPS = [
    {"group": {"id": 1, "created_at": "2026-08-01T10:00:00+08:00", "name": "prod"}, "servers": [3]},
    {"group": {"id": 2, "name": "empty"}, "servers": None},
]
SERIES = [
    {
        "monitor_id": 1,
        "server_id": 3,
        "monitor_name": "Ping 1.1.1.1",
        "server_name": "hk-01",
        "display_index": 0,
        "created_at": [1786938000000, 1786938060000, 1786938120000],
        "avg_delay": [12.5, 0, 13.25],
    }
]
LOGIN = {"token": JWT, "expire": "2026-08-17T12:40:00+08:00"}
SIGNED_IN = (200, {"success": True, "data": LOGIN})
SETTING = {
    "config": {"language": "en-US", "site_name": "Nezha", "ip_change_notification_group_id": 0},
    "tsdb_enabled": False,
}
ERRORS = (
    "ApiErrorUnauthorized",
    "ApiErrorUnauthorized: invalid api token",
    "ApiErrorUnauthorized: api token lookup failed",
    "ApiErrorForbidden: api token lacks scope nezha:inventory:read",
    f"ApiErrorForbidden: api token lacks scope {PAT}",
    "ApiErrorForbidden: this endpoint is not accessible by api token",
    "real ip header not found",
    "404 Not Found",
    "server not found",
    f"token {JWT} password {PASSWORD}",
)


@dataclass(frozen=True)
class Chunked:
    """A body of ``size`` bytes sent in chunks, without a ``Content-Length``."""

    size: int


@dataclass
class FakeDashboard:
    """An aiohttp app answering each route with the (status, body) set for it.

    A route is keyed by its first path part after ``/api/v1/`` (``server``, ``login``, ``service``
    …), except ``/server/:id/service``, keyed ``server-service``. A ``str`` body is sent as HTML,
    ``bytes`` as they are, a ``Chunked`` in chunks, anything else as JSON. Every request is kept
    as ``(method, path_qs, authorization)``.
    """

    url: str = ""
    answers: dict[str, tuple[int, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer with what the test set for this route (unknown routes: 2.x's JSON 404)."""
        self.requests.append(
            (request.method, request.path_qs, request.headers.get("Authorization"))
        )
        key = request.match_info["tail"].split("/", 1)[0]
        if request.path.endswith("/service"):
            key = "server-service"
        status, body = self.answers.get(key, (404, {"error": "404 Not Found"}))
        if isinstance(body, Chunked):
            response = web.StreamResponse(status=status)
            response.enable_chunked_encoding()
            await response.prepare(request)
            for _ in range(0, body.size, 2**20):
                await response.write(b" " * 2**20)
            return response
        if isinstance(body, bytes):
            return web.Response(status=status, body=body, content_type="application/json")
        text = body if isinstance(body, str) else json.dumps(body, allow_nan=True)
        kind = "text/html" if isinstance(body, str) else "application/json"
        return web.Response(status=status, text=text, content_type=kind)
