"""Constants for the Nezha Monitoring integration."""

from datetime import timedelta
from typing import Final

from homeassistant.const import Platform

DOMAIN: Final = "nezha"
MANUFACTURER: Final = "Nezha"

# Entry data: HA's CONF_URL and CONF_VERIFY_SSL, the dashboard generation, and its credential:
# CONF_API_TOKEN (a 0.x API token or a 2.x personal access token) or CONF_USERNAME + CONF_PASSWORD
# (a 1.x/2.x login).
CONF_API: Final = "api"
CONF_DEVICES_GROUP: Final = "devices_group"
"""Entry data: the server group (a 0.x tag, a 1.x/2.x group id) the server devices were last made
for; absent: all servers. Set by the integration, not the user (see ``devices.group_changed``)."""

# Options.
CONF_SCAN_INTERVAL: Final = "scan_interval"
CONF_MONITOR_INTERVAL: Final = "monitor_interval"
CONF_ONLINE_THRESHOLD: Final = "online_threshold"
CONF_TAG: Final = "tag"
"""0.x: the server group is a tag name."""
CONF_GROUP_ID: Final = "group_id"
"""1.x/2.x: the server group's id (it survives a rename)."""
CONF_GROUP_NAME: Final = "group_name"
"""1.x/2.x: the group's name when it was chosen, for messages while the dashboard can't say."""

DEFAULT_SCAN_INTERVAL: Final = 30
MIN_SCAN_INTERVAL: Final = 10
MAX_SCAN_INTERVAL: Final = 3600

DEFAULT_MONITOR_INTERVAL: Final = 60
MIN_MONITOR_INTERVAL: Final = 30  # 0 turns monitors off
MAX_MONITOR_INTERVAL: Final = 3600

DEFAULT_ONLINE_THRESHOLD: Final = 30
MIN_ONLINE_THRESHOLD: Final = 10
MAX_ONLINE_THRESHOLD: Final = 600

CONF_LIVE_UPDATES: Final = "live_updates"
"""1.x/2.x: whether the dashboard's live stream feeds the entities (missing: on)."""
DEFAULT_LIVE_UPDATES: Final = True

SERVER_LIST_REFRESH: Final = timedelta(minutes=5)
"""How often lists that rarely change are read over REST: the server list while the live stream
is up (which servers, their IPs and notes), the alert rules (a traffic cycle's direction)."""

MAX_GPUS: Final = 8
"""Servers with several GPUs get one usage sensor per GPU, up to this many."""

STALE_AFTER_POLLS: Final = 3
"""A server or monitor missing from this many consecutive successful polls is removed."""

MONITOR_POINT_MAX_AGE: Final = timedelta(minutes=15)
"""A newest monitor point older than this (dashboard clock) is no longer a current reading."""

MONITOR_ENTITY_KEYS: Final[dict[Platform, str]] = {
    Platform.SENSOR: "monitor_latency",
    Platform.BINARY_SENSOR: "monitor_reachable",
}
"""The entities each ping monitor has, by platform (their keys are part of the unique id)."""

SERVICE_ENTITY_KEYS: Final[dict[Platform, tuple[str, ...]]] = {
    Platform.SENSOR: ("service_uptime_30d", "service_delay"),
    Platform.BINARY_SENSOR: ("service_up",),
}
"""The entities each monitor of ``/service`` has on the dashboard device, by platform."""

CYCLE_ENTITY_KEYS: Final = (
    "transfer_cycle_used",
    "transfer_cycle_quota",
    "transfer_cycle_usage",
    "transfer_cycle_end",
)
"""The sensors each traffic cycle has on each server's device it covers."""

SERVICE_SCOPE: Final = "nezha:service:read"
"""The access-token scope ``/service`` and the ping monitors need (named in the repair issue)."""

CONF_ACTIONS: Final = "actions"
"""1.x/2.x: whether Home Assistant may act on the dashboard (switches, buttons; missing: off)."""
DEFAULT_ACTIONS: Final = False

ALERT_RULE_SWITCH_KEY: Final = "enabled"
"""An alert rule's maintenance switch (on the dashboard device)."""
NOTIFY_SWITCH_KEY: Final = "notify"
"""A ``/service`` monitor's notification switch (on the dashboard device)."""
CRON_ENTITY_KEYS: Final[dict[Platform, str]] = {Platform.BUTTON: "run", Platform.SENSOR: "last_run"}
"""The entities each cron task has on the dashboard device, by platform."""
AGENT_UPDATE_KEY: Final = "agent_update"
"""A server's agent update entity (on the server's device)."""
