"""Diagnostics: what support needs, with the token, the dashboard's address and every IP removed.

Monitor names are removed too: they usually name what is probed (``TCP example.com:443``).
Server names stay: support needs to tell servers apart, and they name the user's own machines,
which the dashboard shows to anyone it lets in.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.const import CONF_API_TOKEN, CONF_PASSWORD, CONF_URL, CONF_USERNAME
from yarl import URL

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from .coordinator import NezhaConfigEntry
    from .monitors import ServerMonitors

TO_REDACT = {CONF_API_TOKEN, CONF_USERNAME, CONF_PASSWORD, "ipv4", "ipv6"}


def _redact_url(url: str) -> str:
    """Keep the scheme and path (they help support); drop host and port."""
    parsed = URL(url)
    return f"{parsed.scheme}://{REDACTED}{parsed.path.rstrip('/')}"


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
                {**asdict(runtime.servers.data), "online": sorted(runtime.servers.data.online)},
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
    }
