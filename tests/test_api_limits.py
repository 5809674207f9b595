"""What the client refuses to read, and how many requests it sends at once.

A bare aiohttp server on 127.0.0.1 sends what the simulator would not: bodies past the limit,
with and without a ``Content-Length``, compressed ones, and a stream that never ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
import gzip
import json

import aiohttp
from aiohttp import web
import pytest

from custom_components.nezha.api import NezhaResponseError, NezhaV0Client
from custom_components.nezha.api.transport import MAX_BODY_BYTES, MAX_CONCURRENT_REQUESTS
from nezha_simulator import NezhaSimulator

from .conftest import TOKEN

pytestmark = pytest.mark.usefixtures("socket_enabled")

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PADDING = b" " * (1024 * 1024)
ENVELOPE = b'{"code":0,"message":"success","result":[]}'


@pytest.fixture
async def http() -> AsyncGenerator[aiohttp.ClientSession]:
    """A plain aiohttp session, like the one Home Assistant shares."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def serve() -> AsyncGenerator[Callable[[Handler], Awaitable[str]]]:
    """Serve one handler for every path; returns the base URL."""
    runners: list[web.AppRunner] = []

    async def start(handler: Handler) -> str:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", handler)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    yield start
    for runner in runners:
        await runner.cleanup()


async def test_content_length_over_the_limit_is_refused_unread(
    http: aiohttp.ClientSession, serve: Callable[[Handler], Awaitable[str]]
) -> None:
    """A declared 17 MiB body: refused on the header, before the body is read."""
    release = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = MAX_BODY_BYTES + 1
        await response.prepare(request)
        await response.write(ENVELOPE)
        await release.wait()  # the rest comes only after the test: reading it whole would hang
        return response

    url = await serve(handler)
    with pytest.raises(NezhaResponseError, match="HTTP 200: the answer is larger than 16 MiB"):
        await NezhaV0Client(http, url, TOKEN, timeout=5).async_get_servers()
    release.set()


async def test_chunked_body_over_the_limit_is_refused_while_reading(
    http: aiohttp.ClientSession, serve: Callable[[Handler], Awaitable[str]]
) -> None:
    """No Content-Length: the read stops once 16 MiB have passed, though the stream goes on."""
    sent: list[int] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            while True:  # an endless body; the client must give up, not wait for its end
                await response.write(PADDING)
                sent.append(len(PADDING))
        except ConnectionError:  # it gave up, as it should: the body ends here, quietly
            return response

    url = await serve(handler)
    with pytest.raises(NezhaResponseError, match="larger than 16 MiB"):
        await NezhaV0Client(http, url, TOKEN, timeout=5).async_get_monitors(1)
    assert sum(sent) > MAX_BODY_BYTES


async def test_compressed_body_counts_unpacked(
    http: aiohttp.ClientSession, serve: Callable[[Handler], Awaitable[str]]
) -> None:
    """A small gzip body that unpacks past the limit is refused (a zip bomb stays harmless)."""
    payload = gzip.compress(ENVELOPE[:-1] + b" " * (MAX_BODY_BYTES + 1) + b"}")
    assert len(payload) < 1024 * 1024

    async def handler(_: web.Request) -> web.StreamResponse:
        return web.Response(
            body=payload, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
        )

    url = await serve(handler)
    with pytest.raises(NezhaResponseError, match="larger than 16 MiB"):
        await NezhaV0Client(http, url, TOKEN).async_get_servers()


async def test_a_body_just_under_the_limit_is_read(
    http: aiohttp.ClientSession, serve: Callable[[Handler], Awaitable[str]]
) -> None:
    """16 MiB exactly is still an answer."""
    body = ENVELOPE[:-1] + b" " * (MAX_BODY_BYTES - len(ENVELOPE)) + b"}"
    assert len(body) == MAX_BODY_BYTES

    async def handler(_: web.Request) -> web.StreamResponse:
        return web.Response(body=body, headers={"Content-Type": "application/json"})

    url = await serve(handler)
    snapshot = await NezhaV0Client(http, url, TOKEN).async_get_servers()
    assert snapshot.servers == {}


async def test_one_client_sends_at_most_ten_requests_at_once(
    simulator: NezhaSimulator, http: aiohttp.ClientSession
) -> None:
    """Whatever its callers do, a client keeps at most 10 requests in flight, every path counted."""
    for _ in range(25):
        simulator.add_server()
    simulator.latency = 0.1  # long enough that ten are in flight together on a busy machine
    client = NezhaV0Client(http, simulator.url, TOKEN)

    snapshots = await asyncio.gather(
        client.async_get_servers(),
        *(client.async_get_monitors(server_id) for server_id in range(1, 26)),
        client.async_get_servers(),
    )

    assert len(simulator.requests) == 27
    assert simulator.requests_in_flight_max == MAX_CONCURRENT_REQUESTS == 10
    assert simulator.requests_in_flight == 0
    assert json.dumps(sorted(snapshots[0].servers)) == json.dumps(list(range(1, 26)))
