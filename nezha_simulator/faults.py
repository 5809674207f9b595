"""Canned misbehaviour for the next requests: error pages, an SSO login page, cut-off JSON, delays, drops.

``NezhaSimulator.fail_next`` and its siblings queue a ``Fault``; every request takes one use of
the first queued fault whose path prefix matches it, before any routing.
"""

from dataclasses import dataclass

BAD_GATEWAY_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)

LOGIN_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in</title></head>
<body>
<form method="post" action="/login">
<input name="username" autocomplete="username">
<input name="password" type="password" autocomplete="current-password">
<button type="submit">Sign in</button>
</form>
</body>
</html>
"""

BROKEN_JSON = '{"code":0,"message":"success","result":[{"id":1,"name":"'


@dataclass
class Fault:
    """A canned misbehaviour for the next ``remaining`` matching requests."""

    remaining: int
    path: str | None
    delay: float = 0.0
    status: int | None = None
    body: bytes = b""
    content_type: str = ""
    disconnect: bool = False


class FaultQueue:
    """Queued faults, first match first."""

    def __init__(self) -> None:
        """Nothing queued."""
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        """Queue a fault behind the others."""
        self._faults.append(fault)

    def take(self, path: str) -> Fault | None:
        """Consume one use of the first queued fault that applies to ``path``."""
        for fault in self._faults:
            if fault.path is None or path.startswith(fault.path):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    @property
    def pending(self) -> int:
        """How many faulty answers are still queued."""
        return sum(fault.remaining for fault in self._faults)

    def clear(self) -> None:
        """Drop all queued faults."""
        self._faults.clear()
