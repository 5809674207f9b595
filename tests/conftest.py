"""Fixtures shared by the whole suite."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator
from datetime import timedelta
import logging
from unittest.mock import AsyncMock, PropertyMock, patch

import aiohttp
from aiohttp import web
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import CONF_API_TOKEN, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

# Import the repo's package first: the harness puts its own custom_components on sys.path.
import custom_components.nezha  # noqa: F401
from custom_components.nezha.const import CONF_API, CONF_TAG, DOMAIN
from nezha_simulator import NezhaSimulator

from .fake_dashboard import FakeDashboard
from .flow_fixtures import V0_DATA, MockDashboard, add_entry, mocked_dashboard

# A traceback a test did not ask for fails it (tests/log_check.py).
from .log_check import log_check_records, pytest_runtest_teardown  # noqa: F401

# Home Assistant's test web server (hass_client) logs each request through aiohttp's access
# logger, which fails on the frozen clock of a freezer test ("Error in logging": freezegun's
# time.localtime has no tm_gmtoff). No test reads that log.
logging.getLogger("aiohttp.access").disabled = True

TOKEN = "0123456789abcdefABCDEFghijklmnop"
"""A token shaped like a real v0 one (32 letters and digits)."""


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom_components in every test."""


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Pin Home Assistant's snapshot extension."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Create every entity enabled, including those disabled by default."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.fixture
async def mocked_entry_lifecycle(
    hass: HomeAssistant,
) -> AsyncGenerator[tuple[AsyncMock, AsyncMock]]:
    """Set entries up and unload them with mocks (the real unload needs the real set-up's data).

    Entries still loaded at the end are unloaded here, while the mocks are in place: this fixture
    ends before ``hass``, which would otherwise unload them with the real code and log a traceback.
    A reload still pending (saving options schedules one) runs first, with the mocks too: after
    them it would set the entry up for real while the test tears down.
    """
    with (
        patch("custom_components.nezha.async_setup_entry", return_value=True) as setup,
        patch("custom_components.nezha.async_unload_entry", return_value=True) as unload,
    ):
        yield setup, unload
        await hass.async_block_till_done()
        for loaded in hass.config_entries.async_loaded_entries(DOMAIN):
            assert await hass.config_entries.async_unload(loaded.entry_id)


@pytest.fixture
def mock_setup_entry(mocked_entry_lifecycle: tuple[AsyncMock, AsyncMock]) -> AsyncMock:
    """Keep config-flow tests from setting up the entry they create."""
    return mocked_entry_lifecycle[0]


@pytest.fixture
async def simulator(socket_enabled: None) -> AsyncGenerator[NezhaSimulator]:
    """An empty simulated v0 dashboard on 127.0.0.1 accepting ``TOKEN``."""
    sim = NezhaSimulator(token=TOKEN, seed=0)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


