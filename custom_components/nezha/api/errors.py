"""Errors raised by the Nezha dashboard clients.

Messages never contain a token, password, JWT or access token; they may contain the dashboard
URL's path, never its query.
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
