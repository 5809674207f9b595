"""The coordinator of ``GET /service`` (1.x/2.x): monitor availability and traffic cycles.

One request per ``monitor_interval`` feeds every service and cycle entity; the alert rules, which
say what a cycle counts (in, out or both), are read at the first poll and then at most every
``SERVER_LIST_REFRESH``. A credential without ``nezha:service:read`` gets one repair issue per
entry (shared with the ping monitors, which need the same scope) and no further requests.
"""

from datetime import datetime
import logging
from typing import override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.util import dt as dt_util

from ..api import (
    NezhaAuthError,
    NezhaError,
    NezhaPermissionError,
    NezhaServicesClient,
    ServicesSnapshot,
)
from ..const import (
    DOMAIN,
    SERVER_LIST_REFRESH,
    SERVICE_SCOPE,
)
from ..credentials import auth_failed
from ..registry import async_remove_cycle_entities, async_remove_service_entities
from ..repair_issues import ISSUE_MISSING_SCOPE, async_raise_issue, async_withdraw_issues
from ..state import ServicesData, cycle_keys, track_presence
from .base import ServerDispatchCoordinator, monitor_interval, update_failed
from .servers import NezhaServerCoordinator

_LOGGER = logging.getLogger(__name__)


class NezhaServicesCoordinator(ServerDispatchCoordinator[ServicesData]):
    """Polls ``/service`` once per ``monitor_interval``; cycle entities hear of their server only."""

    config_entry: ConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: NezhaServicesClient,
        servers: NezhaServerCoordinator,
    ) -> None:
        """Poll every ``monitor_interval`` seconds (the caller creates none for 0)."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} services",
            update_interval=monitor_interval(entry),
        )
        self.client = client
        self.server_coordinator = servers
        self.data = ServicesData()  # until the first poll: nothing rather than None
        self._rules_read_at: datetime | None = None
        self._rules_readable = True

    @override
    async def _async_update_data(self) -> ServicesData:
        try:
            snapshot = await self.client.async_get_services()
        except NezhaAuthError as err:
            raise auth_failed(self.config_entry.data) from err
        except NezhaPermissionError as err:
            return self._async_scope_missing(err)
        except NezhaError as err:
            raise update_failed(err) from err
        async_withdraw_issues(self.hass, self.config_entry.entry_id, ISSUE_MISSING_SCOPE)
        directions = await self._async_directions()
        return self._async_track(snapshot, directions)

    async def _async_directions(self) -> dict[int, str]:
        """What each cycle counts, from ``/alert-rule`` at most every ``SERVER_LIST_REFRESH``.

        Without ``nezha:alertrule:read`` the direction is left out, silently and for good (a new
        token reloads the entry); any other failure keeps the last answer until the next read.
        """
        previous = self.data.directions
        now = dt_util.utcnow()
        if not self._rules_readable or (
            self._rules_read_at is not None and now - self._rules_read_at < SERVER_LIST_REFRESH
        ):
            return previous
        self._rules_read_at = now
        try:
            rules = await self.client.async_get_alert_rules()
        except NezhaAuthError as err:
            raise auth_failed(self.config_entry.data) from err
        except NezhaPermissionError as err:
            _LOGGER.debug("Traffic cycles get no direction: %s", err)
            self._rules_readable = False
            return {}
        except NezhaError as err:
            _LOGGER.debug("The alert rules can't be read now: %s", err)
            return previous
        return {
            rule_id: rule.direction for rule_id, rule in rules.items() if rule.direction is not None
        }

    @callback
    def _async_track(self, snapshot: ServicesSnapshot, directions: dict[int, str]) -> ServicesData:
        """Count what went missing, remove what is gone for good, name the servers that changed."""
        previous = self.data
        services_absent, services_gone = track_presence(
            previous.services_absent, previous.services.keys(), snapshot.services.keys()
        )
        cycles_absent, cycles_gone = track_presence(
            previous.cycles_absent, previous.cycle_keys, cycle_keys(snapshot.cycles)
        )
        data = ServicesData(
            services=snapshot.services,
            services_absent=services_absent,
            cycles=snapshot.cycles,
            cycles_absent=cycles_absent,
            directions=directions,
            dashboard_time=snapshot.dashboard_time or dt_util.utcnow(),
        )
        async_remove_service_entities(self.hass, self.config_entry.entry_id, services_gone)
        async_remove_cycle_entities(self.hass, self.config_entry.entry_id, cycles_gone)
        self._set_changed(_changed_servers(previous, data))
        return data

    def _async_scope_missing(self, err: NezhaPermissionError) -> ServicesData:
        """The token may not read ``/service``: say so once, and stop asking."""
        _LOGGER.info("Service availability and traffic cycles are skipped: %s", err)
        async_raise_issue(
            self.hass, self.config_entry, ISSUE_MISSING_SCOPE, scope=err.scope or SERVICE_SCOPE
        )
        self.update_interval = None
        self._set_changed({server_id for _, server_id in self.data.tracked_cycle_keys})
        return ServicesData()


def _rule_name(data: ServicesData, rule_id: int) -> str | None:
    return cycle.name if (cycle := data.cycles.get(rule_id)) is not None else None


def _changed_servers(previous: ServicesData, data: ServicesData) -> set[int]:
    """Servers whose cycle sensors may show something else now (figures, direction, presence,
    name)."""
    changed: set[int] = set()
    for rule_id, server_id in previous.tracked_cycle_keys | data.tracked_cycle_keys:
        if (
            previous.usage(rule_id, server_id) != data.usage(rule_id, server_id)
            or previous.directions.get(rule_id) != data.directions.get(rule_id)
            or _rule_name(previous, rule_id) != _rule_name(data, rule_id)  # names its sensors
        ):
            changed.add(server_id)
    return changed
