"""Diagnostics: what support needs, with the token, the dashboard's address and every IP removed.

Monitor names are removed too: they usually name what is probed (``TCP example.com:443``).
Server names stay: support needs to tell servers apart, and they name the user's own machines,
which the dashboard shows to anyone it lets in. A ``public_note`` is free text (addresses,
provider accounts), so only the billing terms parsed from it are shown.
"""

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.const import CONF_API_TOKEN, CONF_PASSWORD, CONF_URL, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from yarl import URL

from .api import parse_billing
from .coordinator import NezhaServicesCoordinator
from .data import NezhaConfigEntry
from .state import ServerMonitors

TO_REDACT = {CONF_API_TOKEN, CONF_USERNAME, CONF_PASSWORD, "ipv4", "ipv6", "public_note"}


def _redact_url(url: str) -> str:
    """Keep the scheme and path (they help support); drop host and port."""
    parsed = URL(url)
    return f"{parsed.scheme}://{REDACTED}{parsed.path.rstrip('/')}"


def _summarize_services(services: NezhaServicesCoordinator) -> dict[str, Any]:
    """The ``/service`` poll: monitor names redacted, cycles with their parsed figures."""
    data = asdict(services.data)
    for stats in data["services"].values():
        stats["name"] = REDACTED
    data["cycles_absent"] = sorted(data["cycles_absent"].items())
    return {"last_update_success": services.last_update_success, "data": data}


def _summarize_monitors(result: ServerMonitors) -> dict[str, Any]:
    """One server's monitor poll, monitor names redacted."""
    summary = asdict(result)
    for monitor in summary["monitors"].values():
        monitor["name"] = REDACTED
    return summary


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: NezhaConfigEntry
) -> dict[str, Any]:
    """Return the entry's settings, the stream's state and the coordinators' data, redacted."""
    runtime = entry.runtime_data
    monitors = runtime.monitors
    now = dt_util.utcnow()
    return {
        "live": None if runtime.live is None else runtime.live.state.as_dict(),
        "entry": {
            "title": REDACTED,
            "data": async_redact_data(
                {**entry.data, CONF_URL: _redact_url(entry.data[CONF_URL])}, TO_REDACT
            ),
            "options": dict(entry.options),
        },
        "servers": {
            "last_update_success": runtime.servers.last_update_success,
            "data": async_redact_data(
                {
                    **asdict(runtime.servers.data),
                    "online": sorted(runtime.servers.data.online),
                    "offline": sorted(runtime.servers.data.offline),
                },
                TO_REDACT,
            ),
        },
        "monitors": None
        if monitors is None
        else {
            "last_update_success": monitors.last_update_success,
            "data": {
                server_id: _summarize_monitors(result)
                for server_id, result in monitors.data.items()
            },
        },
        "services": None if runtime.services is None else _summarize_services(runtime.services),
        "billing": {
            server_id: asdict(billing)
            for server_id, server in runtime.servers.data.servers.items()
            if (billing := parse_billing(server.public_note, now)) is not None
        },
    }
