"""The flows against a dashboard served over TLS, and addresses with the wrong scheme.

The simulator is served with a self-signed certificate made here: Home Assistant's session with
the certificate check on does not trust it, as it would not trust a user's own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
import datetime as dt
import ipaddress
import logging
from pathlib import Path
import ssl
from typing import Any

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from homeassistant.const import CONF_API_TOKEN, CONF_PASSWORD, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import get_schema_suggested_value

from custom_components.nezha.const import CONF_API
from nezha_simulator import NezhaSimulator

from .conftest import TOKEN
from .flow_fixtures import (
    LOGIN_DATA,
    V0_DATA,
    add_entry,
    assert_form,
    fields,
    setup_holds_a_client,  # noqa: F401  (a fixture, used by name)
    start_user,
    submit,
)

pytestmark = pytest.mark.usefixtures("mock_setup_entry", "setup_holds_a_client")

SELF_SIGNED = "self-signed certificate"
"""What the TLS check says about the certificate made here."""


@dataclass
class TlsDashboard:
    """The simulator behind TLS: its ``https://`` address and the same address with ``http://``."""

    sim: NezhaSimulator
    url: str
    http_url: str


def _certificate(folder: Path, *, days: tuple[int, int]) -> ssl.SSLContext:
    """A server context with a new self-signed certificate for 127.0.0.1.

    ``days``: when it becomes valid and when it expires, relative to now.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nezha test dashboard")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=days[0]))
        .not_valid_after(now + dt.timedelta(days=days[1]))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


@asynccontextmanager
async def _serve_tls(sim: NezhaSimulator, context: ssl.SSLContext) -> AsyncIterator[TlsDashboard]:
    """Serve ``sim`` over TLS on a free port of 127.0.0.1.

    A client that refuses the certificate (or speaks plain http) fails the handshake, which the
    server side reports to the event loop's exception handler: that is the point of these
    tests, so the handler is told to let those reports pass (the hass fixture fails a test on
    any other).
    """
    loop = asyncio.get_running_loop()
    handler = loop.get_exception_handler()

    def ignore_refused_handshakes(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") == _REFUSED_HANDSHAKE:
            return
        if handler is None:
            loop.default_exception_handler(context)
        else:
            handler(loop, context)

    loop.set_exception_handler(ignore_refused_handshakes)
    runner = web.AppRunner(sim.make_app(), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context).start()
        port = runner.addresses[0][1]
        yield TlsDashboard(sim, f"https://127.0.0.1:{port}", f"http://127.0.0.1:{port}")
    finally:
        # The handler stays: a refused handshake may be reported after this (the loop is the
        # test's own).
        await runner.cleanup()


_REFUSED_HANDSHAKE = "Error on transport creation for incoming connection"
"""asyncio's report of a TLS handshake that failed on the server's side."""


@pytest.fixture
async def tls(
    hass: HomeAssistant, socket_enabled: None, tmp_path: Path
) -> AsyncGenerator[TlsDashboard]:
    """A 0.x simulator accepting ``TOKEN``, over TLS with a self-signed certificate."""
    sim = NezhaSimulator(token=TOKEN, seed=0)
    async with _serve_tls(sim, _certificate(tmp_path, days=(-1, 30))) as dashboard:
        yield dashboard


def _ours_naming_the_host(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The integration's log lines that name the dashboard's host (none may)."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("custom_components.nezha") and "127.0.0.1" in record.getMessage()
    ]


# Untrusted certificates


async def test_untrusted_certificate_when_adding(
    hass: HomeAssistant, tls: TlsDashboard, caplog: pytest.LogCaptureFixture
) -> None:
    """The check on: the form says the certificate is not trusted and why, keeps the input; with
    the check off the dashboard is added."""
    caplog.set_level(logging.DEBUG, logger="custom_components.nezha")
    user_input = {CONF_URL: tls.url, CONF_VERIFY_SSL: True}
    result = await submit(hass, await start_user(hass), user_input)
    assert_form(result, "user", {"base": "certificate_not_trusted"})
    assert result["description_placeholders"]["certificate_error"] == SELF_SIGNED
    assert get_schema_suggested_value(fields(result), CONF_URL) == tls.url
    assert (
        f"(certificate_not_trusted): the dashboard's certificate is not trusted: {SELF_SIGNED}"
        in (caplog.text)
    )
    assert not _ours_naming_the_host(caplog)

    result = await submit(hass, result, {**user_input, CONF_VERIFY_SSL: False})
    assert_form(result, "api_token", {})
    result = await submit(hass, result, {CONF_API_TOKEN: TOKEN})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_VERIFY_SSL] is False


async def test_expired_certificate_says_so(
    hass: HomeAssistant, socket_enabled: None, tmp_path: Path
) -> None:
    """Another reason from the TLS check reaches the form as it is."""
    sim = NezhaSimulator(token=TOKEN, seed=0)
    async with _serve_tls(sim, _certificate(tmp_path, days=(-30, -1))) as dashboard:
        result = await submit(hass, await start_user(hass), {CONF_URL: dashboard.url})
    assert_form(result, "user", {"base": "certificate_not_trusted"})
    assert result["description_placeholders"]["certificate_error"] in (
        "certificate has expired",
        SELF_SIGNED,
    )


async def test_untrusted_certificate_when_reconfiguring(
    hass: HomeAssistant, tls: TlsDashboard
) -> None:
    """An entry with the check off, turned on in Reconfigure: the same error, the entry kept."""
    data = {**V0_DATA, CONF_URL: tls.url, CONF_VERIFY_SSL: False}
    entry = add_entry(hass, data)
    result = await entry.start_reconfigure_flow(hass)
    result = await submit(hass, result, {CONF_URL: tls.url, CONF_VERIFY_SSL: True})
    assert_form(result, "reconfigure", {"base": "certificate_not_trusted"})
    assert result["description_placeholders"]["certificate_error"] == SELF_SIGNED
    assert get_schema_suggested_value(fields(result), CONF_VERIFY_SSL) is True
    assert entry.data == data


@pytest.mark.parametrize("generation", ["v0", "v2"])
async def test_untrusted_certificate_when_reauthenticating(
    hass: HomeAssistant, tls: TlsDashboard, generation: str
) -> None:
    """Reauth reads with the entry's check (on): the certificate, not the credential, is named."""
    tls.sim.generation = generation
    if generation == "v0":
        entry = add_entry(hass, {**V0_DATA, CONF_URL: tls.url})
        field, secret = CONF_API_TOKEN, TOKEN
    else:
        entry = add_entry(hass, {**LOGIN_DATA, CONF_URL: tls.url, CONF_API: "v2"})
        field, secret = CONF_PASSWORD, tls.sim.admin.password
    result = await entry.start_reauth_flow(hass)
    result = await submit(hass, result, {field: secret})
    assert result["errors"] == {"base": "certificate_not_trusted"}
    assert result["description_placeholders"]["certificate_error"] == SELF_SIGNED
    assert tls.sim.login_count == 0


