"""What the action entities share: the dashboard-device base, the tracker, and the errors.

Every action writes once and then reads the dashboard again, so the entity shows what the
dashboard holds after it (never an optimistic guess). Every failure is a ``HomeAssistantError``
translated through the ``exceptions`` strings; a refused credential starts the re-authentication,
as a refused read does. The cron tasks' last-run sensors are here too (sensor.py adds them).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, override

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
)
from homeassistant.core import callback
from homeassistant.exceptions import HomeAssistantError

from .actions_coordinator import ActionsData, NezhaActionsCoordinator, task_unique_id
from .api import (
    NezhaAuthError,
    NezhaBlockedError,
    NezhaConnectionError,
    NezhaError,
    NezhaPermissionError,
    NezhaRealIpHeaderError,
)
from .api.actions import (
    NezhaActionDeniedError,
    NezhaAgentUpdateError,
    NezhaNotFoundError,
)
from .const import DOMAIN
from .devices import dashboard_device_info
from .entity import NezhaEntity

if TYPE_CHECKING:
    from homeassistant.helpers.entity import Entity
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .api.actions import CronTask
    from .coordinator import NezhaConfigEntry


def action_failed(err: NezhaError, name: str) -> HomeAssistantError:  # noqa: PLR0911
    """The translated error of a failed action on ``name`` (a rule, monitor, task or server).

    One return per kind of failure; none names a host, an address or a secret.
    """
    where = {"name": name}
    if isinstance(err, NezhaAuthError):
        return HomeAssistantError(translation_domain=DOMAIN, translation_key="action_auth_failed")
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


async def async_act(
    coordinator: NezhaActionsCoordinator, action: Awaitable[None], name: str
) -> None:
    """Run one write, then read the dashboard again (whatever the outcome) to show its truth.

    A refused credential also starts re-authentication, the same path a refused read takes.
    """
    try:
        await action
    except NezhaError as err:
        if isinstance(err, NezhaAuthError):
            coordinator.config_entry.async_start_reauth(coordinator.hass)
        else:
            await coordinator.async_refresh()
        raise action_failed(err, name) from err
    await coordinator.async_refresh()


class NezhaActionEntity(NezhaEntity[NezhaActionsCoordinator]):
    """An entity of one dashboard object (rule, monitor, task), on the dashboard device."""

    def __init__(
        self,
        coordinator: NezhaActionsCoordinator,
        item_id: int,
        unique_id: str,
        placeholders: Mapping[str, str],
    ) -> None:
        """Name the entity after the object (its name in the translation's placeholder)."""
        super().__init__(coordinator)
        self.item_id = item_id
        self._attr_unique_id = unique_id
        self._attr_translation_placeholders = dict(placeholders)
        self._attr_device_info = dashboard_device_info(coordinator.config_entry)

    @property
    def object_name(self) -> str:
        """The rule's, monitor's or task's name when the entity was made (for messages)."""
        return next(iter(self._attr_translation_placeholders.values()))

    @abstractmethod
    def _items(self, data: ActionsData) -> Mapping[int, Any] | None:
        """The objects of this entity's kind in ``data``."""

    @property
    def item(self) -> Any:
        """The object as last read (only while ``available``)."""
        items = self._items(self.coordinator.data)
        assert items is not None
        return items[self.item_id]

    @property
    @override
    def available(self) -> bool:
        """Available while the last read listed the object."""
        if not super().available or self.coordinator.data is None:
            return False
        items = self._items(self.coordinator.data)
        return items is not None and self.item_id in items


@callback
def async_track_action_entities(
    entry: NezhaConfigEntry,
    items: Callable[[ActionsData], Mapping[int, Any] | None],
    factory: Callable[[NezhaActionsCoordinator, int, Any], Iterable[Entity]],
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the entities of each object of a kind, now and as objects appear.

    Objects that leave a read are forgotten here (their entities were removed from the
    registry by the coordinator), so one that comes back gets its entities anew.
    """
    coordinator = entry.runtime_data.actions
    if coordinator is None:
        return  # the option is off, or 0.x
    added: set[int] = set()

    @callback
    def sync() -> None:
        if coordinator.data is None or (current := items(coordinator.data)) is None:
            return
        added.intersection_update(current)
        new_entities: list[Entity] = []
        for item_id, item in current.items():
            if item_id not in added:
                added.add(item_id)
                new_entities.extend(factory(coordinator, item_id, item))
        if new_entities:
            async_add_entities(new_entities)

    sync()
    entry.async_on_unload(coordinator.async_add_listener(sync))


def runnable_tasks(data: ActionsData) -> Mapping[int, CronTask] | None:
    """The cron tasks offered (the coordinator keeps those a run by hand reaches)."""
    return data.tasks


CRON_LAST_RUN = SensorEntityDescription(
    key="last_run",
    translation_key="cron_last_run",
    device_class=SensorDeviceClass.TIMESTAMP,
)


class NezhaCronLastRunSensor(NezhaActionEntity, SensorEntity):
    """When a cron task last ran (``last_executed_at``); unknown if it never did."""

    entity_description = CRON_LAST_RUN

    @override
    def _items(self, data: ActionsData) -> Mapping[int, Any] | None:
        return runnable_tasks(data)

    @property
    @override
    def native_value(self) -> datetime | None:
        """The dashboard's time of the last run."""
        task: CronTask = self.item
        return task.last_executed_at


@callback
def async_setup_cron_sensors(
    entry: NezhaConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Add each offered cron task's last-run sensor (called by the sensor platform)."""
    async_track_action_entities(
        entry,
        runnable_tasks,
        lambda coordinator, task_id, task: [
            NezhaCronLastRunSensor(
                coordinator,
                task_id,
                task_unique_id(coordinator.config_entry, task_id, CRON_LAST_RUN.key),
                {"task": task.name},
            )
        ],
        async_add_entities,
    )
