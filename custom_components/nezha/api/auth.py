"""Signing in to a Nezha 1.x/2.x dashboard: a login's JWT, or a 2.x personal access token.

Two rules shape this module. **Never hammer**: every refused sign-in counts towards the dashboard's
WAF block of this whole host (NEZHA_API.md B.4, DELTA §5.5), so once a password or token is
refused, nothing more is sent until a new client is made (the user acts, through reauth).
**One login at a time**: however many requests wait for a JWT, one ``POST /login`` serves them.
"""

from abc import ABC, abstractmethod
import asyncio
from collections.abc import Awaitable, Callable
import copy
from dataclasses import dataclass, field
import re
from time import monotonic

from .errors import AuthRefusal, NezhaAuthError, NezhaError

PAT_PREFIX = "nzp_"
"""Every 2.x personal access token starts so (``model.APITokenPrefix``)."""

API_TOKEN_SHAPE = re.compile(r"[0-9A-Za-z]{32}")
"""What a 0.x dashboard issues as an API token: 32 letters and digits."""
PAT_SHAPE = re.compile(rf"{PAT_PREFIX}[0-9A-Za-z]{{32}}")
"""What a 2.x dashboard issues as a personal access token: ``nzp_`` and 32 letters and digits."""

RENEW_MARGIN = 60.0
"""Seconds before a JWT expires that a new login replaces it (at most a tenth of its life)."""


@dataclass(frozen=True, slots=True)
class Login:
    """A dashboard user's name and password (1.x and 2.x)."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Grant:
    """A JWT from a login, and how many seconds it lives (``None``: the dashboard did not say)."""

    token: str = field(repr=False)
    lifetime: float | None


class Credential(ABC):
    """What a request carries, and the latch that stops every request once it was refused."""

    def __init__(self) -> None:
        """Start unrefused."""
        self._refused: NezhaAuthError | None = None

    @property
    @abstractmethod
    def secrets(self) -> tuple[str, ...]:
        """Every value that must never appear in a message."""

    @property
    def renewable(self) -> bool:
        """Whether a refused authorization may be replaced by signing in again (once)."""
        return False

    def check(self) -> None:
        """Raise the auth error again, without touching the network, once refused."""
        if self._refused is not None:
            raise copy.copy(self._refused)

    def refuse(self, message: str, kind: AuthRefusal = "refused") -> NezhaAuthError:
        """Latch: from now on every request fails with this message (and why)."""
        self._refused = NezhaAuthError(message, kind)
        return copy.copy(self._refused)

    @abstractmethod
    async def authorization(self) -> str:
        """The ``Authorization`` header for the next request."""

    @abstractmethod
    def drop(self, authorization: str) -> None:
        """Forget ``authorization`` if it is still the current one (the dashboard refused it)."""


class AccessToken(Credential):
    """A 2.x personal access token, sent only as ``Authorization: Bearer nzp_…``."""

    def __init__(self, token: str) -> None:
        """Refuse at once a token that cannot be one: nothing is sent for it."""
        super().__init__()
        self._token = token
        if not PAT_SHAPE.fullmatch(token):
            self.refuse(
                f"an access token starts with {PAT_PREFIX!r}, then 32 letters and digits",
                "format",
            )

    @property
    def secrets(self) -> tuple[str, ...]:
        """The token."""
        return (self._token,)

    async def authorization(self) -> str:
        """The token, unless it was refused."""
        self.check()
        return f"Bearer {self._token}"

    def drop(self, authorization: str) -> None:
        """Nothing replaces an access token: a refused one is latched instead."""


class JwtLogin(Credential):
    """A user name and password exchanged for JWTs, renewed before or on expiry."""

    def __init__(self, login: Login, sign_in: Callable[[Login], Awaitable[Grant]]) -> None:
        """``sign_in`` posts the login and returns the grant (or raises a ``NezhaError``)."""
        super().__init__()
        self._login = login
        self._sign_in = sign_in
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._previous: str | None = None
        self._renew_at = 0.0
        self._logins = 0
        """Login attempts finished so far."""
        self._login_error: NezhaError | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        """The password and the JWTs a page might echo (the current and the one before)."""
        return tuple(s for s in (self._login.password, self._token, self._previous) if s)

    @property
    def renewable(self) -> bool:
        """A refused JWT (expired, revoked, rotated by an upgrade) is replaced by one login."""
        return True

    async def authorization(self) -> str:
        """A JWT that is not about to expire, logging in first (one login for all waiters).

        Requests that waited for a login that failed get its error too, without a login of
        their own: a dashboard that is down is not asked once per waiting request.
        """
        self.check()
        if (token := self._fresh()) is None:
            logins_seen = self._logins
            async with self._lock:
                self.check()
                if (token := self._fresh()) is None:
                    if self._logins != logins_seen and self._login_error is not None:
                        raise copy.copy(self._login_error)
                    token = await self._renew()
        return f"Bearer {token}"

    def _fresh(self) -> str | None:
        return self._token if monotonic() < self._renew_at else None

    async def _renew(self) -> str:
        self._previous, self._token = self._token or self._previous, None
        try:
            grant = await self._sign_in(self._login)
        except NezhaAuthError as err:
            raise self.refuse(str(err), err.kind) from None
        except NezhaError as err:
            self._login_error = err
            raise
        else:
            self._login_error = None
        finally:
            self._logins += 1  # counted once done: who waited for it can tell
        self._token = grant.token
        if grant.lifetime is None or grant.lifetime <= 0:
            # Unknown lifetime: keep the JWT until the dashboard refuses it.
            self._renew_at = float("inf")
        else:
            margin = min(RENEW_MARGIN, grant.lifetime / 10)
            self._renew_at = monotonic() + grant.lifetime - margin
        return grant.token

    def drop(self, authorization: str) -> None:
        """Forget the JWT the dashboard refused; the next request logs in again."""
        if self._token is not None and authorization == f"Bearer {self._token}":
            self._previous, self._token = self._token, None
            self._renew_at = 0.0
