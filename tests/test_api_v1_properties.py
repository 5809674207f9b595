"""Property-based tests of the 1.x/2.x parsers, through the client's public methods.

A tiny aiohttp app on 127.0.0.1 answers every route with a body hypothesis draws: a real-shaped
1.x/2.x body (NEZHA_API.md B.5, Part E) with random parts dropped, replaced by other JSON, or
turned into echoes of the secrets. Whatever comes back must be well-formed models or one of the
package's own errors, and no error may carry the password, a JWT or an access token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import math
import traceback
from typing import Any

import aiohttp
from hypothesis import HealthCheck, event, given, settings, strategies as st
import pytest

from custom_components.nezha.api import (
    Login,
    MonitorsSnapshot,
    NezhaError,
    NezhaV1Client,
    Server,
    ServersSnapshot,
    Status,
    async_detect,
)

from .fake_dashboard import (
    ERRORS,
    GROUPS,
    JWT,
    LOGIN,
    NEVER_REPORTED,
    PASSWORD,
    PAT,
    SECRETS,
    SERIES,
    SERVER,
    SETTING,
    SIGNED_IN,
    FakeDashboard,
)

pytestmark = pytest.mark.usefixtures("socket_enabled")

PROPERTY_SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(
        (*SECRETS, "0001-01-01T00:00:00Z", "2026-13-45T99:00:00Z", "2026-08-17T11:40:00Z")
    )
)
json_values = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def mutated(draw: st.DrawFn, value: Any, depth: int = 0) -> Any:
    """``value`` with random parts kept, dropped, recursed into or replaced by other JSON."""
    if depth > 5 or draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for key, item in value.items():
            action = draw(st.sampled_from(("keep", "keep", "mutate", "mutate", "drop")))
            if action == "keep":
                result[key] = item
            elif action == "mutate":
                result[key] = draw(mutated(item, depth + 1))
        return result
    if isinstance(value, list):
        return [draw(mutated(item, depth + 1)) for item in value if draw(st.booleans())] + draw(
            st.lists(json_values, max_size=2)
        )
    return draw(json_values) if draw(st.booleans()) else value


@st.composite
def envelopes(draw: st.DrawFn, data: Any) -> tuple[int, Any]:
    """An HTTP status and a body: mostly the success envelope around mutated ``data``."""
    kind = draw(st.sampled_from(("success", "success", "success", "error", "any")))
    if kind == "success":
        body: Any = {"success": True, "data": draw(mutated(data))}
        if draw(st.integers(0, 5)) == 0:
            body = draw(mutated(body))
    elif kind == "error":
        body = {"error": draw(st.sampled_from(ERRORS) | st.text(max_size=20))}
    else:
        body = draw(json_values)
    return draw(st.sampled_from((200, 200, 200, 401, 403, 404))), body


async def outcome[T](call: Awaitable[T], secrets: tuple[str, ...] = SECRETS) -> T | None:
    """The call's result, or ``None`` after one of the package's own errors (checked clean).

    ``secrets``: what the caller holds (a token client cannot know a password to cut out).
    """
    try:
        result = await call
    except NezhaError as err:
        error = err
    else:
        event("models")  # --hypothesis-show-statistics shows the mix of outcomes
        return result
    event(type(error).__name__)
    check_error(error, secrets)
    return None


def check_error(error: NezhaError, secrets: tuple[str, ...]) -> None:
    """One of the package's own errors, saying something, with no secret anywhere in it."""
    assert type(error).__module__.startswith("custom_components.nezha.api")
    assert str(error)
    text = "".join(traceback.format_exception(error))
    for secret in secrets:
        assert secret not in text


def optional_count(value: int | None) -> bool:
    return value is None or (isinstance(value, int) and 0 <= value < 2**64)


def optional_figure(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isfinite(value))


def check_status(status: Status, *, reported: bool) -> None:
    counts = [status.mem_used, status.swap_used, status.disk_used, status.net_in_transfer]
    counts += [status.net_out_transfer, status.net_in_speed, status.net_out_speed, status.uptime]
    counts += [status.tcp_connections, status.udp_connections, status.processes]
    figures = (status.cpu, status.load_1, status.load_5, status.load_15)
    assert all(map(optional_count, counts))
    assert all(map(optional_figure, figures))
    assert all(isinstance(g, float) and math.isfinite(g) for g in status.gpu_usage)
    assert all(isinstance(t.name, str) and math.isfinite(t.celsius) for t in status.temperatures)
    if not reported:
        assert status == Status()


