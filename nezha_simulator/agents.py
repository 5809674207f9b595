"""What a dashboard shows of each agent: reporting, hung, stopped, and around a dashboard restart.

Recorded on real dashboards (``real-answers/README.md``, "Behaviour seen"):

* an agent whose process stops (its stream closes) is shown by 2.x with the zero time as
  ``last_active`` from the next answer on, host and state kept; 1.x and 0.x keep the time of
  the last report. A hung agent (stream open, no reports) keeps its last time everywhere.
* a dashboard restart: the old process answers (and streams) for its graceful stop, then nothing
  listens for a moment, then every server is never-seen (zero time, empty host and state) until
  its agent reconnects, each after its own delay; the agent sends its host about a second
  before its first state. An agent that was stopped or hung stays never-seen.

Everything here is a pure function of the dashboard clock, so a test steps through it by moving
the clock (``freezer`` or ``NezhaWorld.advance``).
"""

from collections.abc import Mapping
from dataclasses import dataclass
import math
from typing import NamedTuple

from .model import SimHost, SimServer, SimStatus

NEVER = math.inf
"""``Restart.back_at`` of an agent that does not reconnect by itself."""


@dataclass(frozen=True)
class Restart:
    """One dashboard restart, in dashboard-clock seconds."""

    stop_at: float
    """The graceful stop ends: open streams drop (no close frame) and nothing listens."""
    listen_at: float
    """The new process listens; from ``stop_at`` every server is never-seen until its agent is back."""
    back_at: dict[int, float]
    """Per server id: when its agent reconnects (``NEVER``: it does not)."""
    host_lead: float
    """How long an agent's host report comes before its first state report."""

    def refusing(self, now: float) -> bool:
        """Whether no process listens at ``now``."""
        return self.stop_at <= now < self.listen_at

    def away(self, server_id: int, now: float) -> bool:
        """Whether the server is never-seen at ``now`` (ids added after the restart never are)."""
        return self.stop_at <= now < self.back_at.get(server_id, -NEVER) + self.host_lead


class ServerView(NamedTuple):
    """What an answer shows of one server at one moment."""

    host: SimHost
    status: SimStatus
    last_active: float | None
    """Unix seconds of the last report; ``None`` is Go's zero time."""


def server_view(
    server: SimServer, restart: Restart | None, now: float, *, zero_when_closed: bool
) -> ServerView:
    """The server as a dashboard shows it at ``now``; ``zero_when_closed`` is 2.x's rule."""
    if restart is not None and restart.away(server.id, now):
        back_at = restart.back_at.get(server.id, NEVER)
        # Between the agent's host report and its first state, only the host is known.
        host = server.host if now >= back_at else SimHost()
        return ServerView(host, SimStatus(), None)
    if server.reporting:
        return ServerView(server.host, server.status, now)
    if server.agent_closed and zero_when_closed:
        return ServerView(server.host, server.status, None)
    return ServerView(server.host, server.status, server.last_report)


def plan_restart(
    servers: Mapping[int, SimServer],
    now: float,
    *,
    graceful: float,
    refused: float,
    agents_back: float | Mapping[int, float],
    host_lead: float,
) -> Restart:
    """The restart that begins at ``now``; only reporting agents reconnect."""
    listen_at = now + graceful + refused
    back_at: dict[int, float] = {}
    for server_id, server in servers.items():
        if not server.reporting:
            back_at[server_id] = NEVER
        elif isinstance(agents_back, Mapping):
            back_at[server_id] = listen_at + agents_back.get(server_id, 0.0)
        else:
            back_at[server_id] = listen_at + agents_back
    return Restart(now + graceful, listen_at, back_at, host_lead)
