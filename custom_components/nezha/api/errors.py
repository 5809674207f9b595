"""Errors raised by the Nezha dashboard clients.

Messages never contain the token; they may contain the dashboard URL's path, never its query.
"""


class NezhaError(Exception):
    """Base class for every error the client raises."""


class NezhaConnectionError(NezhaError):
    """The dashboard could not be reached (DNS, refused, TLS, timeout, or HTTP 5xx from a proxy)."""


class NezhaAuthError(NezhaError):
    """The dashboard refused the credentials."""


class NezhaResponseError(NezhaError):
    """The answer is not what a Nezha dashboard of this generation sends (HTML, bad JSON, other shape)."""


class NezhaUnsupportedVersionError(NezhaError):
    """The URL answers like a newer Nezha dashboard (1.x or 2.x) that this client does not speak."""
