"""Errors raised by the Nezha dashboard clients.

Messages never contain a token, password, JWT or access token; they may contain the dashboard
URL's path, never its query.
"""

from typing import Literal

type AuthRefusal = Literal["refused", "expired", "no_access_tokens", "session", "format"]
"""Why a credential is refused: what the user must do differs for each.

``refused``: the dashboard does not take it (wrong, deleted, another dashboard's); ``expired``: a
2.x access token past its date (the dashboard says so); ``no_access_tokens``: a 2.0.x dashboard,
which has none; ``session``: a login accepted, then the JWT it issued refused at once (an IP-bound
session seen under another address); ``format``: refused here, nothing was sent.
"""


class NezhaError(Exception):
    """Base class for every error the client raises."""


class NezhaConnectionError(NezhaError):
    """The dashboard could not be reached (DNS, refused, TLS, timeout, or HTTP 5xx from a proxy)."""


class NezhaCertificateError(NezhaConnectionError):
    """The dashboard's HTTPS certificate is not trusted (self-signed, expired, private CA, …)."""

    def __init__(self, reason: str) -> None:
        """``reason``: what the TLS check said, without the host."""
        super().__init__(f"the dashboard's certificate is not trusted: {reason}")
        self.reason = reason


class NezhaSchemeError(NezhaConnectionError):
    """The address has the wrong scheme: the dashboard answers over the other one."""

    def __init__(self, scheme: str, url: str) -> None:
        """``scheme``: the one it speaks (``http``/``https``); ``url``: the address with it.

        The message names the schemes only: a host or IP never goes into a log line.
        """
        other = "https" if scheme == "http" else "http"
        super().__init__(
            f"this address speaks {scheme}, not {other}: use {scheme}:// in the address"
        )
        self.scheme = scheme
        self.url = url


class NezhaAuthError(NezhaError):
    """The dashboard refused the credentials (or, ``kind == "format"``, this client did)."""

    def __init__(self, message: str, kind: AuthRefusal = "refused") -> None:
        """``kind``: why, so that a form can say what to fix."""
        super().__init__(message)
        self.kind: AuthRefusal = kind


class NezhaResponseError(NezhaError):
    """The answer is not what a Nezha dashboard of this generation sends (HTML, bad JSON, other shape)."""


class NezhaUnsupportedVersionError(NezhaError):
    """The URL answers like a newer Nezha dashboard (1.x or 2.x) that this client does not speak."""


class NezhaPermissionError(NezhaError):
    """The dashboard knows the credential but it may not read this (a 2.x access token's scopes).

    Not an auth error: the credential stays good for what its scopes cover, and nothing is
    counted towards the dashboard's block of this host.
    """

    def __init__(self, message: str, scope: str | None = None) -> None:
        """``scope``: the scope the dashboard names as missing, if it names one."""
        super().__init__(message)
        self.scope = scope


class NezhaBlockedError(NezhaError):
    """The dashboard's WAF blocks this host (an HTML 403 page instead of an answer)."""

    def __init__(
        self,
        message: str = (
            "the dashboard blocked this host: its WAF refuses every request from this host's IP"
            " address, for everything on this host, for a time that grows with each failed"
            " sign-in (count⁴ seconds: 3 s, 16 s, 81 s, … over an hour after 8 failures)"
        ),
    ) -> None:
        """Say what a block means; a caller may add what led to it."""
        super().__init__(message)


class NezhaRealIpHeaderError(NezhaError):
    """The dashboard expects a real-IP header (its ``web_real_ip_header``) that requests lack."""

    def __init__(
        self,
        message: str = (
            "the dashboard answers 'real ip header not found': its real-IP header setting"
            " (web_real_ip_header) does not match the way Home Assistant reaches it (directly,"
            " or through a proxy that sets that header)"
        ),
    ) -> None:
        """Say which dashboard setting is wrong."""
        super().__init__(message)
