"""What the actions read (1.x/2.x, option ``actions``): alert rules, monitors, cron tasks, scopes.

One coordinator per entry, created only while the option is on, reads the full alert rules,
``/service/list`` and ``/cron`` at the ``/service`` poll's cadence (``monitor_interval``) and right
after each write, so every switch and button shows what the dashboard holds, never a guess. The
newest agent release is read from GitHub at most every ``AGENT_RELEASE_REFRESH``.

A 2.x access token's scopes are learnt once per set-up: reads by reading, writes by writes that
change nothing (``NezhaActions.async_probe_scopes``). A kind whose scopes are missing gets no
entities, and the entry gets one repair issue naming every scope to add.

Every write goes through ``async_act``: it writes once, then reads the dashboard again whatever
the outcome, so an entity shows what the dashboard holds after it (never an optimistic guess);
a failure is a ``HomeAssistantError`` translated through the ``exceptions`` strings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import logging
from typing import Any, Final, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from ..api import (
    API_V0,
    NezhaAuthError,
    NezhaBlockedError,
    NezhaClient,
    NezhaConnectionError,
    NezhaError,
    NezhaPermissionError,
    NezhaRealIpHeaderError,
    NezhaV1Client,
)
from ..api.actions import (
    AGENT_RELEASE_URL,
    SCOPE_ALERTRULE_READ,
    SCOPE_ALERTRULE_WRITE,
    SCOPE_CRON_EXEC,
    SCOPE_CRON_READ,
    SCOPE_SERVER_WRITE,
    SCOPE_SERVICE_READ,
    SCOPE_SERVICE_WRITE,
    WRITE_SCOPES,
    AgentRelease,
    CronTask,
    NezhaActionDeniedError,
    NezhaAgentUpdateError,
    NezhaNotFoundError,
    Switchable,
    async_latest_agent_release,
)
from ..const import (
    CONF_ACTIONS,
    CONF_API,
    DEFAULT_ACTIONS,
    DOMAIN,
)
from ..credentials import auth_failed
from ..registry import async_remove_action_entities, async_remove_gone_action_entities
from ..repair_issues import ISSUE_ACTIONS_SCOPES, async_raise_issue, async_withdraw_issues
from .base import monitor_interval, update_failed

_LOGGER = logging.getLogger(__name__)

AGENT_RELEASE_REFRESH: Final = timedelta(hours=6)

RULES: Final = "rules"
MONITORS: Final = "monitors"
TASKS: Final = "tasks"
AGENTS: Final = "agents"
KIND_SCOPES: Final[dict[str, tuple[str, ...]]] = {
    RULES: (SCOPE_ALERTRULE_READ, SCOPE_ALERTRULE_WRITE),
    MONITORS: (SCOPE_SERVICE_READ, SCOPE_SERVICE_WRITE),
    TASKS: (SCOPE_CRON_READ, SCOPE_CRON_EXEC),
    AGENTS: (SCOPE_SERVER_WRITE,),
}
"""What each kind of action entity needs of a 2.x access token (rules and monitors with
trigger tasks need ``nezha:cron:exec`` too)."""


def actions_enabled(entry: ConfigEntry) -> bool:
    """Whether the entry acts on its dashboard: the option is on and the dashboard is 1.x/2.x."""
    return bool(entry.data[CONF_API] != API_V0 and entry.options.get(CONF_ACTIONS, DEFAULT_ACTIONS))


@dataclass(frozen=True, slots=True)
class ActionsData:
    """The dashboard's objects each kind acts on; ``None``: that kind is not offered."""

    rules: dict[int, Switchable] | None = None
    monitors: dict[int, Switchable] | None = None
    tasks: dict[int, CronTask] | None = None
    agents: bool = False
    """Whether agent updates may be forced (2.x tokens: ``nezha:server:write``)."""
    agent_release: AgentRelease | None = None
    missing_scopes: frozenset[str] = field(default_factory=frozenset)


