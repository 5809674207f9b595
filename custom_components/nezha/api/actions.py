"""What a 1.x/2.x client may change or trigger on the dashboard (NEZHA_ACTIONS.md).

Alert rules on and off, a monitor's notifications on and off, a cron task run by hand and a
forced agent update. ``NezhaV1Client`` inherits ``NezhaActions`` and supplies one signed request
(``_send``); everything else is here. The rules every write follows:

* **Full replace.** A ``PATCH`` copies every form field, zeroing what is left out, so the object
  is read just before, one field changed, and the whole object sent back.
* **Never a retry.** A write is sent once; the only second send is one the dashboard refused
  before acting on it (a refused JWT, a missing CSRF cookie, a route the version lacks).
* **CSRF on 2.x logins.** A JWT write carries the ``nz-csrf`` cookie and the same value in
  ``X-CSRF-Token`` (a GET in the authenticated group sets the cookie); tokens and 1.x need none.
* **Scopes.** A 2.x access token's write scopes are learnt only by a write that changes nothing
  (``probe_scopes``): a ``PATCH`` of id 0, which no object has, answers 403 or "does not exist".
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
import re
from typing import Any, Final

import aiohttp
from yarl import URL

from .errors import NezhaError, NezhaPermissionError, NezhaResponseError
from .parsing import decode_json_object, objects, rfc3339, text, unsigned, unsigned_tuple
from .transport import DEFAULT_TIMEOUT, fetch

SCOPE_ALERTRULE_READ: Final = "nezha:alertrule:read"
SCOPE_ALERTRULE_WRITE: Final = "nezha:alertrule:write"
SCOPE_SERVICE_READ: Final = "nezha:service:read"
SCOPE_SERVICE_WRITE: Final = "nezha:service:write"
SCOPE_CRON_READ: Final = "nezha:cron:read"
SCOPE_CRON_EXEC: Final = "nezha:cron:exec"
SCOPE_SERVER_WRITE: Final = "nezha:server:write"

CSRF_COOKIE: Final = "nz-csrf"
CSRF_HEADER: Final = "X-CSRF-Token"
_CSRF_REFUSED = "missing or invalid CSRF token"
_PERMISSION_DENIED = "permission denied"
_DOES_NOT_EXIST = re.compile(r"\b(?:alert|service|task) id \d+ does not exist$")
_NO_SUCH_ID = 0
"""An id no object has (Nezha's ids start at 1): the probes' target."""

COVER_ALERT: Final = 2
"""A cron task run on the server whose alert fired: by hand it runs nowhere (not offered)."""

_SERVER_MANAGED = frozenset({"id", "created_at", "updated_at"})
"""Fields of a read object that are no form field: the dashboard sets them itself."""


class NezhaActionDeniedError(NezhaResponseError):
    """``permission denied``: the object is another user's, or outside the token's servers."""


class NezhaNotFoundError(NezhaResponseError):
    """The rule, monitor or task does not exist (any more)."""


class NezhaCsrfError(NezhaPermissionError):
    """A 2.x login's write without a valid CSRF pair (the cookie expired or was never set)."""


class NezhaAgentUpdateError(NezhaResponseError):
    """The dashboard could not send the update to the agent: offline, or the send failed."""

    def __init__(self, message: str, *, offline: bool) -> None:
        """``offline``: the agent is not connected (else the dashboard failed to send)."""
        super().__init__(message)
        self.offline = offline


def action_error(error: str) -> NezhaError | None:
    """The error of a write's refusal the dashboard words (``{"error": …}``), if it is one."""
    if error == _PERMISSION_DENIED:
        return NezhaActionDeniedError("the dashboard says permission denied")
    if _DOES_NOT_EXIST.search(error):
        return NezhaNotFoundError(f"the dashboard says {error[:120]!r}")
    if error.endswith(_CSRF_REFUSED):
        return NezhaCsrfError("the dashboard refused the write's CSRF token")
    return None


@dataclass(frozen=True, slots=True)
class Switchable:
    """An alert rule (``enable``) or a monitor (``notify``) as its full object was read."""

    id: int
    name: str
    on: bool
    has_trigger_tasks: bool
    """Writing it needs ``nezha:cron:exec`` too (2.x tokens)."""


@dataclass(frozen=True, slots=True)
class CronTask:
    """A cron task (``GET /cron``): only ``last_executed_at`` tells of its runs."""

    id: int
    name: str
    cover: int
    last_executed_at: datetime | None
    """``None``: never run (Go's zero time)."""

    @property
    def runnable(self) -> bool:
        """Whether a run by hand does something (cover 0 or 1)."""
        return self.cover != COVER_ALERT


def _switchables(data: Any, field: str) -> dict[int, Switchable]:
    result: dict[int, Switchable] = {}
    for item in objects(data):
        if (item_id := unsigned(item, "id")) is None:
            continue
        result[item_id] = Switchable(
            id=item_id,
            name=text(item, "name") or f"#{item_id}",
            on=item.get(field) is True,
            has_trigger_tasks=bool(
                unsigned_tuple(item, "fail_trigger_tasks")
                or unsigned_tuple(item, "recover_trigger_tasks")
            ),
        )
    return dict(sorted(result.items()))


def parse_alert_rule_switches(data: Any) -> dict[int, Switchable]:
    """``GET /alert-rule``: every rule by id, on when enabled."""
    return _switchables(data, "enable")


def parse_monitor_switches(data: Any) -> dict[int, Switchable]:
    """``GET /service/list``: every monitor by id, on when it notifies."""
    return _switchables(data, "notify")


def parse_cron_tasks(data: Any) -> dict[int, CronTask]:
    """``GET /cron``: every task by id (``last_result`` is left out: it never returns to false)."""
    tasks: dict[int, CronTask] = {}
    for item in objects(data):
        if (task_id := unsigned(item, "id")) is None:
            continue
        executed = rfc3339(item.get("last_executed_at"))
        tasks[task_id] = CronTask(
            id=task_id,
            name=text(item, "name") or f"#{task_id}",
            cover=unsigned(item, "cover") or 0,
            last_executed_at=executed if executed is not None and executed.year > 1 else None,
        )
    return dict(sorted(tasks.items()))


def replaced(item: Mapping[str, Any], field: str, value: Any) -> dict[str, Any]:
    """The whole object as read, ``field`` set to ``value``: the body of a full-replace PATCH."""
    form = {key: item_value for key, item_value in item.items() if key not in _SERVER_MANAGED}
    form[field] = value
    return form


class NezhaActions(ABC):
    """The writes of a 1.x/2.x client; the client supplies the requests."""

    api_version: str

    @abstractmethod
    async def _read(self, path: str) -> Any:
        """GET ``/api/v1/<path>`` as the credential: the envelope's ``data``."""

    @abstractmethod
    async def _send(self, method: str, path: str, body: Any = None) -> Any:
        """One write (with CSRF where needed): the envelope's ``data``, else its error raised."""

    @property
    @abstractmethod
    def has_scopes(self) -> bool:
        """Whether the credential is a 2.x access token (limited by scopes)."""

    async def async_get_alert_rule_switches(self) -> dict[int, Switchable]:
        """Every alert rule the credential may change (``nezha:alertrule:read``)."""
        return parse_alert_rule_switches(await self._read("alert-rule"))

    async def async_get_monitor_switches(self) -> dict[int, Switchable]:
        """Every ``/service`` monitor's full object (``nezha:service:read``)."""
        return parse_monitor_switches(await self._read("service/list"))

    async def async_get_cron_tasks(self) -> dict[int, CronTask]:
        """Every cron task the credential may run (``nezha:cron:read``)."""
        return parse_cron_tasks(await self._read("cron"))

    async def async_set_alert_rule_enabled(self, rule_id: int, enabled: bool) -> None:
        """Turn a rule on or off: read it, change ``enable``, send the whole rule back."""
        item = _find(await self._read("alert-rule"), rule_id, "alert")
        await self._send("PATCH", f"alert-rule/{rule_id}", replaced(item, "enable", enabled))

    async def async_set_monitor_notify(self, monitor_id: int, notify: bool) -> None:
        """Turn a monitor's notifications on or off (full replace, as for rules)."""
        item = _find(await self._read("service/list"), monitor_id, "service")
        await self._send("PATCH", f"service/{monitor_id}", replaced(item, "notify", notify))

    async def async_run_cron_task(self, task_id: int) -> None:
        """Run a task now on its online servers (2.x ``POST``, 1.x ``GET``)."""
        verb = "POST" if self.api_version == "v2" else "GET"
        await self._send(verb, f"cron/{task_id}/manual")

    async def async_force_agent_update(self, server_id: int) -> None:
        """Tell one server's agent to update now (it restarts); raise if it was not sent."""
        outcome = await self._send("POST", "force-update/server", [server_id])
        outcome = outcome if isinstance(outcome, Mapping) else {}
        if server_id in unsigned_tuple(outcome, "offline"):
            raise NezhaAgentUpdateError(
                f"the dashboard says server {server_id}'s agent is offline", offline=True
            )
        if server_id in unsigned_tuple(outcome, "failure"):
            raise NezhaAgentUpdateError(
                f"the dashboard could not send the update to server {server_id}", offline=False
            )

    async def async_probe_scopes(self, scopes: tuple[str, ...]) -> frozenset[str]:
        """The write scopes of ``scopes`` the access token lacks, by writes that change nothing.

        Each probe addresses id 0 (no object has it) or no server at all: with the scope the
        dashboard answers "does not exist" (or an empty outcome), without it HTTP 403. Any other
        failure (unreachable, refused credential) is raised. Reads are probed by reading.
        """
        missing: set[str] = set()
        for scope in scopes:
            try:
                await self._send(*_PROBES[scope])
            except NezhaPermissionError as err:
                if err.scope is None:
                    raise
                missing.add(err.scope)
            except NezhaResponseError:
                pass  # "does not exist", a form error: the scope let it through
        return frozenset(missing)


_PROBES: Final[dict[str, tuple[str, str, Any]]] = {
    SCOPE_ALERTRULE_WRITE: ("PATCH", f"alert-rule/{_NO_SUCH_ID}", {}),
    SCOPE_SERVICE_WRITE: ("PATCH", f"service/{_NO_SUCH_ID}", {}),
    SCOPE_CRON_EXEC: ("POST", f"cron/{_NO_SUCH_ID}/manual", None),
    SCOPE_SERVER_WRITE: ("POST", "force-update/server", []),
}
"""The write of each write scope that changes nothing (2.x: tokens exist only there)."""
WRITE_SCOPES: Final = tuple(_PROBES)


def _find(data: Any, item_id: int, kind: str) -> Mapping[str, Any]:
    """The object with ``item_id`` in a list just read; gone: ``NezhaNotFoundError``."""
    for item in objects(data):
        if unsigned(item, "id") == item_id:
            return item
    raise NezhaNotFoundError(f"{kind} id {item_id} does not exist")


AGENT_RELEASE_URL: Final = "https://api.github.com/repos/nezhahq/agent/releases/latest"
"""The official agent's newest release (the dashboard itself knows no "latest" version)."""


@dataclass(frozen=True, slots=True)
class AgentRelease:
    """The newest agent release: its version as agents report it (no ``v``) and its page."""

    version: str
    url: str | None


async def async_latest_agent_release(
    session: aiohttp.ClientSession, url: str = AGENT_RELEASE_URL
) -> AgentRelease:
    """Read GitHub's latest release of ``nezhahq/agent``; any failure is a ``NezhaError``."""
    reply = await fetch(
        session,
        "GET",
        URL(url),
        limits=aiohttp.ClientTimeout(total=DEFAULT_TIMEOUT),
        headers={"Accept": "application/vnd.github+json"},
    )
    if reply.status != 200:
        raise NezhaResponseError(f"HTTP {reply.status} from the release list")
    payload = decode_json_object(reply.body, reply.status)
    if (tag := text(payload, "tag_name")) is None:
        raise NezhaResponseError("the latest release has no tag")
    return AgentRelease(version=tag.removeprefix("v"), url=text(payload, "html_url"))