# An address with the other scheme


async def test_https_address_of_an_http_dashboard(
    hass: HomeAssistant, simulator: NezhaSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """The plain simulator at an https:// address: the form says it speaks http and offers the
    http:// address; the debug log says the same, without the address."""
    caplog.set_level(logging.DEBUG, logger="custom_components.nezha")
    https_url = simulator.url.replace("http://", "https://")
    result = await submit(hass, await start_user(hass), {CONF_URL: https_url})
    assert_form(result, "user", {"base": "speaks_http"})
    assert result["description_placeholders"]["suggested_url"] == simulator.url
    assert get_schema_suggested_value(fields(result), CONF_URL) == https_url
    assert "(speaks_http): this address speaks http, not https: use http:// in the address" in (
        caplog.text
    )
    assert not _ours_naming_the_host(caplog)

    result = await submit(hass, result, {CONF_URL: simulator.url})
    result = await submit(hass, result, {CONF_API_TOKEN: TOKEN})
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize("verify_ssl", [True, False])
async def test_http_address_of_an_https_dashboard(
    hass: HomeAssistant, tls: TlsDashboard, verify_ssl: bool
) -> None:
    """The TLS simulator at an http:// address: it speaks https (its certificate is the next
    thing the form names, when checked)."""
    user_input = {CONF_URL: tls.http_url, CONF_VERIFY_SSL: verify_ssl}
    result = await submit(hass, await start_user(hass), user_input)
    assert_form(result, "user", {"base": "speaks_https"})
    assert result["description_placeholders"]["suggested_url"] == tls.url

    result = await submit(hass, result, {**user_input, CONF_URL: tls.url})
    if verify_ssl:
        assert result["errors"] == {"base": "certificate_not_trusted"}
    else:
        assert_form(result, "api_token", {})


async def test_wrong_scheme_when_reconfiguring(
    hass: HomeAssistant, simulator: NezhaSimulator
) -> None:
    """Reconfigure names the scheme the same way."""
    entry = add_entry(hass, {**V0_DATA, CONF_URL: simulator.url})
    result = await entry.start_reconfigure_flow(hass)
    https_url = simulator.url.replace("http://", "https://")
    result = await submit(hass, result, {CONF_URL: https_url, CONF_VERIFY_SSL: True})
    assert_form(result, "reconfigure", {"base": "speaks_http"})
    assert result["description_placeholders"]["suggested_url"] == simulator.url


async def test_nothing_answering_on_either_scheme_cannot_connect(
    hass: HomeAssistant, simulator: NezhaSimulator
) -> None:
    """A stopped dashboard is no scheme mix-up: the plain connection error."""
    url = simulator.url
    await simulator.stop()
    for address in (url, url.replace("http://", "https://")):
        result = await submit(hass, await start_user(hass), {CONF_URL: address})
        assert_form(result, "user", {"base": "cannot_connect"})


async def test_https_page_that_is_no_dashboard(hass: HomeAssistant, tls: TlsDashboard) -> None:
    """An https address that answers with a web page is no scheme mix-up: it is not Nezha."""
    tls.sim.html_next(2)
    result = await submit(hass, await start_user(hass), {CONF_URL: tls.url, CONF_VERIFY_SSL: False})
    assert_form(result, "user", {"base": "not_nezha"})
    assert [r.method for r in tls.sim.requests] == ["GET", "GET"]  # no http probe reached it