class NezhaActionsCoordinator(DataUpdateCoordinator[ActionsData]):
    """Reads what the action entities show, and learns what the credential may do."""

    config_entry: ConfigEntry

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, client: NezhaV1Client) -> None:
        """Read every ``monitor_interval`` seconds (the default when monitors are off)."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} actions",
            update_interval=monitor_interval(entry),
        )
        self.client = client
        self._lacking: set[str] | None = None if client.has_scopes else set()
        """The scopes the token lacks (empty for logins); ``None`` until probed."""
        self._read_once: set[str] = set()
        """The kinds read at least once (a kind that can't be written is read only once)."""
        self._release: AgentRelease | None = None
        self._release_read_at: datetime | None = None

    @override
    async def _async_update_data(self) -> ActionsData:
        try:
            if self._lacking is None:
                self._lacking = set(await self.client.async_probe_scopes(WRITE_SCOPES))
            rules = await self._async_read(RULES, self.client.async_get_alert_rule_switches)
            monitors = await self._async_read(MONITORS, self.client.async_get_monitor_switches)
            tasks = await self._async_read(TASKS, self.client.async_get_cron_tasks)
        except NezhaAuthError as err:
            raise auth_failed(self.config_entry.data) from err
        except NezhaError as err:
            raise update_failed(err) from err
        lacking = self._lacking
        if SCOPE_CRON_EXEC in lacking:
            # A write of a rule or monitor with trigger tasks needs the right to run them.
            rules = _without_trigger_tasks(rules)
            monitors = _without_trigger_tasks(monitors)
        agents = SCOPE_SERVER_WRITE not in lacking
        data = ActionsData(
            rules=rules,
            monitors=monitors,
            tasks=_runnable(tasks),
            agents=agents,
            agent_release=await self._async_agent_release() if agents else None,
            missing_scopes=frozenset(lacking),
        )
        self._async_report_scopes(data.missing_scopes)
        if (previous := self.data) is not None:
            # These reads list every object the credential may act on: one missing was deleted.
            async_remove_gone_action_entities(
                self.hass,
                self.config_entry.entry_id,
                rules=_gone(previous.rules, data.rules),
                monitors=_gone(previous.monitors, data.monitors),
                tasks=_gone(previous.tasks, data.tasks),
            )
        return data

    async def async_act(self, action: Awaitable[None], name: str) -> None:
        """Run one write on ``name``, then read the dashboard again (whatever the outcome).

        A refused credential starts re-authentication instead, the path a refused read takes.
        """
        try:
            await action
        except NezhaError as err:
            if isinstance(err, NezhaAuthError):
                self.config_entry.async_start_reauth(self.hass)
            else:
                await self.async_refresh()
            raise self._action_failed(err, name) from err
        await self.async_refresh()

    def _action_failed(self, err: NezhaError, name: str) -> HomeAssistantError:  # noqa: PLR0911
        """The translated error of a failed action on ``name`` (a rule, monitor, task or server).

        One return per kind of failure; none names a host, an address or a secret.
        """
        where = {"name": name}
        if isinstance(err, NezhaAuthError):
            return auth_failed(self.config_entry.data)  # the refused read's message
        if isinstance(err, NezhaPermissionError) and err.scope is not None:
            return HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="action_missing_scope",
                translation_placeholders={**where, "scope": err.scope},
            )
        if isinstance(err, NezhaPermissionError | NezhaActionDeniedError):
            return HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="action_permission_denied",
                translation_placeholders=where,
            )
        if isinstance(err, NezhaNotFoundError):
            return HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="action_not_found",
                translation_placeholders=where,
            )
        if isinstance(err, NezhaAgentUpdateError) and err.offline:
            return HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="agent_offline",
                translation_placeholders=where,
            )
        if isinstance(err, NezhaAgentUpdateError):
            return HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="agent_update_failed",
                translation_placeholders=where,
            )
        if isinstance(err, NezhaConnectionError | NezhaBlockedError | NezhaRealIpHeaderError):
            return HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="action_cannot_connect",
                translation_placeholders=where,
            )
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="action_refused",
            translation_placeholders={**where, "error": str(err)},
        )

    async def _async_read[T](
        self, kind: str, read: Callable[[], Awaitable[dict[int, T]]]
    ) -> dict[int, T] | None:
        """One kind's objects, or ``None`` when the token lacks a scope for it.

        A kind whose write scope is missing is still read once, so the issue can name its
        read scope too if that is missing as well.
        """
        lacking = self._lacking
        assert lacking is not None
        read_scope, *write_scopes = KIND_SCOPES[kind]
        unwritable = bool(lacking.intersection(write_scopes))
        if read_scope in lacking or (unwritable and kind in self._read_once):
            return None
        self._read_once.add(kind)
        try:
            result = await read()
        except NezhaPermissionError as err:
            if err.scope is None:
                raise
            lacking.add(err.scope)
            return None
        return None if unwritable else result

    async def _async_agent_release(self) -> AgentRelease | None:
        """The newest agent release, read at most every ``AGENT_RELEASE_REFRESH``."""
        now = dt_util.utcnow()
        if self._release_read_at is None or now - self._release_read_at >= AGENT_RELEASE_REFRESH:
            self._release_read_at = now
            try:
                # Through HA's shared session (verifying TLS); the URL is read here so tests
                # can point it at a local server.
                self._release = await async_latest_agent_release(
                    async_get_clientsession(self.hass), AGENT_RELEASE_URL
                )
            except NezhaError as err:
                _LOGGER.debug("The newest Nezha agent release can't be read: %s", err)
        return self._release

    @callback
    def _async_report_scopes(self, missing: frozenset[str]) -> None:
        """One repair issue naming every scope the token lacks for an action; none when whole."""
        if missing:
            async_raise_issue(
                self.hass,
                self.config_entry,
                ISSUE_ACTIONS_SCOPES,
                scopes=", ".join(sorted(missing)),
            )
        else:
            async_withdraw_issues(self.hass, self.config_entry.entry_id, ISSUE_ACTIONS_SCOPES)


def _runnable(tasks: dict[int, CronTask] | None) -> dict[int, CronTask] | None:
    """The tasks a run by hand reaches (cover 0 and 1): a cover-2 task's run does nothing."""
    if tasks is None:
        return None
    return {task_id: task for task_id, task in tasks.items() if task.runnable}


def _without_trigger_tasks(items: dict[int, Switchable] | None) -> dict[int, Switchable] | None:
    if items is None:
        return None
    return {item_id: item for item_id, item in items.items() if not item.has_trigger_tasks}


def _gone(previous: Mapping[int, Any] | None, current: Mapping[int, Any] | None) -> set[int]:
    """Ids listed before and not now (a kind no longer read keeps what it has)."""
    if previous is None or current is None:
        return set()
    return set(previous) - set(current)


@callback
def async_setup_actions(
    hass: HomeAssistant, entry: ConfigEntry, client: NezhaClient
) -> NezhaActionsCoordinator | None:
    """The actions coordinator (not read yet) if the option is on; else clean up after it."""
    if not actions_enabled(entry) or not isinstance(client, NezhaV1Client):
        # Turned off: its entities go (not left unavailable), and the scopes issue with them.
        async_remove_action_entities(hass, entry.entry_id)
        async_withdraw_issues(hass, entry.entry_id, ISSUE_ACTIONS_SCOPES)
        return None
    return NezhaActionsCoordinator(hass, entry, client)
