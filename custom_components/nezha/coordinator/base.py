"""What every coordinator shares: the entry's client and group, retryable errors, and dispatch.

Dispatch: a coordinator that calls back only the listeners of the servers a poll changed.

A poll of 1,000 servers where nothing changed must cost next to nothing. HA's coordinator calls
every listener (one per entity, ~24 per server) after every poll; this one calls those of the
servers the poll changed, plus those listening for the whole fleet. An entity says which server
it follows through its coordinator context (an ``int`` server id, or a ``ServerContext`` that
also names what of the server it reads); any other context means the whole fleet.

Of a changed server, an entity whose ``ServerContext`` names what it reads hears of the change
only when one of those fields, or the server's state (see ``_field_changes``), changed: the
metric change of a poll wakes the metric entities, not the server's addresses or billing.
"""

import asyncio
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import timedelta
from itertools import count
import logging
from typing import Any, Protocol, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from ..api import (
    API_V0,
    NezhaBlockedError,
    NezhaClient,
    NezhaConnectionError,
    NezhaError,
    NezhaRealIpHeaderError,
    create_client,
)
from ..const import (
    CONF_API,
    CONF_GROUP_ID,
    CONF_GROUP_NAME,
    CONF_MONITOR_INTERVAL,
    CONF_TAG,
    DEFAULT_MONITOR_INTERVAL,
    DOMAIN,
)
from ..credentials import entry_credential


def client_for_entry(hass: HomeAssistant, entry: ConfigEntry) -> NezhaClient:
    """The dashboard client for an entry, on HA's shared session."""
    session = async_get_clientsession(hass, verify_ssl=entry.data[CONF_VERIFY_SSL])
    return create_client(
        entry.data[CONF_API], session, entry.data[CONF_URL], entry_credential(entry.data)
    )


def entry_group(entry: ConfigEntry) -> tuple[str | int | None, str]:
    """The server group an entry shows: the client's key for it and its name (None: all servers).

    0.x groups are tags (the name is the key); 1.x/2.x groups have ids, stored with their name.
    """
    if entry.data[CONF_API] == API_V0:
        tag: str = entry.options.get(CONF_TAG) or ""
        return (tag or None), tag
    group_id = entry.options.get(CONF_GROUP_ID)
    return group_id, entry.options.get(CONF_GROUP_NAME) or str(group_id or "")


def monitor_interval(entry: ConfigEntry) -> timedelta:
    """How often the monitors, ``/service`` and the actions' objects are read (the default when
    monitors are off: only the actions are read then)."""
    return timedelta(seconds=entry.options.get(CONF_MONITOR_INTERVAL) or DEFAULT_MONITOR_INTERVAL)


def update_failed(err: NezhaError) -> UpdateFailed:
    """A translated UpdateFailed for an error worth retrying (the dashboard may come back)."""
    placeholders = {"error": str(err)}
    if isinstance(err, NezhaConnectionError):
        return UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders=placeholders,
        )
    if isinstance(err, NezhaBlockedError):
        return UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="blocked",
            translation_placeholders=placeholders,
        )
    if isinstance(err, NezhaRealIpHeaderError):
        return UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="real_ip_header",
            translation_placeholders=placeholders,
        )
    return UpdateFailed(
        translation_domain=DOMAIN,
        translation_key="invalid_response",
        translation_placeholders=placeholders,
    )


@dataclass(frozen=True, slots=True)
class ServerContext:
    """The coordinator context of an entity of one server."""

    server_id: int
    reads: frozenset[str] | None = None
    """The fields of the server's data its state is computed from (``None``: any field).
    Whatever the fields, the entity hears when the server's state (availability) changes."""


type _Listener = tuple[CALLBACK_TYPE, frozenset[str] | None]
type FieldChanges = Callable[[int], frozenset[str] | None]
"""Which fields of a server's data a notification changed (``None``: its state, or unknown)."""

SERVERS_PER_PASS = 10
"""Servers whose entities one pass of the event loop works out and writes. A change to every
server of a big fleet (a poll, a stream connection's first frame, a recovery) is written over
several passes, each a few milliseconds (10 servers: ~18 state writes each), instead of one
stall: 1,000 servers' 18,000 writes held the event loop for a third of a second; small enough
that a stream frame's decoding and first pass together stay well under 25 ms."""


class StateWriter(Protocol):
    """An entity whose state write waits for the end of a notification (``deferred_writes``)."""

    def async_write_ha_state(self) -> None:
        """Write the state it works out."""


