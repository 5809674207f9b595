"""Switches (1.x/2.x, option ``actions``): alert rules on and off, monitors' notifications.

An alert rule's switch is a maintenance switch: off silences the rule on the dashboard (its
state per server starts afresh when it is turned back on). A monitor's switch mutes or unmutes
its notifications; monitors have no pause. Both write the whole object back (full replace).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Coroutine, Mapping
from typing import TYPE_CHECKING, Any, override

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription

from .const import ALERT_RULE_SWITCH_KEY, NOTIFY_SWITCH_KEY
from .entity import NezhaActionEntity, Shown
from .entity_tracking import async_track_action_entities
from .registry import alert_rule_unique_id, service_unique_id

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .api.actions import Switchable
    from .coordinator import ActionsData
    from .data import NezhaConfigEntry

PARALLEL_UPDATES = 1
"""One write at a time: each reads the object just before writing it back whole."""

ALERT_RULE = SwitchEntityDescription(key=ALERT_RULE_SWITCH_KEY, translation_key="alert_rule")
SERVICE_NOTIFY = SwitchEntityDescription(key=NOTIFY_SWITCH_KEY, translation_key="service_notify")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NezhaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a switch per alert rule and per monitor the credential may change."""
    async_track_action_entities(
        entry,
        lambda data: data.rules,
        NezhaAlertRuleSwitch,
        async_add_entities,
        unique_id=alert_rule_unique_id,
        placeholder="rule",
    )
    async_track_action_entities(
        entry,
        lambda data: data.monitors,
        NezhaMonitorNotifySwitch,
        async_add_entities,
        unique_id=service_unique_id,
        placeholder="monitor",
    )


class _NezhaActionSwitch(NezhaActionEntity, SwitchEntity):
    """On while the dashboard says so (read after every write)."""

    @override
    def _state_from(self, source: Switchable) -> Shown:
        """On or off as the last read says."""
        return (True, source.on, None)

    @abstractmethod
    def _write(self, on: bool) -> Coroutine[Any, Any, None]:
        """The dashboard write that turns the object on or off."""

    async def _async_set(self, on: bool) -> None:
        await self.coordinator.async_act(self._write(on), self.object_name)

    @override
    async def async_turn_on(self, **kwargs: Any) -> None:
        """Write ``on`` to the dashboard."""
        await self._async_set(True)

    @override
    async def async_turn_off(self, **kwargs: Any) -> None:
        """Write ``off`` to the dashboard."""
        await self._async_set(False)


class NezhaAlertRuleSwitch(_NezhaActionSwitch):
    """On while the alert rule is enabled."""

    entity_description = ALERT_RULE

    @override
    def _items(self, data: ActionsData) -> Mapping[int, Switchable] | None:
        return data.rules

    @override
    def _write(self, on: bool) -> Coroutine[Any, Any, None]:
        return self.coordinator.client.async_set_alert_rule_enabled(self.item_id, on)


class NezhaMonitorNotifySwitch(_NezhaActionSwitch):
    """On while the monitor sends notifications."""

    entity_description = SERVICE_NOTIFY

    @override
    def _items(self, data: ActionsData) -> Mapping[int, Switchable] | None:
        return data.monitors

    @override
    def _write(self, on: bool) -> Coroutine[Any, Any, None]:
        return self.coordinator.client.async_set_monitor_notify(self.item_id, on)
