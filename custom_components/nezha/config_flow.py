"""Config flow for Nezha Monitoring: the dashboard's URL, then the credential its generation takes.

The URL alone says which generation a dashboard is (``api.async_detect``): 0.x asks for its API
token (step ``api_token``), 1.x for a login (step ``login``), 2.x lets the user choose between a
personal access token (``token``) and a login (menu ``auth_method``). Reauth asks for the
same kind of credential again (``reauth_<kind>``); reconfigure starts from the URL and goes
through the same steps, as ``reconfigure_<step>`` when the current credential may be kept (only
those say that an empty field keeps it).
"""

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
    NezhaUnsupportedVersionError,
    async_detect,
    create_client,
)
from .const import CONF_API, CONF_TAG, DOMAIN
from .credentials import CredentialKind, credential_kind
from .flow_helpers import (
    EXAMPLE_URL,
    NO_ERROR_PLACEHOLDERS,
    clean_token,
    error_placeholders,
    error_reason,
    normalize_url,
    token_format_error,
    url_title,
)
from .options_flow import NezhaOptionsFlow
from .registry import async_registered_server_ids, async_remove_server_devices

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
_VERSION_CHANGED = {"base": "version_changed"}


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

    def __init__(self) -> None:
        """Start with no error to explain."""
        self._error_info: dict[str, str] = dict(NO_ERROR_PLACEHOLDERS)

    # Shared steps

    def _failed(self, err: Exception, kind: CredentialKind) -> dict[str, str]:
        """The form errors for ``err``, keeping what its text shows (a scope, an address)."""
        self._error_info = {**NO_ERROR_PLACEHOLDERS, **error_placeholders(err)}
        return {"base": error_reason(err, kind)}

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
            # No credential was sent: the kind named is never shown.
            return self._failed(err, "api_token")
        self._url, self._verify_ssl, self._api = url, verify_ssl, detection.api
        return {}

    async def _async_step_credential(self) -> ConfigFlowResult:
        """Ask for the credential the detected generation takes."""
        if self._api == API_V0:
            return await self.async_step_api_token()
        if self._api == API_V1:
            return await self.async_step_login()
        return await self.async_step_auth_method()

    async def _async_check(self, credential: str | Login, kind: CredentialKind) -> dict[str, str]:
        """Read the dashboard's servers with ``credential``; the form errors, if any."""
        session = async_get_clientsession(self.hass, self._verify_ssl)
        client = create_client(self._api, session, self._url, credential)
        try:
            await client.async_get_servers()
        except NezhaUnsupportedVersionError as err:
            # Detected as 0.x a moment ago, now answering as 1.x/2.x: detect again from the URL.
            _LOGGER.debug("Reading the dashboard failed (version_changed): %s", err)
            return dict(_VERSION_CHANGED)
        except Exception as err:  # every failure is a form error (see error_reason)
            return self._failed(err, kind)
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
                self.hass,
                entry.entry_id,
                set(async_registered_server_ids(self.hass, entry.entry_id)),
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

    async def _async_check_token(
        self, typed: str, stored: str | None
    ) -> tuple[dict[str, str], str]:
        """Check a typed token (``stored``: the one an empty field keeps): errors and the token.

        A token of the wrong shape is refused here, without a request: each refusal by the
        dashboard counts towards its block of this host.
        """
        if not (token := clean_token(typed) or stored or ""):
            return self._required(CONF_API_TOKEN), token
        if token != stored and (error := token_format_error(self._api, token)):
            return {CONF_API_TOKEN: error}, token
        kind: CredentialKind = "api_token" if self._api == API_V0 else "access_token"
        return await self._async_check(token, kind), token

    def _async_show_url_form(
        self, user_input: Mapping[str, Any] | None, errors: dict[str, str]
    ) -> ConfigFlowResult:
        """The first form again: ``user`` for a new entry, ``reconfigure`` for an existing one."""
        placeholders = {"example_url": EXAMPLE_URL, **self._error_info}
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

    def _show_credential_form(
        self,
        step_id: str,
        schema: vol.Schema,
        user_input: Mapping[str, Any] | None,
        errors: dict[str, str],
        **placeholders: str,
    ) -> ConfigFlowResult:
        """A credential form; after an error it offers back what was typed, secrets included.

        What was typed goes back to the form only (never a log): a typo can then be seen.
        """
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, user_input or {}),
            errors=errors,
            description_placeholders={"url": self._url, **self._error_info, **placeholders},
        )

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

    async def _async_token_step(self, user_input: dict[str, Any] | None) -> ConfigFlowResult:
        """Ask for a 0.x API token or a 2.x personal access token (one step each).

        While reconfiguring an entry that has a token of this generation, the field may stay
        empty to keep it (steps ``reconfigure_…``, which say so).
        """
        errors: dict[str, str] = {}
        current = self._current()
        keep = _keeps_token(current, self._api)
        if user_input is not None:
            stored = current[CONF_API_TOKEN] if keep else None
            errors, token = await self._async_check_token(
                user_input.get(CONF_API_TOKEN, ""), stored
            )
            if errors == _VERSION_CHANGED:
                # Back to the address: submitting it again detects the new version.
                return self._async_show_url_form(None, errors)
            if not errors:
                return await self._async_finish({CONF_API_TOKEN: token})
        step = "api_token" if self._api == API_V0 else AUTH_TOKEN
        marker = vol.Optional if keep else vol.Required
        return self._show_credential_form(
            f"reconfigure_{step}" if keep else step,
            vol.Schema({marker(CONF_API_TOKEN): _SECRET_SELECTOR}),
            user_input,
            errors,
        )

    async def async_step_api_token(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a 0.x API token."""
        return await self._async_token_step(user_input)

    async def async_step_token(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for a 2.x personal access token."""
        return await self._async_token_step(user_input)

    async def async_step_reconfigure_api_token(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a 0.x API token, or keep the current one."""
        return await self._async_token_step(user_input)

    async def async_step_reconfigure_token(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a 2.x personal access token, or keep the current one."""
        return await self._async_token_step(user_input)

    async def async_step_login(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for a dashboard user's name and password (1.x, 2.x).

        While reconfiguring a login entry of this generation, the password may stay empty to
        keep it (step ``reconfigure_login``, which says so).
        """
        errors: dict[str, str] = {}
        current = self._current()
        keep = _keeps_login(current, self._api)
        if user_input is not None:
            username = user_input[CONF_USERNAME].strip()
            password = user_input.get(CONF_PASSWORD, "")
            if not password and keep:
                password = current[CONF_PASSWORD]
            if password:
                errors = await self._async_check(Login(username, password), "password")
            else:
                errors = self._required(CONF_PASSWORD)
            if not errors:
                return await self._async_finish({CONF_USERNAME: username, CONF_PASSWORD: password})
        marker = vol.Optional if keep else vol.Required
        schema = vol.Schema(
            {
                vol.Required(CONF_USERNAME): _USERNAME_SELECTOR,
                marker(CONF_PASSWORD): _SECRET_SELECTOR,
            }
        )
        return self._show_credential_form(
            "reconfigure_login" if keep else "login",
            schema,
            user_input or {CONF_USERNAME: current.get(CONF_USERNAME, "")},
            errors,
            generation="1.x" if self._api == API_V1 else "2.x",
        )

    async def async_step_reconfigure_login(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a login, or keep the current password."""
        return await self.async_step_login(user_input)

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Start reauthentication after the dashboard refused the credential."""
        self._url = entry_data[CONF_URL]
        self._verify_ssl = entry_data[CONF_VERIFY_SSL]
        self._api = entry_data[CONF_API]
        return await self._async_reauth(None)

    async def _async_reauth(self, user_input: dict[str, Any] | None) -> ConfigFlowResult:
        """Ask for a new token, or the login's new password, for the same dashboard.

        One step per kind of credential (``reauth_api_token``, ``reauth_access_token``,
        ``reauth_login``): each names the one the entry uses.
        """
        entry = self._get_reauth_entry()
        kind = credential_kind(entry.data)
        username: str | None = entry.data.get(CONF_USERNAME)
        field = CONF_API_TOKEN if username is None else CONF_PASSWORD
        errors: dict[str, str] = {}
        if user_input is not None:
            if username is None:
                errors, secret = await self._async_check_token(user_input[field], None)
            elif not (secret := user_input[field]):
                errors = self._required(field)
            else:
                errors = await self._async_check(Login(username, secret), kind)
            if not errors:
                return self.async_update_reload_and_abort(
                    entry, data_updates={field: secret, CONF_API: self._api}
                )
        return self._show_credential_form(
            "reauth_login" if username else f"reauth_{kind}",
            vol.Schema({vol.Required(field): _SECRET_SELECTOR}),
            user_input,
            errors,
            name=entry.title,
            username=username or "",
        )

    async def async_step_reauth_api_token(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A new 0.x API token."""
        return await self._async_reauth(user_input)

    async def async_step_reauth_access_token(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A new 2.x personal access token."""
        return await self._async_reauth(user_input)

    async def async_step_reauth_login(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The login's new password."""
        return await self._async_reauth(user_input)

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
