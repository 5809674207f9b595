"""Users, logins, JWTs, personal access tokens and the WAF of a 1.x/2.x dashboard.

What is on the wire follows NEZHA_API.md B.4 and NEZHA_API_DELTA.md §5 (DELTA wins):

* JWTs are real HS256 tokens (gin-jwt). v1.14.14 claims are ``exp, ip, orig_iat, user_id``
  (v1.14.7+; older 1.x had ``ckau`` and no IP). v2.3.7 (since v2.0.14) has DB-backed sessions:
  claims ``exp, keyId, orig_iat, uid``. The simulator keeps a registry of issued tokens (v1) or
  sessions (v2) so that ``revoke_sessions`` can make signed tokens stale.
* PATs (v2.1.0+): ``nzp_`` + 32 letters and digits, only a SHA-256 is kept; scopes with the
  ``scopeMatches`` wildcards; ``server_ids`` whitelist; expiry; revocation.
* WAF (``model/waf.go``): only active with a real-IP header; blocked while
  ``max(count⁴, 3) + last_block > now`` where count sums every identifier of that IP.
"""

import base64
from dataclasses import dataclass, field
import hashlib
import hmac
import json
import re
import secrets
from typing import Literal

from .world import NezhaWorld

type Role = Literal["admin", "member"]
type JwtState = Literal["none", "bad", "stale", "ok"]

PAT_PREFIX = "nzp_"
SCOPE_INVENTORY_READ = "nezha:inventory:read"
SCOPE_SERVER_READ = "nezha:server:read"
ADMIN_ONLY_SCOPES = frozenset({"nezha:*", "nezha:admin:*"})
PEER_IP = "NZ::Use-Peer-IP"
"""``web_real_ip_header`` value meaning "the socket's peer address"."""

_ALPHANUMERIC = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_PAT_SHAPE = re.compile(rf"{PAT_PREFIX}[0-9A-Za-z]{{32}}")
_WAF_LOGIN = "login"
_WAF_TOKEN = "token"


def random_string(length: int) -> str:
    """``utils.GenerateRandomString``: letters and digits."""
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


def scope_matches(granted: str, needed: str) -> bool:
    """``scopeMatches`` (v2.3.7 ``model/api_token.go``): exact, ``nezha:*`` or ``x:*`` prefix.

    ``nezha:server:*`` does not cover ``nezha:inventory:read``.
    """
    if granted == needed:
        return True
    if granted.endswith(":*"):
        return needed.startswith(granted[:-1])
    return False


