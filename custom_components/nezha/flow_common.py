"""What the config flow and the options flow share: URL rules and the reason for each error."""

from __future__ import annotations

import logging

from yarl import URL

from .api import (
    NezhaAuthError,
    NezhaBlockedError,
    NezhaConnectionError,
    NezhaError,
    NezhaPermissionError,
    NezhaRealIpHeaderError,
    NezhaResponseError,
    NezhaUnsupportedVersionError,
)

_LOGGER = logging.getLogger(__name__)

EXAMPLE_URL = "https://nezha.example.com:8008"

PAT_SCOPES = "`nezha:inventory:read` and `nezha:service:read`"
"""What a 2.x access token needs: servers and groups, and ping monitors (optional)."""

ERROR_REASONS: dict[type[NezhaError], str] = {
    NezhaConnectionError: "cannot_connect",
    NezhaAuthError: "invalid_auth",
    NezhaPermissionError: "missing_scope",
    NezhaResponseError: "not_nezha",
    NezhaBlockedError: "blocked",
    NezhaRealIpHeaderError: "real_ip_header",
    # A 0.x entry whose address now answers as 1.x/2.x (the options of such an entry).
    NezhaUnsupportedVersionError: "unsupported_version",
}
"""The form error (config steps) or abort reason (options) for each error the client raises."""


def error_reason(err: Exception) -> str:
    """The reason key for an error of the client, logged with its cause at debug level.

    An error type missing from ``ERROR_REASONS`` (a new client error, an unexpected exception)
    becomes ``unknown``, logged with its traceback, rather than a KeyError in the flow. The
    client's messages never hold a credential (api/errors.py), so they can be logged.
    """
    if isinstance(err, NezhaError) and (reason := ERROR_REASONS.get(type(err))):
        _LOGGER.debug("Reading the dashboard failed (%s): %s", reason, err)
        return reason
    _LOGGER.exception("Unexpected error while reading the dashboard")
    return "unknown"


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
