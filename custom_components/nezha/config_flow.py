"""Config flow for Nezha Monitoring: the dashboard's URL, then the credential its generation takes.

The URL alone says which generation a dashboard is (``api.async_detect``): 0.x asks for its API
token (step ``token``), 1.x for a login (step ``login``), 2.x lets the user choose between a
personal access token and a login (menu ``auth_method``). Reauth asks for the same kind of
credential again; reconfigure starts from the URL and goes through the same steps.
"""

from __future__ import annotations

from collections.abc import Mapping
import logging
from typing import Any, override

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
)
from homeassistant.const import (
    CONF_API_TOKEN,
    CONF_PASSWORD,
    CONF_URL,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
)
from homeassistant.core import callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    BooleanSelector,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import probatio as vol

from .api import (
    API_V0,
    API_V1,
    Login,
    NezhaPermissionError,
    NezhaUnsupportedVersionError,
    async_detect,
    create_client,
)
from .const import CONF_API, CONF_TAG, DOMAIN
from .devices import async_registered_server_ids, async_remove_server_devices
from .flow_common import EXAMPLE_URL, PAT_SCOPES, error_reason, normalize_url, url_title
from .options_flow import NezhaOptionsFlow

__all__ = ["NezhaConfigFlow", "normalize_url", "url_title"]

_LOGGER = logging.getLogger(__name__)

_URL_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.URL, autocomplete="url"))
_SECRET_SELECTOR = TextSelector(
    TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="off")
)
_USERNAME_SELECTOR = TextSelector(TextSelectorConfig(autocomplete="username"))

URL_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_URL): _URL_SELECTOR,
        vol.Required(CONF_VERIFY_SSL, default=True): BooleanSelector(),
    }
)

AUTH_TOKEN = "token"
AUTH_LOGIN = "login"


def _keeps_token(data: Mapping[str, Any], api: str) -> bool:
    """Whether the token in ``data`` still fits: a 0.x token and a 2.x access token never mix."""
    return CONF_API_TOKEN in data and data[CONF_API] == api


def _keeps_login(data: Mapping[str, Any], api: str) -> bool:
    """Whether the login in ``data`` still fits: 1.x and 2.x logins are the same (an upgrade)."""
    return CONF_PASSWORD in data and api != API_V0


class NezhaConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up a Nezha dashboard of any generation."""

    VERSION = 1

    _url: str
    _verify_ssl: bool
    _api: str
    _missing_scope: str = ""

    # Shared steps

    async def _async_detect(self, user_input: Mapping[str, Any]) -> dict[str, str]:
        """Check the URL and learn the dashboard's generation; the form errors, if any.

        Aborts with ``already_configured`` when another entry already reads this dashboard.
        """
        try:
            url = normalize_url(user_input[CONF_URL])
        except ValueError as err:
            # Not the URL itself: a refused one may hold a user name and password.
            _LOGGER.debug("The URL was refused (invalid_url): %s", err)
            return {CONF_URL: "invalid_url"}
        # Excludes the entry a reauth or reconfigure flow is changing.
        self._async_abort_entries_match({CONF_URL: url})
        verify_ssl: bool = user_input[CONF_VERIFY_SSL]
        try:
            detection = await async_detect(async_get_clientsession(self.hass, verify_ssl), url)
        except Exception as err:  # every failure is a form error (see error_reason)
            return {"base": error_reason(err)}
        self._url, self._verify_ssl, self._api = url, verify_ssl, detection.api
        return {}

    async def _async_step_credential(self) -> ConfigFlowResult:
        """Ask for the credential the detected generation takes."""
        if self._api == API_V0:
            return await self.async_step_token()
        if self._api == API_V1:
            return await self.async_step_login()
        return await self.async_step_auth_method()

    async def _async_check(self, credential: str | Login) -> dict[str, str]:
        """Read the dashboard's servers with ``credential``; the form errors, if any."""
        session = async_get_clientsession(self.hass, self._verify_ssl)
        client = create_client(self._api, session, self._url, credential)
        try:
            await client.async_get_servers()
        except NezhaPermissionError as err:
            self._missing_scope = err.scope or "nezha:inventory:read"
            return {"base": error_reason(err)}
        except NezhaUnsupportedVersionError as err:
            # Detected as 0.x a moment ago, now answering as 1.x/2.x: detect again from the URL.
            _LOGGER.debug("Reading the dashboard failed (version_changed): %s", err)
            return {"base": "version_changed"}
        except Exception as err:  # every failure is a form error (see error_reason)
            return {"base": error_reason(err)}
        self._api = client.api_version  # a 1.x dashboard may turn out to be upgraded to 2.x
        return {}

    def _current(self) -> Mapping[str, Any]:
        """The data of the entry being reconfigured (nothing for a new entry)."""
        if self.source != SOURCE_RECONFIGURE:
            return {}
        return self._get_reconfigure_entry().data

    async def _async_finish(self, credential: Mapping[str, Any]) -> ConfigFlowResult:
        """Create the entry, or update the one being reconfigured."""
        data = {
            CONF_URL: self._url,
            CONF_VERIFY_SSL: self._verify_ssl,
            CONF_API: self._api,
            **credential,
        }
        if self.source != SOURCE_RECONFIGURE:
            return self.async_create_entry(title=url_title(self._url), data=data)
        entry = self._get_reconfigure_entry()
        options: Mapping[str, Any] = entry.options
        if entry.data[CONF_API] == API_V0 and self._api != API_V0:
            # A 1.x/2.x dashboard numbers its servers anew: without this, a new server would take
            # over the device (and history) of the 0.x server that had the same id. Its groups
            # are server groups, not tags: the 0.x group choice means nothing there.
            async_remove_server_devices(
                self.hass, entry, set(async_registered_server_ids(self.hass, entry))
            )
            options = {key: value for key, value in options.items() if key != CONF_TAG}
        return self.async_update_reload_and_abort(
            entry, title=url_title(self._url), data=data, options=options
        )

    @staticmethod
    def _required(field: str) -> dict[str, str]:
        """The error for an empty credential field: nothing is sent (a refusal counts)."""
        _LOGGER.debug("The %s field was left empty (required)", field)
        return {field: "required"}

    def _async_show_url_form(
        self, user_input: Mapping[str, Any] | None, errors: dict[str, str]
    ) -> ConfigFlowResult:
        """The first form again: ``user`` for a new entry, ``reconfigure`` for an existing one."""
        placeholders = {"example_url": EXAMPLE_URL}
        if self.source == SOURCE_RECONFIGURE:
            entry = self._get_reconfigure_entry()
            suggested = user_input or {key: entry.data[key] for key in (CONF_URL, CONF_VERIFY_SSL)}
            return self.async_show_form(
                step_id="reconfigure",
                data_schema=self.add_suggested_values_to_schema(URL_SCHEMA, suggested),
                errors=errors,
                description_placeholders={"name": entry.title, **placeholders},
            )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(URL_SCHEMA, user_input or {}),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _placeholders(self, **extra: str) -> dict[str, str]:
        return {
            "url": self._url,
            "scopes": PAT_SCOPES,
            "missing_scope": self._missing_scope,
            **extra,
        }

    # Steps

    @override
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the dashboard's URL."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = await self._async_detect(user_input)
            if not errors:
                return await self._async_step_credential()
        return self._async_show_url_form(user_input, errors)

    async def async_step_auth_method(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Let the user of a 2.x dashboard choose an access token or a login."""
        return self.async_show_menu(
            step_id="auth_method",
            menu_options=[AUTH_TOKEN, AUTH_LOGIN],
            description_placeholders={"url": self._url},
        )

    async def async_step_token(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for a 0.x API token or a 2.x personal access token.

        While reconfiguring an entry that has a token of this generation, the field may stay
        empty to keep it.
        """
        errors: dict[str, str] = {}
        current = self._current()
        keep = _keeps_token(current, self._api)
        if user_input is not None:
            token = user_input.get(CONF_API_TOKEN, "").strip()
            if not token and keep:
                token = current[CONF_API_TOKEN]
            errors = await self._async_check(token) if token else self._required(CONF_API_TOKEN)
            if errors == {"base": "version_changed"}:
                # Back to the address: submitting it again detects the new version.
                return self._async_show_url_form(None, errors)
            if not errors:
                return await self._async_finish({CONF_API_TOKEN: token})
        marker = vol.Optional if keep else vol.Required
        return self.async_show_form(
            step_id="token",
            data_schema=vol.Schema({marker(CONF_API_TOKEN): _SECRET_SELECTOR}),
            errors=errors,
            description_placeholders=self._placeholders(),
        )

    async def async_step_login(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for a dashboard user's name and password (1.x, 2.x).

        While reconfiguring a login entry of this generation, the password may stay empty to
        keep it.
        """
        errors: dict[str, str] = {}
        current = self._current()
        keep = _keeps_login(current, self._api)
        suggested: dict[str, Any] = {CONF_USERNAME: current.get(CONF_USERNAME, "")}
        if user_input is not None:
            username = user_input[CONF_USERNAME].strip()
            password = user_input.get(CONF_PASSWORD, "")
            if not password and keep:
                password = current[CONF_PASSWORD]
            if password:
                errors = await self._async_check(Login(username, password))
            else:
                errors = self._required(CONF_PASSWORD)
            if not errors:
                return await self._async_finish({CONF_USERNAME: username, CONF_PASSWORD: password})
            suggested = {CONF_USERNAME: username}
        marker = vol.Optional if keep else vol.Required
        schema = vol.Schema(
            {
                vol.Required(CONF_USERNAME): _USERNAME_SELECTOR,
                marker(CONF_PASSWORD): _SECRET_SELECTOR,
            }
        )
        return self.async_show_form(
            step_id="login",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
            description_placeholders=self._placeholders(),
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Start reauthentication after the dashboard refused the credential."""
        self._url = entry_data[CONF_URL]
        self._verify_ssl = entry_data[CONF_VERIFY_SSL]
        self._api = entry_data[CONF_API]
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new token, or the login's new password, for the same dashboard."""
        entry = self._get_reauth_entry()
        username: str | None = entry.data.get(CONF_USERNAME)
        field = CONF_API_TOKEN if username is None else CONF_PASSWORD
        errors: dict[str, str] = {}
        if user_input is not None:
            secret = user_input[field] if username else user_input[field].strip()
            if not secret:
                errors = self._required(field)
            else:
                errors = await self._async_check(
                    secret if username is None else Login(username, secret)
                )
            if not errors:
                return self.async_update_reload_and_abort(
                    entry, data_updates={field: secret, CONF_API: self._api}
                )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema({vol.Required(field): _SECRET_SELECTOR}),
            errors=errors,
            description_placeholders=self._placeholders(name=entry.title, username=username or ""),
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the URL or certificate check of an entry, then its credential.

        The credential step that follows may be left empty to keep the current token or
        password, when the dashboard still takes that kind of credential.
        """
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = await self._async_detect(user_input)
            if not errors:
                return await self._async_step_credential()
        return self._async_show_url_form(user_input, errors)

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> NezhaOptionsFlow:
        """Return the options flow."""
        return NezhaOptionsFlow()
