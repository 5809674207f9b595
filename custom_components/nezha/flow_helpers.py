"""What the config flow and the options flow share: URL and token rules, the reason for each error."""

import logging
import re

from yarl import URL

from .api import (
    API_TOKEN_SHAPE,
    API_V0,
    API_V2,
    PAT_SHAPE,
    NezhaAuthError,
    NezhaBlockedError,
    NezhaCertificateError,
    NezhaConnectionError,
    NezhaError,
    NezhaPermissionError,
    NezhaRealIpHeaderError,
    NezhaResponseError,
    NezhaSchemeError,
    NezhaUnsupportedVersionError,
)
from .credentials import CredentialKind

_LOGGER = logging.getLogger(__name__)

EXAMPLE_URL = "https://nezha.example.com:8008"

ERROR_REASONS: dict[type[NezhaError], str] = {
    NezhaConnectionError: "cannot_connect",
    NezhaCertificateError: "certificate_not_trusted",
    NezhaPermissionError: "missing_scope",
    NezhaResponseError: "not_nezha",
    NezhaBlockedError: "blocked",
    NezhaRealIpHeaderError: "real_ip_header",
    # A 0.x entry whose address now answers as 1.x/2.x (the options of such an entry).
    NezhaUnsupportedVersionError: "unsupported_version",
}
"""The form error (config steps) or abort reason (options) for each error the client raises.

Not here: a refused credential (``NezhaAuthError``), whose reason names the credential and why
(``<kind>_refused``, ``access_token_expired``, …), and a wrong scheme (``speaks_http[s]``).
"""

_AUTH_REASONS: dict[str, str] = {
    "expired": "access_token_expired",
    "no_access_tokens": "access_tokens_unsupported",
    "session": "login_session_refused",
}
"""Refusals whose cause the dashboard names; any other is ``<credential>_refused``."""

_BEARER = re.compile(r"bearer\s+", re.IGNORECASE)
_TOKEN_SHAPES = {API_V0: API_TOKEN_SHAPE, API_V2: PAT_SHAPE}
"""What each generation's dashboards issue (the client checks the same before sending)."""


def clean_token(raw: str) -> str:
    """A pasted token without surrounding whitespace or ``Bearer `` in front (the header's word)."""
    token = raw.strip()
    if match := _BEARER.match(token):
        token = token[match.end() :]
    return token


def token_format_error(api: str, token: str) -> str | None:
    """The form error for a token that no dashboard of generation ``api`` issues, if it is one.

    Checked before anything is sent: a refusal by the dashboard counts towards its block.
    """
    if _TOKEN_SHAPES[API_V0 if api == API_V0 else API_V2].fullmatch(token):
        return None
    kind: CredentialKind = "api_token" if api == API_V0 else "access_token"
    _LOGGER.debug("The token was refused before sending (%s_format): not %s's shape", kind, api)
    return f"{kind}_format"


def error_reason(err: Exception, kind: CredentialKind) -> str:
    """The reason key for an error of the client, logged with its cause at debug level.

    ``kind``: the credential that was used (an auth error names it). An error type missing from
    ``ERROR_REASONS`` (a new client error, an unexpected exception) becomes ``unknown``, logged
    with its traceback, rather than a KeyError in the flow. The client's messages never hold a
    credential or a host (api/errors.py), so they can be logged.
    """
    if isinstance(err, NezhaAuthError):
        reason = _AUTH_REASONS.get(err.kind) or f"{kind}_{err.kind}"
    elif isinstance(err, NezhaSchemeError):
        reason = f"speaks_{err.scheme}"
    elif isinstance(err, NezhaError) and type(err) in ERROR_REASONS:
        reason = ERROR_REASONS[type(err)]
    else:
        _LOGGER.exception("Unexpected error while reading the dashboard")
        return "unknown"
    _LOGGER.debug("Reading the dashboard failed (%s): %s", reason, err)
    return reason


def error_placeholders(err: Exception) -> dict[str, str]:
    """What the form error of ``err`` shows besides its text (see ``NO_ERROR_PLACEHOLDERS``)."""
    if isinstance(err, NezhaSchemeError):
        return {"suggested_url": normalize_url(err.url)}
    if isinstance(err, NezhaCertificateError):
        return {"certificate_error": err.reason}
    if isinstance(err, NezhaPermissionError):
        return {"missing_scope": err.scope or "nezha:inventory:read"}
    return {}


NO_ERROR_PLACEHOLDERS = {"suggested_url": "", "certificate_error": "", "missing_scope": ""}
"""Every placeholder a form error may use, empty: each form provides all of them."""


def normalize_url(raw: str) -> str:
    """Return the canonical form of a dashboard URL; raise ValueError if it can't be one.

    The scheme (http or https) and host are required and lowercased; a default port, surrounding
    whitespace and trailing slashes are removed; a non-default port and a sub-path are kept.
    A user name or password in the URL is refused: credentials have their own fields, and must
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
