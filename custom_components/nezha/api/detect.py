"""Which Nezha generation answers at a URL, from the URL alone (NEZHA_API.md Part D, DELTA §2.5).

``GET /api/v1/setting`` needs no sign-in on 1.x and 2.x and says which one it is (2.x always has
``tsdb_enabled``); 0.x has no such route and answers an HTML 404, so ``GET /api/v1/server/details``
then tells a 0.x dashboard (a JSON ``code``) from any other site.

What cannot be known here: whether a 2.x dashboard has personal access tokens (2.1.0 and newer;
the version is shown to admins only, and ``/setting`` never reads a token). A flow should offer
both a token and a login for 2.x; a token on a 2.0.x dashboard fails with a ``NezhaAuthError`` that
says so, without counting towards the dashboard's block of this host.
"""

from collections.abc import Mapping
from dataclasses import dataclass
import json
from typing import Any

import aiohttp
from yarl import URL

from .errors import (
    NezhaBlockedError,
    NezhaCertificateError,
    NezhaConnectionError,
    NezhaError,
    NezhaRealIpHeaderError,
    NezhaResponseError,
    NezhaSchemeError,
)
from .parsing import mapping, text
from .transport import DEFAULT_TIMEOUT, Reply, fetch
from .v0 import NezhaV0Client
from .v1 import (
    API_V1,
    API_V2,
    ERROR_REAL_IP_MISSING,
    ERROR_ROUTE_MISSING,
    ERROR_UNAUTHORIZED,
)

_BLOCK_PAGE_WORDS = (b"waf", b"nezha")
_PROBE_TIMEOUT = 5.0
"""Seconds for the other scheme's answer: a guess is not worth a whole timeout."""


@dataclass(frozen=True, slots=True)
class Detection:
    """What the URL answers as."""

    api: str
    """``"v0"``, ``"v1"`` or ``"v2"``: the ``api`` a client and a config entry use."""
    site_name: str | None = None
    """The dashboard's own name (1.x and 2.x tell guests; 0.x does not)."""


async def async_detect(session: aiohttp.ClientSession, url: str) -> Detection:
    """Ask the dashboard at ``url`` which generation it is, signed in as nobody.

    Raises ``NezhaResponseError`` for a site that is not a Nezha dashboard, and the errors a
    dashboard's guard gives everyone: ``NezhaBlockedError``, ``NezhaRealIpHeaderError``; and
    ``NezhaConnectionError`` (``NezhaCertificateError`` for an untrusted certificate).

    When the address gets no answer (or, over http, no Nezha answer), the other scheme is tried
    once: a dashboard answering there raises ``NezhaSchemeError`` with the address to use (an
    https address of an http dashboard fails its TLS handshake; an http address of an https
    one is dropped or gets a proxy's "plain HTTP request sent to HTTPS port" page).
    """
    try:
        return await _async_detect(session, url)
    except NezhaCertificateError:
        raise  # it speaks https: the certificate is what to fix
    except (NezhaConnectionError, NezhaResponseError) as err:
        if isinstance(err.__cause__, TimeoutError) or (
            isinstance(err, NezhaResponseError) and not url.startswith("http:")
        ):
            raise  # a slow host would be as slow again; an https page is no scheme mix-up
        other = URL(url).with_scheme("https" if url.startswith("http:") else "http")
        try:
            await _async_detect(session, str(other), _PROBE_TIMEOUT)
        except NezhaCertificateError:
            pass  # it speaks https: its certificate is the next thing to see to
        except NezhaError:
            raise err from None
        raise NezhaSchemeError(other.scheme, str(other)) from None


async def _async_detect(
    session: aiohttp.ClientSession, url: str, seconds: float = DEFAULT_TIMEOUT
) -> Detection:
    base = URL(url.rstrip("/")) / "api/v1"
    limits = aiohttp.ClientTimeout(total=seconds)
    setting = await fetch(session, "GET", base / "setting", limits=limits)
    payload = _json_object(setting)
    if payload is not None:
        if payload.get("error") == ERROR_REAL_IP_MISSING:
            raise NezhaRealIpHeaderError
        if (found := _from_setting(payload)) is not None:
            return found
    elif setting.status == 403 and any(word in setting.body.lower() for word in _BLOCK_PAGE_WORDS):
        raise NezhaBlockedError
    details = _json_object(await fetch(session, "GET", base / "server/details", limits=limits))
    if details is not None:
        code = details.get("code")
        if isinstance(code, int) and not isinstance(code, bool):
            return Detection(api=NezhaV0Client.api_version)
        # 1.0.x under force_auth: /setting refused guests, and unknown routes give this error.
        if (
            payload is not None
            and str(payload.get("error")).startswith(ERROR_UNAUTHORIZED)
            and details.get("error") == ERROR_ROUTE_MISSING
        ):
            return Detection(api=API_V1)
    raise NezhaResponseError(f"HTTP {setting.status}: not a Nezha dashboard at this URL")


def _from_setting(payload: Mapping[str, Any]) -> Detection | None:
    """A ``/setting`` success: 2.x always sends ``tsdb_enabled``; 1.0.0 to 1.0.18 send a bare config."""
    data = mapping(payload, "data")
    if payload.get("success") is not True or not data:
        return None
    config = mapping(data, "config") if "config" in data else data
    if not ("site_name" in config or "language" in config):
        return None
    return Detection(
        api=API_V2 if "tsdb_enabled" in data else API_V1, site_name=text(config, "site_name")
    )


def _json_object(reply: Reply) -> Mapping[str, Any] | None:
    try:
        payload = json.loads(reply.body)
    except ValueError, RecursionError:
        return None
    return payload if isinstance(payload, Mapping) else None
