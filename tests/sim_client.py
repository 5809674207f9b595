"""What the 1.x/2.x simulator tests share: a started simulator, one request, one login.

The tests talk to the simulator over real sockets and send cookies explicitly, so their
``http`` fixtures keep no cookie jar.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
from typing import Any

import aiohttp

from nezha_simulator import Generation, NezhaSimulator

NOW = 1_750_000_000.25
"""2025-06-15 15:06:40.25 UTC = 23:06:40.25 +08:00."""
JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
UNAUTHORIZED = b'{"error":"ApiErrorUnauthorized"}'
NOT_FOUND = b'{"error":"404 Not Found"}'
INVALID_PAT = b'{"error":"ApiErrorUnauthorized: invalid api token"}'
EXPIRED_PAT = b'{"error":"ApiErrorUnauthorized: api token expired"}'


@dataclass
class Reply:
    """A finished response."""

    status: int
    content_type: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


async def make_sim(generation: Generation) -> NezhaSimulator:
    """A started simulator of that generation with a frozen clock."""
    sim = NezhaSimulator(seed=0, now=NOW, generation=generation)
    await sim.start()
    return sim


def request_headers(
    *,
    bearer: str | None = None,
    headers: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
) -> dict[str, str]:
    """``headers`` plus ``Authorization: Bearer`` and a ``Cookie`` header, when given."""
    sent = dict(headers or {})
    if bearer is not None:
        sent["Authorization"] = f"Bearer {bearer}"
    if cookies:
        sent["Cookie"] = "; ".join(f"{key}={value}" for key, value in cookies.items())
    return sent


async def call(
    http: aiohttp.ClientSession,
    sim: NezhaSimulator,
    path: str,
    *,
    method: str = "GET",
    bearer: str | None = None,
    headers: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
    body: Any = None,
) -> Reply:
    """One request; ``bearer`` goes into ``Authorization: Bearer``."""
    sent = request_headers(bearer=bearer, headers=headers, cookies=cookies)
    data = None if body is None else json.dumps(body)
    async with http.request(method, sim.url + path, headers=sent, data=data) as response:
        return Reply(
            response.status,
            response.headers.get("Content-Type", ""),
            {key: value for key, value in response.headers.items() if key != "Set-Cookie"}
            | {"Set-Cookie": "\n".join(response.headers.getall("Set-Cookie", []))},
            await response.read(),
        )


async def login(
    http: aiohttp.ClientSession, sim: NezhaSimulator, user: str = "admin", password: str = ""
) -> str:
    """Log in and return the JWT."""
    reply = await call(
        http,
        sim,
        "/api/v1/login",
        method="POST",
        body={"username": user, "password": password or sim.admin.password},
    )
    return str(reply.json()["data"]["token"])