@pytest.fixture
def config_entry(simulator: NezhaSimulator) -> MockConfigEntry:
    """An entry for the simulated dashboard (not yet added to hass)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Nezha test dashboard",
        entry_id="01JNEZHATESTENTRY000000000",
        data={
            CONF_URL: simulator.url,
            CONF_API_TOKEN: TOKEN,
            CONF_VERIFY_SSL: True,
            CONF_API: "v0",
        },
        options={},
    )


DASHBOARD_NOW = 1_764_158_400.0
"""2025-11-26 12:00:00 UTC: the simulated dashboard's frozen clock, a year from HA's clock."""


@pytest.fixture
def fleet(simulator: NezhaSimulator) -> NezhaSimulator:
    """Three servers shaped like v0.20.13 ones, and two ping monitors, on a frozen dashboard clock.

    1 "gpu-box" (lab): Ubuntu with a GPU and temperatures; 2 "vps-hk" (prod): a plain Debian VPS;
    3 "new-node" (prod): registered but its agent never reported.
    """
    simulator.freeze_clock(DASHBOARD_NOW)
    simulator.add_server(
        "gpu-box",
        tag="lab",
        platform="ubuntu",
        platform_version="24.04",
        arch="amd64",
        agent_version="0.20.5",
        boot_time=int(DASHBOARD_NOW) - 3 * 86400,
        ipv4="198.51.100.7",
        ipv6="2001:db8::7",
        cpu_names=["AMD Ryzen 9 7950X 16-Core Processor"],
        gpu_names=["NVIDIA GeForce RTX 4090"],
        mem_total=68_719_476_736,
        disk_total=2_000_398_934_016,
        swap_total=0,
        cpu=42.5,
        mem_used=17_179_869_184,
        disk_used=500_099_733_504,
        gpu=37.5,
        temperatures=[("coretemp_package_id_0", 47.0), ("nvme_composite", 38.85)],
        load1=3.21,
    )
    simulator.add_server(
        "vps-hk", tag="prod", boot_time=int(DASHBOARD_NOW) - 7 * 86400, ipv4="203.0.113.2"
    )
    simulator.add_server("new-node", tag="prod", reported=False)
    ping = simulator.add_monitor("Ping 1.1.1.1")
    tcp = simulator.add_monitor("TCP example.com:443")
    for minutes_ago in (3, 2, 1):
        at = DASHBOARD_NOW - minutes_ago * 60
        simulator.add_point(ping, 1, 12.5 + minutes_ago, at=at)
        simulator.add_point(ping, 2, 35.25 + minutes_ago, at=at)
        simulator.add_point(tcp, 2, 80.0, at=at)
    simulator.add_point(tcp, 1, 0, at=DASHBOARD_NOW - 60)  # a failed round
    return simulator


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Add ``entry`` to hass and set it up, its monitors' and ``/service``'s first reads included."""
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await first_reads(hass)


async def first_reads(hass: HomeAssistant) -> None:
    """Wait for the secondary first reads set-up leaves running in the background.

    Not ``wait_background_tasks``: an entry's live stream is a background task that never ends.
    """
    if tasks := [task for task in asyncio.all_tasks() if task.get_name().startswith("nezha first")]:
        await asyncio.wait(tasks)
        await hass.async_block_till_done()


async def poll(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float = 30) -> None:
    """Let HA's clock run ``seconds`` (the default scan interval) so the coordinators poll."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    # Scheduled refreshes run as background tasks.
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.fixture
async def fake(socket_enabled: None) -> AsyncGenerator[FakeDashboard]:
    """A fake 1.x/2.x dashboard (``tests/fake_dashboard.py``) on a free port of 127.0.0.1."""
    dashboard = FakeDashboard()
    app = web.Application()
    app.router.add_route("*", "/api/v1/{tail:.*}", dashboard.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    dashboard.url = f"http://127.0.0.1:{port}"
    try:
        yield dashboard
    finally:
        await runner.cleanup()


@pytest.fixture
async def http() -> AsyncGenerator[aiohttp.ClientSession]:
    """A plain aiohttp session, like the one Home Assistant shares."""
    async with aiohttp.ClientSession() as session:
        yield session


# Flow tests (tests/test_config_flow*.py, tests/test_options_flow.py)


@pytest.fixture
def dashboard() -> Generator[MockDashboard]:
    """A dashboard that is never reached; detection finds 0.x until told otherwise."""
    with mocked_dashboard() as mocked:
        yield mocked


@pytest.fixture
def mock_unload_entry(mocked_entry_lifecycle: tuple[AsyncMock, AsyncMock]) -> AsyncMock:
    """The unload of entries set up by ``mock_setup_entry``, for reload checks."""
    return mocked_entry_lifecycle[1]


@pytest.fixture
def entry(hass: HomeAssistant) -> MockConfigEntry:
    """A 0.x entry for ``URL`` with ``OLD_TOKEN`` and group ``web``, not set up."""
    return add_entry(hass, V0_DATA, {CONF_TAG: "web"})
