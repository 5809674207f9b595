"""Buttons (1.x/2.x, option ``actions``): run a cron task now.

Only tasks a run by hand reaches are offered (cover 0 "only the listed servers" and 1 "all but
the listed"); a cover-2 task runs on the server whose alert fired and does nothing otherwise.
Anyone who can press the button in Home Assistant runs the task's command on those servers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, override

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription

from .action_entities import (
    NezhaActionEntity,
    async_act,
    async_track_action_entities,
    runnable_tasks,
)
from .actions_coordinator import ActionsData, task_unique_id

if TYPE_CHECKING:
    from collections.abc import Mapping

    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .api.actions import CronTask
    from .coordinator import NezhaConfigEntry

PARALLEL_UPDATES = 1

CRON_TASK = ButtonEntityDescription(key="run", translation_key="cron_task")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NezhaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a button per cron task the credential may run."""
    async_track_action_entities(
        entry,
        runnable_tasks,
        lambda coordinator, task_id, task: [
            NezhaCronTaskButton(
                coordinator,
                task_id,
                task_unique_id(coordinator.config_entry, task_id, CRON_TASK.key),
                {"task": task.name},
            )
        ],
        async_add_entities,
    )


class NezhaCronTaskButton(NezhaActionEntity, ButtonEntity):
    """Runs the task on its online servers; its last-run sensor shows when it did."""

    entity_description = CRON_TASK

    @override
    def _items(self, data: ActionsData) -> Mapping[int, CronTask] | None:
        return runnable_tasks(data)

    @override
    async def async_press(self) -> None:
        """Ask the dashboard to run the task now."""
        await async_act(
            self.coordinator,
            self.coordinator.client.async_run_cron_task(self.item_id),
            self.object_name,
        )
