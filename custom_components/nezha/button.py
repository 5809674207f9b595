"""Buttons (1.x/2.x, option ``actions``): run a cron task now.

Only tasks a run by hand reaches are offered (cover 0 "only the listed servers" and 1 "all but
the listed"); a cover-2 task runs on the server whose alert fired and does nothing otherwise.
Anyone who can press the button in Home Assistant runs the task's command on those servers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, override

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.const import Platform

from .const import CRON_ENTITY_KEYS
from .entity import NezhaActionEntity, Shown
from .entity_tracking import async_track_action_entities
from .registry import cron_unique_id

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .api.actions import CronTask
    from .coordinator import ActionsData
    from .data import NezhaConfigEntry

PARALLEL_UPDATES = 1

CRON_TASK = ButtonEntityDescription(
    key=CRON_ENTITY_KEYS[Platform.BUTTON], translation_key="cron_task"
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NezhaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a button per cron task the credential may run."""
    async_track_action_entities(
        entry,
        lambda data: data.tasks,  # those a run by hand reaches
        NezhaCronTaskButton,
        async_add_entities,
        unique_id=cron_unique_id,
        placeholder="task",
    )


class NezhaCronTaskButton(NezhaActionEntity, ButtonEntity):
    """Runs the task on its online servers; its last-run sensor shows when it did."""

    entity_description = CRON_TASK

    @override
    def _items(self, data: ActionsData) -> dict[int, CronTask] | None:
        return data.tasks

    @override
    def _state_from(self, source: CronTask) -> Shown:
        """Nothing besides availability (Home Assistant shows when it was last pressed)."""
        return (True, None, None)

    @override
    async def async_press(self) -> None:
        """Ask the dashboard to run the task now."""
        await self.coordinator.async_act(
            self.coordinator.client.async_run_cron_task(self.item_id), self.object_name
        )
