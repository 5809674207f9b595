"""Options: intervals, the offline threshold, the server group and (1.x/2.x) live updates.

Saving reloads the entry. The form is ``init`` for 1.x/2.x and ``polling`` for 0.x, which has no
live updates to speak of.
"""

from collections.abc import Mapping
import logging
from typing import Any

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    ConfigEntryState,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
import probatio as vol

from .api import API_V0, NezhaAuthError, NezhaClient
from .const import (
    CONF_ACTIONS,
    CONF_API,
    CONF_GROUP_ID,
    CONF_GROUP_NAME,
    CONF_LIVE_UPDATES,
    CONF_MONITOR_INTERVAL,
    CONF_ONLINE_THRESHOLD,
    CONF_SCAN_INTERVAL,
    CONF_TAG,
    DEFAULT_ACTIONS,
    DEFAULT_LIVE_UPDATES,
    DEFAULT_MONITOR_INTERVAL,
    DEFAULT_ONLINE_THRESHOLD,
    DEFAULT_SCAN_INTERVAL,
    MAX_MONITOR_INTERVAL,
    MAX_ONLINE_THRESHOLD,
    MAX_SCAN_INTERVAL,
    MIN_MONITOR_INTERVAL,
    MIN_ONLINE_THRESHOLD,
    MIN_SCAN_INTERVAL,
)
from .coordinator import client_for_entry, entry_group
from .credentials import credential_kind
from .flow_helpers import error_reason

_LOGGER = logging.getLogger(__name__)

_SECONDS_SELECTOR = NumberSelector(
    NumberSelectorConfig(step=1, mode=NumberSelectorMode.BOX, unit_of_measurement="s")
)
"""A box for a number of seconds. Its limits are checked by the flow, not by the selector: HA's
own check would show an untranslated "Value … is too small" and leave the form's other errors."""

_LIMITS: dict[str, tuple[int, int, str]] = {
    CONF_SCAN_INTERVAL: (MIN_SCAN_INTERVAL, MAX_SCAN_INTERVAL, "scan_interval_out_of_range"),
    # 0 turns monitors off, checked before this range.
    CONF_MONITOR_INTERVAL: (
        MIN_MONITOR_INTERVAL,
        MAX_MONITOR_INTERVAL,
        "monitor_interval_out_of_range",
    ),
    CONF_ONLINE_THRESHOLD: (
        MIN_ONLINE_THRESHOLD,
        MAX_ONLINE_THRESHOLD,
        "online_threshold_out_of_range",
    ),
}
"""Each number option's range and the error shown (under its field) for a value outside it."""

_DEFAULTS = {
    CONF_SCAN_INTERVAL: DEFAULT_SCAN_INTERVAL,
    CONF_MONITOR_INTERVAL: DEFAULT_MONITOR_INTERVAL,
    CONF_ONLINE_THRESHOLD: DEFAULT_ONLINE_THRESHOLD,
}

_OPTIONS_ABORTS = frozenset({"missing_scope", "unsupported_version"})
"""Reasons besides a refused credential that the options can't open: the user must act first (a
new token, or the dashboard was upgraded). Any other failure is treated as an outage, during which
the options still open."""


def _number_errors(options: Mapping[str, float]) -> dict[str, str]:
    """The field errors of the number options: each one outside its range or not whole."""
    errors: dict[str, str] = {}
    for key, (minimum, maximum, error) in _LIMITS.items():
        value = options[key]
        if key == CONF_MONITOR_INTERVAL and value == 0:
            continue
        if not minimum <= value <= maximum or value != int(value):
            _LOGGER.debug("Option %s refused (%s): %s", key, error, value)
            errors[key] = error
    return errors