def check_servers(snapshot: ServersSnapshot) -> None:
    assert list(snapshot.servers) == sorted(snapshot.servers)
    for server_id, server in snapshot.servers.items():
        assert isinstance(server, Server)
        assert server.id == server_id
        assert 0 <= server_id < 2**64
        assert isinstance(server.name, str)
        assert server.name
        assert server.last_active is None or server.last_active.tzinfo is not None
        assert isinstance(server.display_index, int)
        host = server.host
        assert all(map(optional_count, (host.mem_total, host.disk_total, host.swap_total)))
        assert all(isinstance(m, str) and m for m in (*host.cpu_models, *host.gpu_models))
        for value in (server.ipv4, server.ipv6, host.platform, host.country_code, host.arch):
            assert value is None or (isinstance(value, str) and value)
        # A stopped 2.x agent (zero time, state kept) keeps its last report too.
        check_status(server.status, reported=server.last_active is not None or server.disconnected)


def check_monitors(snapshot: MonitorsSnapshot, server_id: int) -> None:
    assert snapshot.server_id == server_id
    for monitor_id, monitor in snapshot.monitors.items():
        assert monitor.id == monitor_id
        assert monitor.server_id == server_id
        assert monitor.name
        assert monitor.point_count >= 0
        assert (monitor.latest is None) == (monitor.point_count == 0)
        if monitor.latest is not None:
            assert monitor.latest.time.tzinfo is not None
            assert math.isfinite(monitor.latest.latency_ms)


def login_client(http: aiohttp.ClientSession, fake: FakeDashboard, api: str) -> NezhaV1Client:
    return NezhaV1Client(http, fake.url, Login("admin", PASSWORD), api_version=api)


def pat_client(http: aiohttp.ClientSession, fake: FakeDashboard) -> NezhaV1Client:
    return NezhaV1Client(http, fake.url, PAT, api_version="v2")


ClientFactory = Callable[[aiohttp.ClientSession, FakeDashboard], NezhaV1Client]
CLIENTS: dict[str, ClientFactory] = {
    "login-v1": lambda http, fake: login_client(http, fake, "v1"),
    "login-v2": lambda http, fake: login_client(http, fake, "v2"),
    "pat": pat_client,
}
HELD = {"login-v1": SECRETS, "login-v2": SECRETS, "pat": (PAT, JWT)}
"""What each client could cut out: its own secrets; a JWT and a token are cut by their shape."""


@PROPERTY_SETTINGS
@given(
    answer=envelopes([SERVER, NEVER_REPORTED, SERVER | {"id": 5}]),
    login=st.just(SIGNED_IN) | envelopes(LOGIN),
    kind=st.sampled_from(sorted(CLIENTS)),
)
async def test_servers_from_any_body(
    fake: FakeDashboard, http: aiohttp.ClientSession, answer: Any, login: Any, kind: str
):
    """``GET /server`` (and the login before it): models or the package's errors."""
    fake.answers = {"server": answer, "login": login}
    snapshot = await outcome(CLIENTS[kind](http, fake).async_get_servers(), HELD[kind])
    if snapshot is not None:
        check_servers(snapshot)


@PROPERTY_SETTINGS
@given(
    groups=envelopes(GROUPS),
    servers=envelopes([SERVER, NEVER_REPORTED]),
    group=st.sampled_from((1, 2, 3)),
)
async def test_groups_from_any_body(
    fake: FakeDashboard, http: aiohttp.ClientSession, groups: Any, servers: Any, group: int
):
    """``GET /server-group``: names by id, and a group's servers are only its members."""
    fake.answers = {
        "server-group": groups,
        "server": servers,
        "login": SIGNED_IN,
    }
    client = login_client(http, fake, "v2")
    names = await outcome(client.async_get_groups())
    if names is not None:
        assert all(isinstance(k, int) and isinstance(v, str) and v for k, v in names.items())
    snapshot = await outcome(client.async_get_servers(group))
    if snapshot is not None:
        check_servers(snapshot)
        assert set(snapshot.servers) <= {3, 4, 5}


@PROPERTY_SETTINGS
@given(answer=envelopes(SERIES), kind=st.sampled_from(sorted(CLIENTS)))
async def test_monitors_from_any_body(
    fake: FakeDashboard, http: aiohttp.ClientSession, answer: Any, kind: str
):
    """The 1.x and 2.x monitor routes: the newest round and the count, or the package's errors."""
    fake.answers = {
        "service": answer,
        "server-service": answer,
        "login": SIGNED_IN,
    }
    snapshot = await outcome(CLIENTS[kind](http, fake).async_get_monitors(3), HELD[kind])
    if snapshot is not None:
        check_monitors(snapshot, 3)


@PROPERTY_SETTINGS
@given(setting=envelopes(SETTING), details=envelopes({}))
async def test_detection_from_any_body(
    fake: FakeDashboard, http: aiohttp.ClientSession, setting: Any, details: Any
):
    """Detection: a generation the package knows, or the package's errors."""
    fake.answers = {"setting": setting, "server": details}
    found = await outcome(async_detect(http, fake.url), (JWT, PAT))
    if found is not None:
        assert found.api in {"v0", "v1", "v2"}
        assert found.site_name is None or isinstance(found.site_name, str)