def _b64(data: bytes) -> str:
    """Base64url without padding (JWS)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    """Inverse of ``_b64``; ``ValueError`` on garbage."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _go_json(value: object) -> bytes:
    """A Go ``map[string]any`` marshalled: keys sorted, compact."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


@dataclass
class SimUser:
    """A dashboard user. ``role`` admin is Go ``RoleAdmin = 0``, member is ``1``."""

    id: int
    username: str
    password: str
    role: Role = "member"
    agent_secret: str = field(default_factory=lambda: random_string(32), repr=False)


@dataclass
class SimPat:
    """A personal access token (v2.1.0+); only ``digest`` (SHA-256) identifies it."""

    id: int
    name: str
    digest: str
    user_id: int
    scopes: tuple[str, ...]
    server_ids: tuple[int, ...]
    expires_at: float | None
    last_used_ip: str = ""

    def has_scope(self, needed: str) -> bool:
        """Whether any granted scope covers ``needed``."""
        return any(scope_matches(granted, needed) for granted in self.scopes)

    def allows_server(self, server_id: int) -> bool:
        """``CanAccessServer``: an empty whitelist means no extra limit."""
        return not self.server_ids or server_id in self.server_ids


@dataclass
class _Session:
    """One issued login: v1 keys it by the token, v2 by the ``keyId`` claim."""

    user_id: int
    ip: str


@dataclass
class _Block:
    """WAF rows of one IP: failures per identifier and the last block time."""

    counts: dict[str, int] = field(default_factory=dict)
    last: float = 0.0


class AccountsWorld(NezhaWorld):
    """The world plus what 1.x/2.x dashboards add around it: users, sessions, PATs, the WAF."""

    def __init__(self, *, seed: int = 0, now: float | None = None) -> None:
        """One admin user (``admin`` with a random password), nothing else."""
        super().__init__(seed=seed, now=now)
        self.created = self.now
        """``created_at``/``updated_at`` of every record (servers, groups, users, rules)."""
        self._users: dict[int, SimUser] = {}
        self.admin = self.add_user("admin", random_string(16), role="admin")
        self.jwt_lifetime = 3600.0
        """Seconds of the world clock a JWT is valid for (``jwt_timeout``, default 1 h)."""
        self.login_count = 0
        """``POST /api/v1/login`` requests answered so far (successful or not)."""
        self.legacy_server_scope = False
        """v2.1.0-2.1.1: ``/server``, ``/server-group`` and ``/ws/server`` need server:read."""
        self.force_auth = False
        self.real_ip_header: str | None = None
        """``web_real_ip_header``; setting it enables the WAF and JWT IP binding."""
        self.v0_routes_answer_200 = False
        """v1.0-1.4: unknown ``/api`` routes give HTTP 200 (1.5+ give 404)."""
        self.tsdb_enabled = False
        self.utc_offset = 8 * 3600
        """The dashboard's zone (seconds east of UTC) for RFC 3339 times; Docker's TZ default."""
        self.site_name = "Nezha"
        self._secret = secrets.token_bytes(32)
        self._sessions: dict[str, _Session] = {}
        self._pats: dict[str, SimPat] = {}
        self._pat_ids = 0
        self._waf: dict[str, _Block] = {}

    # Users

    @property
    def users(self) -> dict[int, SimUser]:
        """The users by id (a copy)."""
        return dict(self._users)

    def add_user(self, username: str, password: str, *, role: Role = "member") -> SimUser:
        """Add a user who can log in; ids count from 1."""
        if any(user.username == username for user in self._users.values()):
            raise ValueError(f"user {username!r} already exists")
        user = SimUser(max(self._users, default=0) + 1, username, password, role)
        self._users[user.id] = user
        return user

    def user_named(self, username: str) -> SimUser:
        """The user with this name; ``KeyError`` if there is none."""
        for user in self._users.values():
            if user.username == username:
                return user
        raise KeyError(f"no user {username!r}")

    # JWTs

    def check_login(self, username: object, password: object) -> SimUser | None:
        """The user these credentials belong to (bcrypt compare in the real dashboard)."""
        if not isinstance(username, str) or not isinstance(password, str):
            return None
        if not username or not password:
            return None
        for user in self._users.values():
            if user.username == username and hmac.compare_digest(
                user.password.encode(), password.encode()
            ):
                return user
        return None

    def issue_jwt(self, user: SimUser, ip: str, *, v2: bool, key_id: str | None = None) -> str:
        """Sign a new JWT for ``user`` at the world clock; ``key_id`` keeps a v2 session."""
        now = int(self.now)
        claims: dict[str, object] = {"exp": now + int(self.jwt_lifetime), "orig_iat": now}
        if v2:
            key_id = key_id or random_string(24)
            claims |= {"uid": str(user.id), "keyId": key_id}
        else:
            claims |= {"user_id": str(user.id), "ip": ip}
        header = _b64(_go_json({"alg": "HS256", "typ": "JWT"}))
        signing_input = f"{header}.{_b64(_go_json(claims))}"
        signature = hmac.new(self._secret, signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{_b64(signature)}"
        self._sessions[key_id if v2 and key_id else token] = _Session(user.id, ip)
        return token

    def decode_jwt(self, token: str) -> dict[str, object] | None:
        """Claims of a token signed with HS256 by this dashboard, else ``None`` (no expiry check)."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            header = json.loads(_unb64(parts[0]))
            claims = json.loads(_unb64(parts[1]))
            signature = _unb64(parts[2])
        except ValueError:
            return None
        if not isinstance(header, dict) or header.get("alg") != "HS256":
            return None
        expected = hmac.new(self._secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256)
        if not hmac.compare_digest(signature, expected.digest()) or not isinstance(claims, dict):
            return None
        return claims

    def jwt_user(self, token: str, ip: str, *, v2: bool) -> tuple[JwtState, SimUser | None]:
        """Check a JWT the way the identity handler does.

        ``bad``: not ours, malformed, expired or bound to another IP (a guest on public routes).
        ``stale``: signed and unexpired but its session or user is gone (v2: the WAF page on
        public routes). v1 had no sessions: there a revoked token is ``bad``.
        """
        claims = self.decode_jwt(token)
        exp = claims.get("exp") if claims else None
        if claims is None or not isinstance(exp, int | float) or exp < self.now:
            return "bad", None
        session = self._sessions.get(str(claims.get("keyId")) if v2 else token)
        uid = claims.get("uid" if v2 else "user_id")
        user = self._users.get(int(uid)) if isinstance(uid, str) and uid.isdigit() else None
        if session is None or user is None or session.user_id != user.id:
            return ("stale" if v2 else "bad"), None
        if session.ip != ip:
            return "bad", None
        return "ok", user

    def session_key(self, token: str) -> str | None:
        """The v2 ``keyId`` of a token (to refresh it in the same session)."""
        claims = self.decode_jwt(token)
        key = claims.get("keyId") if claims else None
        return key if isinstance(key, str) else None

    def revoke_sessions(self, username: str | None = None) -> None:
        """Existing JWTs (of one user, or everyone's) go stale; new logins work."""
        doomed = None if username is None else self.user_named(username).id
        for key, session in list(self._sessions.items()):
            if doomed is None or session.user_id == doomed:
                del self._sessions[key]

    def move_sessions(self, ip: str) -> None:
        """Bind every existing JWT session to ``ip``: as if this host's address changed since.

        With a real-IP header set, those JWTs are then guests on public routes (silently) and
        refused on routes that need a login; a new login works.
        """
        for session in self._sessions.values():
            session.ip = ip

    # PATs

    @property
    def pats(self) -> list[SimPat]:
        """Every known PAT (revoked ones are forgotten)."""
        return list(self._pats.values())

    def create_pat(
        self,
        scopes: tuple[str, ...] | list[str] = ("nezha:inventory:read", "nezha:service:read"),
        *,
        user: str = "admin",
        server_ids: tuple[int, ...] | list[int] = (),
        expires_in_days: int = 0,
        name: str = "",
        plaintext: str | None = None,
    ) -> str:
        """Create a PAT and return its plaintext (``nzp_`` + 32 chars); 0 days = never expires.

        ``plaintext`` fixes the token instead of drawing one, for a demo whose token is printed
        in its documentation; it must have the dashboard's shape.
        """
        owner = self.user_named(user)
        if owner.role != "admin" and ADMIN_ONLY_SCOPES.intersection(scopes):
            raise ValueError("nezha:* and nezha:admin:* are for admins only")
        if not 0 <= expires_in_days <= 3650:
            raise ValueError("expires_in_days must be 0..3650")
        if plaintext is not None and not _PAT_SHAPE.fullmatch(plaintext):
            raise ValueError("a PAT is nzp_ and 32 letters and digits")
        token = PAT_PREFIX + random_string(32) if plaintext is None else plaintext
        if self.find_pat(token) is not None:
            raise ValueError("this PAT exists already")
        self._pat_ids += 1
        expires = self.now + expires_in_days * 86400 if expires_in_days else None
        digest = hashlib.sha256(token.encode()).hexdigest()
        pat = SimPat(
            self._pat_ids,
            name or f"token-{self._pat_ids}",
            digest,
            owner.id,
            tuple(scopes),
            tuple(server_ids),
            expires,
        )
        self._pats[digest] = pat
        return token

    def find_pat(self, token: str) -> SimPat | None:
        """The PAT with this plaintext, if it exists."""
        return self._pats.get(hashlib.sha256(token.encode()).hexdigest())

    def revoke_pat(self, token: str) -> None:
        """Delete a PAT: unknown from now on, and its open websockets close (v2.1.0+)."""
        pat = self._pats.pop(hashlib.sha256(token.encode()).hexdigest(), None)
        if pat is None:
            raise KeyError("no such api token")
        self._pat_revoked(pat)

    def _pat_revoked(self, pat: SimPat) -> None:
        """Hook for the HTTP layer: close the streams ``pat`` opened."""

    def expire_pat(self, token: str) -> None:
        """Make a PAT expired from now on (open streams stay: expiry is not re-checked)."""
        pat = self.find_pat(token)
        if pat is None:
            raise KeyError("no such api token")
        pat.expires_at = self.now - 1

    # WAF

    def waf_blocked(self, ip: str) -> bool:
        """Whether requests from ``ip`` get the block page now."""
        block = self._waf.get(ip)
        if block is None:
            return False
        count = sum(block.counts.values())
        return count > 0 and max(count**4, 3) + block.last > self.now

    def waf_fail(self, ip: str | None, identifier: str) -> None:
        """``BlockIP``: one more failure (only when a real IP is known)."""
        if ip is None:
            return
        block = self._waf.setdefault(ip, _Block())
        block.counts[identifier] = block.counts.get(identifier, 0) + 1
        block.last = self.now

    def waf_pass(self, ip: str | None, identifier: str) -> None:
        """``UnblockIP`` for one identifier after a success."""
        if ip is not None and ip in self._waf:
            self._waf[ip].counts.pop(identifier, None)

    def waf_login_failed(self, ip: str | None) -> None:
        """A failed login counts toward the block."""
        self.waf_fail(ip, _WAF_LOGIN)

    def waf_token_failed(self, ip: str | None) -> None:
        """A bad PAT or stale signed JWT counts toward the block."""
        self.waf_fail(ip, _WAF_TOKEN)

    def waf_login_passed(self, ip: str | None) -> None:
        """A successful login clears its own failures."""
        self.waf_pass(ip, _WAF_LOGIN)

    def waf_token_passed(self, ip: str | None) -> None:
        """A valid PAT clears the token failures."""
        self.waf_pass(ip, _WAF_TOKEN)

    def clear_waf(self) -> None:
        """Forget every block (``POST /batch-delete/waf``)."""
        self._waf.clear()