class NezhaOptionsFlow(OptionsFlowWithReload):
    """Polling intervals, the offline threshold and the server group; saving reloads the entry.

    A 0.x dashboard's groups are tags (stored as ``tag``); a 1.x/2.x dashboard's are server groups
    (stored as ``group_id``, with ``group_name`` beside it for messages).
    """

    _groups: dict[str, str]
    """The group choices: the selector's value (a tag, or a group id as text) to its name."""
    _groups_error: dict[str, str]

    @property
    def _is_0x(self) -> bool:
        """0.x: groups are tags, and there is no live stream."""
        return bool(self.config_entry.data[CONF_API] == API_V0)

    @property
    def _group_field(self) -> str:
        return CONF_TAG if self._is_0x else CONF_GROUP_ID

    async def _async_read_groups(self) -> ConfigFlowResult | None:
        """Read the dashboard's server groups; an abort result if the options can't open.

        During an outage (unreachable, 5xx, an answer that isn't Nezha's, anything unexpected)
        the form still opens, offering only the current group, so intervals can be changed
        exactly when the dashboard is having a bad day. A refused credential or an upgraded
        dashboard aborts: saving options would not help, and the user has something else to do.
        """
        current, current_name = entry_group(self.config_entry)
        kept = {str(current): current_name} if current is not None else {}
        kind = credential_kind(self.config_entry.data)
        refused = f"{kind}_refused"
        if any(self.config_entry.async_get_active_flows(self.hass, {SOURCE_REAUTH})):
            # The entry knows its credential is refused: sending it again counts towards the
            # dashboard's block of this host.
            _LOGGER.debug("The options were not opened (%s): reauthentication is pending", refused)
            return self.async_abort(reason=refused)
        try:
            groups = await self._client().async_get_groups()
        except Exception as err:  # every failure has a reason (see error_reason)
            reason = error_reason(err, kind)
            if isinstance(err, NezhaAuthError):
                return self.async_abort(reason=refused)
            if reason in _OPTIONS_ABORTS:
                return self.async_abort(reason=reason)
            self._groups = kept
            self._groups_error = {"base": "groups_unavailable"}
            return None
        # Keep a group that no longer has servers (or was deleted) selectable.
        self._groups = kept | {str(key): name for key, name in groups.items()}
        self._groups_error = {}
        return None

    def _client(self) -> NezhaClient:
        """The running entry's client (no new sign-in); a new one only for an entry not loaded."""
        if self.config_entry.state is ConfigEntryState.LOADED:
            client: NezhaClient = self.config_entry.runtime_data.client
            return client
        return client_for_entry(self.hass, self.config_entry)

    async def async_step_polling(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The 0.x form: the same options, no live updates."""
        return await self.async_step_init(user_input)

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the options, with the server groups the dashboard reports now."""
        errors: dict[str, str] = {}
        field = self._group_field
        if user_input is None:
            if (abort := await self._async_read_groups()) is not None:
                return abort
        else:
            errors = _number_errors(user_input)
            if not errors:
                options: dict[str, Any] = {key: int(user_input[key]) for key in _LIMITS}
                if not self._is_0x:
                    options[CONF_LIVE_UPDATES] = user_input[CONF_LIVE_UPDATES]
                    options[CONF_ACTIONS] = user_input[CONF_ACTIONS]
                if group := user_input.get(field):
                    options |= self._group_options(group)
                return self.async_create_entry(data=options)

        fields: dict[vol.Marker, Any] = {
            vol.Required(key, default=default): _SECONDS_SELECTOR
            for key, default in _DEFAULTS.items()
        }
        if not self._is_0x:
            fields[vol.Required(CONF_LIVE_UPDATES, default=DEFAULT_LIVE_UPDATES)] = (
                BooleanSelector()
            )
            fields[vol.Required(CONF_ACTIONS, default=DEFAULT_ACTIONS)] = BooleanSelector()
        if self._groups:
            fields[vol.Optional(field)] = SelectSelector(
                SelectSelectorConfig(
                    options=[
                        SelectOptionDict(value=value, label=name)
                        for value, name in sorted(self._groups.items(), key=lambda item: item[1])
                    ],
                    mode=SelectSelectorMode.DROPDOWN,
                )
            )
        suggested = dict(user_input or self.config_entry.options)
        if field == CONF_GROUP_ID and suggested.get(CONF_GROUP_ID) is not None:
            suggested[CONF_GROUP_ID] = str(suggested[CONF_GROUP_ID])
        return self.async_show_form(
            step_id="polling" if self._is_0x else "init",
            data_schema=self.add_suggested_values_to_schema(vol.Schema(fields), suggested),
            # Every submission's errors replace the last ones; the outage notice stays.
            errors={**self._groups_error, **errors},
            description_placeholders={"name": self.config_entry.title},
        )

    def _group_options(self, value: str) -> dict[str, Any]:
        """The options that store the chosen group."""
        if self._group_field == CONF_TAG:
            return {CONF_TAG: value}
        return {CONF_GROUP_ID: int(value), CONF_GROUP_NAME: self._groups.get(value, value)}
