"""An entry's credential: what kind it is, what the client signs in with, what a refusal raises."""

from collections.abc import Mapping
from typing import Any, Literal

from homeassistant.const import CONF_API_TOKEN, CONF_PASSWORD, CONF_USERNAME
from homeassistant.exceptions import ConfigEntryAuthFailed

from .api import API_V0, Login
from .const import CONF_API, DOMAIN

type CredentialKind = Literal["api_token", "access_token", "password"]
"""What an entry signs in with: a 0.x API token, a 2.x personal access token or a login."""


def credential_kind(data: Mapping[str, Any]) -> CredentialKind:
    """The kind of credential an entry's ``data`` holds."""
    if CONF_USERNAME in data:
        return "password"
    return "api_token" if data[CONF_API] == API_V0 else "access_token"


def auth_failed(data: Mapping[str, Any]) -> ConfigEntryAuthFailed:
    """The error that starts reauth for a refused credential, naming the entry's kind."""
    match credential_kind(data):
        case "api_token":
            return ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="auth_failed_api_token"
            )
        case "access_token":
            return ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="auth_failed_access_token"
            )
    return ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="auth_failed_password")


def entry_credential(data: Mapping[str, Any]) -> str | Login:
    """The credential in an entry's data: an API or access token, else a login."""
    if token := data.get(CONF_API_TOKEN):
        return str(token)
    return Login(data[CONF_USERNAME], data[CONF_PASSWORD])
