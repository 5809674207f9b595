"""Config flow for Nezha Monitoring: the dashboard's URL and API token, reauth, reconfigure, options."""

from __future__ import annotations

from collections.abc import Mapping
import logging
from typing import Any, override

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_API_TOKEN, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import probatio as vol
from yarl import URL

from .api import (
    API_V0,
    NezhaAuthError,
    NezhaConnectionError,
    NezhaError,
    NezhaResponseError,
    NezhaUnsupportedVersionError,
    create_client,
)
from .const import (
    CONF_API,
    CONF_MONITOR_INTERVAL,
    CONF_ONLINE_THRESHOLD,
    CONF_SCAN_INTERVAL,
    CONF_TAG,
    DEFAULT_MONITOR_INTERVAL,
    DEFAULT_ONLINE_THRESHOLD,
    DEFAULT_SCAN_INTERVAL,
    DOMAIN,
    MAX_MONITOR_INTERVAL,
    MAX_ONLINE_THRESHOLD,
    MAX_SCAN_INTERVAL,
    MIN_MONITOR_INTERVAL,
    MIN_ONLINE_THRESHOLD,
    MIN_SCAN_INTERVAL,
)
from .coordinator import client_for_entry

_LOGGER = logging.getLogger(__name__)

EXAMPLE_URL = "https://nezha.example.com:8008"

_URL_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.URL, autocomplete="url"))
_TOKEN_SELECTOR = TextSelector(
    TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="off")
)

USER_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_URL): _URL_SELECTOR,
        vol.Required(CONF_API_TOKEN): _TOKEN_SELECTOR,
        vol.Required(CONF_VERIFY_SSL, default=True): BooleanSelector(),
    }
)
REAUTH_SCHEMA = vol.Schema({vol.Required(CONF_API_TOKEN): _TOKEN_SELECTOR})
# The token is optional here: left empty, the entry keeps its current one (see async_step_reconfigure).
RECONFIGURE_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_URL): _URL_SELECTOR,
        vol.Optional(CONF_API_TOKEN): _TOKEN_SELECTOR,
        vol.Required(CONF_VERIFY_SSL, default=True): BooleanSelector(),
    }
)


def normalize_url(raw: str) -> str:
    """Return the canonical form of a dashboard URL; raise ValueError if it can't be one.

    The scheme (http or https) and host are required and lowercased; a default port, surrounding
    whitespace and trailing slashes are removed; a non-default port and a sub-path are kept.
    A user name or password in the URL is refused: the token is the only credential, and it must
    not end up in the stored URL, the entry title or logs. A query or fragment is dropped: the
    client only ever requests fixed paths under the base URL, so neither would be sent, and
    keeping them would let one dashboard be added twice.
    """
    text = raw.strip()
    if any(char.isspace() for char in text):
        raise ValueError("whitespace inside the URL")
    url = URL(text)  # raises ValueError for a bad port or IPv6 literal
    if url.scheme not in ("http", "https") or not url.raw_host:
        raise ValueError("an http:// or https:// URL with a host is needed")
    if url.raw_user is not None or url.raw_password is not None:
        raise ValueError("user information in the URL")
    url = url.with_query(None).with_fragment(None)
    url = url.with_path(url.raw_path.rstrip("/"), encoded=True)
    if url.is_default_port():
        url = url.with_port(None)
    return str(url)


def url_title(url: str) -> str:
    """The entry title for a normalised URL: host, plus port and path when present."""
    return URL(url).human_repr().split("://", 1)[1].rstrip("/")


def _without_token(user_input: Mapping[str, Any], errors: Mapping[str, str]) -> dict[str, Any]:
    """The input to show again: all of it, except a token the dashboard just refused."""
    if errors.get("base") == "invalid_auth":
        return {key: value for key, value in user_input.items() if key != CONF_API_TOKEN}
    return dict(user_input)


_ERROR_REASONS: dict[type[NezhaError], str] = {
    NezhaConnectionError: "cannot_connect",
    NezhaAuthError: "invalid_auth",
    NezhaResponseError: "not_nezha",
    NezhaUnsupportedVersionError: "unsupported_version",
}
"""The form error (config steps) for each error the client raises."""

_OPTIONS_ABORTS = frozenset({"invalid_auth", "unsupported_version"})
"""Reasons the options can't open: the user must act first (new token, or the dashboard was
upgraded). Any other failure is treated as an outage, during which the options still open."""


def _error_reason(err: Exception) -> str:
    """The reason key for an error of the client, logged with its cause at debug level.

    An error type missing from ``_ERROR_REASONS`` (a new client error, an unexpected exception)
    becomes ``unknown``, logged with its traceback, rather than a KeyError in the flow. The
    client's messages never hold the token (api/errors.py), so they can be logged.
    """
    if isinstance(err, NezhaError) and (reason := _ERROR_REASONS.get(type(err))):
        _LOGGER.debug("Reading the dashboard failed (%s): %s", reason, err)
        return reason
    _LOGGER.exception("Unexpected error while reading the dashboard")
    return "unknown"


class NezhaConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up a Nezha dashboard."""

    VERSION = 1

    async def _async_validate(
        self, user_input: Mapping[str, Any]
    ) -> tuple[dict[str, str], dict[str, Any]]:
        """Check a URL, token and verify_ssl against the dashboard.

        Returns the form errors and, when there are none, the entry data to store. Aborts with
        ``already_configured`` when another entry already reads this dashboard.
        """
        try:
            url = normalize_url(user_input[CONF_URL])
        except ValueError as err:
            # Not the URL itself: a refused one may hold a user name and password.
            _LOGGER.debug("The URL was refused (invalid_url): %s", err)
            return {CONF_URL: "invalid_url"}, {}
        # Excludes the entry a reauth or reconfigure flow is changing.
        self._async_abort_entries_match({CONF_URL: url})

        token = user_input[CONF_API_TOKEN].strip()
        verify_ssl: bool = user_input[CONF_VERIFY_SSL]
        client = create_client(API_V0, async_get_clientsession(self.hass, verify_ssl), url, token)
        try:
            await client.async_get_servers()
        except Exception as err:  # every failure is a form error (see _error_reason)
            error = _error_reason(err)
        else:
            return {}, {
                CONF_URL: url,
                CONF_API_TOKEN: token,
                CONF_VERIFY_SSL: verify_ssl,
                CONF_API: API_V0,
            }
        return {"base": error}, {}

    @override
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the dashboard's URL and API token."""
        errors: dict[str, str] = {}
        suggested: dict[str, Any] = {}
        if user_input is not None:
            errors, data = await self._async_validate(user_input)
            if not errors:
                return self.async_create_entry(title=url_title(data[CONF_URL]), data=data)
            suggested = _without_token(user_input, errors)
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(USER_SCHEMA, suggested),
            errors=errors,
            description_placeholders={"example_url": EXAMPLE_URL},
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Start reauthentication after the dashboard refused the token."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new API token for the same dashboard."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        suggested: dict[str, Any] = {}
        if user_input is not None:
            errors, data = await self._async_validate(
                {**entry.data, CONF_API_TOKEN: user_input[CONF_API_TOKEN]}
            )
            if not errors:
                return self.async_update_reload_and_abort(
                    entry, data_updates={CONF_API_TOKEN: data[CONF_API_TOKEN]}
                )
            suggested = _without_token(user_input, errors)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=self.add_suggested_values_to_schema(REAUTH_SCHEMA, suggested),
            errors=errors,
            description_placeholders={"name": entry.title, "url": entry.data[CONF_URL]},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the URL, token or certificate check of an entry.

        The token field starts empty and may stay so: an empty token keeps the current one, so
        moving a dashboard to a new address does not mean creating a new token.
        """
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        suggested = {key: entry.data[key] for key in (CONF_URL, CONF_VERIFY_SSL)}
        if user_input is not None:
            token = user_input.get(CONF_API_TOKEN, "").strip() or entry.data[CONF_API_TOKEN]
            errors, data = await self._async_validate({**user_input, CONF_API_TOKEN: token})
            if not errors:
                return self.async_update_reload_and_abort(
                    entry, title=url_title(data[CONF_URL]), data_updates=data
                )
            suggested = _without_token(user_input, errors)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(RECONFIGURE_SCHEMA, suggested),
            errors=errors,
            description_placeholders={"name": entry.title, "example_url": EXAMPLE_URL},
        )

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> NezhaOptionsFlow:
        """Return the options flow."""
        return NezhaOptionsFlow()


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
    """Polling intervals, the offline threshold and the server group; saving reloads the entry."""

    _tags: list[str]
    _groups_error: dict[str, str]

    async def _async_read_tags(self) -> ConfigFlowResult | None:
        """Read the dashboard's server groups; an abort result if the options can't open.

        During an outage (unreachable, 5xx, an answer that isn't Nezha's, anything unexpected)
        the form still opens, offering only the current group, so intervals can be changed
        exactly when the dashboard is having a bad day. A refused token or an upgraded dashboard
        aborts: saving options would not help, and the user has something else to do first.
        """
        current = self.config_entry.options.get(CONF_TAG)
        try:
            snapshot = await client_for_entry(self.hass, self.config_entry).async_get_servers()
        except Exception as err:  # every failure has a reason (see _error_reason)
            reason = _error_reason(err)
            if reason in _OPTIONS_ABORTS:
                return self.async_abort(reason=reason)
            self._tags = [current] if current else []
            self._groups_error = {"base": "groups_unavailable"}
            return None
        tags = {server.tag for server in snapshot.servers.values() if server.tag}
        if current:
            tags.add(current)  # keep a group that no longer has servers selectable
        self._tags = sorted(tags)
        self._groups_error = {}
        return None

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the options, with the server groups the dashboard reports now."""
        errors: dict[str, str] = {}
        if user_input is None:
            if (abort := await self._async_read_tags()) is not None:
                return abort
        else:
            errors = _number_errors(user_input)
            if not errors:
                options: dict[str, Any] = {key: int(user_input[key]) for key in _LIMITS}
                if tag := user_input.get(CONF_TAG):
                    options[CONF_TAG] = tag
                return self.async_create_entry(data=options)

        fields: dict[vol.Marker, Any] = {
            vol.Required(key, default=default): _SECONDS_SELECTOR
            for key, default in _DEFAULTS.items()
        }
        if self._tags:
            fields[vol.Optional(CONF_TAG)] = SelectSelector(
                SelectSelectorConfig(options=self._tags, mode=SelectSelectorMode.DROPDOWN)
            )
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(fields),
                user_input or self.config_entry.options,
            ),
            # Every submission's errors replace the last ones; the outage notice stays.
            errors={**self._groups_error, **errors},
            description_placeholders={"name": self.config_entry.title},
        )