class ServerDispatchCoordinator[DataT](DataUpdateCoordinator[DataT]):
    """Tells a poll's news only to whom it concerns, and writes what it changed in one pass.

    A subclass's ``_async_update_data`` calls ``_set_changed`` with the servers whose data or
    state changed. Everyone is called, as HA does, on anything else: the first poll, an outage
    and the recovery from it (availability changes for every entity), a manual update.

    The listeners of ``SERVERS_PER_PASS`` servers are called per pass of the event loop (the
    fleet's in the first, at once). Those called work out what their entity shows and leave the
    state writes it needs in ``deferred_writes``, made once every listener of the pass ran:
    working out the states and then writing them keeps each step's data in the CPU's caches,
    about a tenth less loop time for a changed poll of 1,000 servers than writing each as it is
    worked out (``scripts/bench``).
    """

    def __init__(
        self,
        hass: HomeAssistant,
        logger: logging.Logger,
        *,
        config_entry: ConfigEntry[Any],
        name: str,
        update_interval: timedelta,
    ) -> None:
        """Set up HA's coordinator with an empty listener index."""
        self._listener_index: dict[int | None, dict[int, _Listener]] = {}
        self._listener_ids = count()
        self._changed: frozenset[int] | None = None
        self._entry = config_entry  # HA types its config_entry optional; here it never is
        self.deferred_writes: list[StateWriter] | None = None
        """While the listeners run: the entities whose state changed, to write after them."""
        self.changed_servers: frozenset[int] | None = None
        """The servers the latest notification is about; ``None`` means every server."""
        super().__init__(
            hass, logger, config_entry=config_entry, name=name, update_interval=update_interval
        )

    @callback
    def _set_changed(self, server_ids: Collection[int] | None) -> None:
        """Name the servers the next notification concerns (``None``: all of them)."""
        if server_ids is None or not self.last_update_success or self.data is None:
            self._changed = None  # first poll or recovery: everything may have changed
        else:
            self._changed = frozenset(server_ids)

    @callback
    @override
    def async_add_listener(
        self, update_callback: CALLBACK_TYPE, context: Any = None
    ) -> Callable[[], None]:
        """Register with HA's coordinator and in this one's index by server."""
        remove = super().async_add_listener(update_callback, context)
        index = self._listener_index
        reads = None
        if isinstance(context, ServerContext):
            key: int | None = context.server_id
            reads = context.reads
        elif isinstance(context, int) and not isinstance(context, bool):
            key = context
        else:
            key = None
        bucket = index.setdefault(key, {})
        listener_id = next(self._listener_ids)
        bucket[listener_id] = (update_callback, reads)

        @callback
        def remove_listener() -> None:
            remove()
            bucket.pop(listener_id, None)
            if not bucket and index.get(key) is bucket:
                del index[key]

        return remove_listener

    @callback
    @override
    def async_update_listeners(self) -> None:
        """Call the fleet's listeners and those of the changed servers, or everyone's,
        ``SERVERS_PER_PASS`` servers per pass of the event loop; each pass then writes the
        states it changed."""
        changed, self._changed = self._changed, None
        self.changed_servers = changed if self.last_update_success else None
        if self.changed_servers is None:  # everyone
            server_ids = [key for key in self._listener_index if key is not None]
            fields_of = None
        else:
            server_ids = list(self.changed_servers)
            fields_of = self._field_changes()
        self._run_pass(server_ids[:SERVERS_PER_PASS], fields_of, fleet=True)
        if later := server_ids[SERVERS_PER_PASS:]:
            self._entry.async_create_task(
                self.hass,
                self._run_later(later, fields_of),
                f"{self.name} listeners",
                eager_start=False,
            )

    async def _run_later(self, server_ids: list[int], fields_of: FieldChanges | None) -> None:
        """The passes after the first, each in a pass of the event loop of its own."""
        for start in range(0, len(server_ids), SERVERS_PER_PASS):
            await asyncio.sleep(0)
            self._run_pass(server_ids[start : start + SERVERS_PER_PASS], fields_of)

    @callback
    def _run_pass(
        self, server_ids: list[int], fields_of: FieldChanges | None, *, fleet: bool = False
    ) -> None:
        """Call the listeners of ``server_ids`` (and the fleet's) registered now, each server's
        only if it reads a changed field; then write the states they changed."""
        index = self._listener_index
        callbacks = [listener for listener, _ in index.get(None, {}).values()] if fleet else []
        for server_id in server_ids:
            if not (bucket := index.get(server_id)):
                continue  # none left (its entities were removed since the notification)
            if fields_of is None or (fields := fields_of(server_id)) is None:
                callbacks += [listener for listener, _ in bucket.values()]
            else:
                callbacks += [
                    listener
                    for listener, reads in bucket.values()
                    if reads is None or not reads.isdisjoint(fields)
                ]
        writes: list[StateWriter] = []
        # A listener may start a notification of its own: its pass writes, then this one goes on.
        outer, self.deferred_writes = self.deferred_writes, writes
        try:
            for update_callback in callbacks:
                try:
                    update_callback()
                except Exception:
                    self.logger.exception(
                        "Unexpected error updating listener %s for %s",
                        id(update_callback),
                        self.name,
                    )
        finally:
            self.deferred_writes = outer
        for entity in writes:
            try:
                entity.async_write_ha_state()
            except Exception:
                self.logger.exception("Unexpected error writing the state of %s", entity)

    def _field_changes(self) -> FieldChanges | None:
        """Which fields of a changed server's data changed, as of this notification (``None``:
        unknown, every listener of a changed server is called). Called once per notification;
        what it returns is asked per server when its pass runs, so it must keep the data it
        compares (a later poll may have replaced the coordinator's by then)."""
        return None
