"""Repair issues: their kinds, one id per kind and entry, and the helpers that raise and withdraw them.

Not ``repairs.py``: Home Assistant loads that name as the fix-flow platform, and none of these
issues is fixable in a flow (each says what to change on the dashboard or in the entry).
"""

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN

ISSUE_DASHBOARD_UPGRADED = "dashboard_upgraded"
"""The dashboard answers as a generation this entry can't read (error: the entry stops)."""
ISSUE_TAG_NOT_FOUND = "tag_not_found"
"""The entry's server group (0.x tag, 1.x/2.x group) lists no server."""
ISSUE_NO_SERVERS = "no_servers"
"""The whole dashboard lists no server."""
ISSUE_MISSING_SCOPE = "missing_scope"
"""The access token may not read ``/service`` and the ping monitors (one issue for both)."""
ISSUE_UPGRADE_REFUSED = "live_updates_refused"
"""Something between HA and the dashboard answers the live stream's upgrade with HTTP 400."""
ISSUE_ACTIONS_SCOPES = "actions_missing_scopes"
"""Actions are on, but the access token lacks scopes some of them need (all named in one issue)."""
ISSUE_KINDS = (
    ISSUE_DASHBOARD_UPGRADED,
    ISSUE_TAG_NOT_FOUND,
    ISSUE_NO_SERVERS,
    ISSUE_MISSING_SCOPE,
    ISSUE_UPGRADE_REFUSED,
    ISSUE_ACTIONS_SCOPES,
)


def issue_id(kind: str, entry_id: str) -> str:
    """A repair issue's id, one per kind and entry."""
    return f"{kind}_{entry_id}"


@callback
def async_raise_issue(
    hass: HomeAssistant,
    entry: ConfigEntry,
    kind: str,
    severity: ir.IssueSeverity = ir.IssueSeverity.WARNING,
    **placeholders: str,
) -> None:
    """Raise (or keep) the entry's issue of ``kind``; its text names the entry by its title."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(kind, entry.entry_id),
        is_fixable=False,
        severity=severity,
        translation_key=kind,
        translation_placeholders={"title": entry.title, **placeholders},
    )


@callback
def async_withdraw_issues(hass: HomeAssistant, entry_id: str, *kinds: str) -> None:
    """The causes are gone: the entry's issues of these kinds go (if raised)."""
    for kind in kinds:
        ir.async_delete_issue(hass, DOMAIN, issue_id(kind, entry_id))
