"""Agent updates (1.x/2.x, option ``actions``): one update entity per server.

Installed is the version the agent reports (``host.version``, seen only by the server's owner
or an admin); latest is the newest release of the official agent on GitHub, unknown when it
can't be read. Install forces the update (``POST /force-update/server``): the agent downloads
the release and restarts. An agent set to refuse forced updates ignores it, while the dashboard
still reports success: the installed version then stays as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast, override

from homeassistant.components.update import (
    UpdateEntity,
    UpdateEntityDescription,
    UpdateEntityFeature,
)
from homeassistant.core import callback
from homeassistant.helpers.translation import async_get_translations

from .const import AGENT_UPDATE_KEY, DOMAIN
from .entity import NezhaServerEntity, NezhaServerEntityDescription, Shown
from .entity_tracking import async_track_server_entities

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .api import Server
    from .api.actions import AgentRelease
    from .coordinator import ActionsData, NezhaActionsCoordinator, NezhaServerCoordinator
    from .data import NezhaConfigEntry

PARALLEL_UPDATES = 1

_SUMMARY_KEY = f"component.{DOMAIN}.exceptions.agent_update_summary.message"


@dataclass(frozen=True, kw_only=True)
class NezhaAgentUpdateEntityDescription(NezhaServerEntityDescription, UpdateEntityDescription):
    """A server's agent (a configuration entity, as HA's update entities are by default)."""


AGENT_UPDATE = NezhaAgentUpdateEntityDescription(
    key=AGENT_UPDATE_KEY,
    translation_key="agent",
    requires_online=False,
    exists_fn=lambda server: server.host.agent_version is not None,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NezhaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add an update entity per server whose agent version the credential sees."""
    actions = entry.runtime_data.actions
    if actions is None:
        return  # the option is off, or 0.x
    translations = await async_get_translations(hass, hass.config.language, "exceptions", {DOMAIN})
    summary = translations.get(_SUMMARY_KEY)

    def factory(
        coordinator: NezhaServerCoordinator,
        server: Server,
        description: NezhaAgentUpdateEntityDescription,
    ) -> NezhaAgentUpdate:
        return NezhaAgentUpdate(coordinator, server, description, actions, summary)

    @callback
    def start() -> bool:
        """Track the servers once the first read said whether updates may be forced."""
        data: ActionsData | None = actions.data  # None until a read succeeded
        if data is None:
            return False
        if data.agents:
            async_track_server_entities(entry, (AGENT_UPDATE,), factory, async_add_entities)
        return True

    started = start()
    if not started:  # the dashboard could not be read at set-up: wait for its first answer

        @callback
        def start_once() -> None:
            nonlocal started
            started = started or start()

        entry.async_on_unload(actions.async_add_listener(start_once))


class NezhaAgentUpdate(NezhaServerEntity, UpdateEntity):
    """The agent of one server: installed, latest, and a forced update."""

    _attr_supported_features = UpdateEntityFeature.INSTALL
    entity_description: NezhaAgentUpdateEntityDescription

    def __init__(
        self,
        coordinator: NezhaServerCoordinator,
        server: Server,
        description: NezhaAgentUpdateEntityDescription,
        actions: NezhaActionsCoordinator,
        summary: str | None,
    ) -> None:
        """Follow the server's poll and the release read by the actions coordinator."""
        super().__init__(coordinator, server, description)
        self.actions = actions
        self._attr_release_summary = summary

    @override
    async def async_added_to_hass(self) -> None:
        """Also hear of a new release."""
        await super().async_added_to_hass()
        self.async_on_remove(self.actions.async_add_listener(self._handle_coordinator_update))

    @property
    def _release(self) -> AgentRelease | None:
        data = self.actions.data
        return None if data is None else data.agent_release

    @override
    def _state_from(self, source: Server) -> Shown:
        """Installed (what the agent reports), latest (the newest official release; unknown
        when GitHub can't be read) and the release's page."""
        release = self._release
        versions = (
            source.host.agent_version,
            None if release is None else release.version,
            None if release is None else release.url,
        )
        return (True, versions, None)

    @override
    def _show_value(self, value: object) -> None:
        installed, latest, url = cast("tuple[str | None, str | None, str | None]", value)
        self._attr_installed_version = installed
        self._attr_latest_version = latest
        self._attr_release_url = url

    @override
    async def async_install(self, version: str | None, backup: bool, **kwargs: Any) -> None:
        """Force the update; the server poll then shows the version the agent reports."""
        await self.actions.async_act(
            self.actions.client.async_force_agent_update(self.server_id), self.server.name
        )
        await self.coordinator.async_request_refresh()
