"""What the sensors show that the dashboard does not send as such: shares, GPU figures, a
cycle's end and billing terms as of now, worked out from the models (no Home Assistant state)."""

from datetime import datetime

from homeassistant.util import dt as dt_util

from .api import Billing, CycleUsage, Server, ServiceStats, parse_billing


def gpu_count(server: Server) -> int:
    """How many GPUs the agent names or reports a usage for."""
    return max(len(server.host.gpu_models), len(server.status.gpu_usage))


def has_gpu(number: int, server: Server) -> bool:
    """Whether a server with several GPUs has GPU ``number`` (counted from 1)."""
    count = gpu_count(server)
    return count > 1 and count >= number


def gpu_usage(number: int, server: Server) -> float | None:
    """The usage of GPU ``number`` (counted from 1), if the agent reported it."""
    usage = server.status.gpu_usage
    return usage[number - 1] if len(usage) >= number else None


def mean(values: tuple[float, ...]) -> float | None:
    """The average, without the overflow of a sum (``fmean`` fails on two GPUs at 1.7e308)."""
    return sum(value / len(values) for value in values) if values else None


def percent(used: int | None, total: int | None) -> float | None:
    """``used`` as a share of ``total``; unknown when either is unknown or the total is 0."""
    if used is None or not total:
        return None
    return used / total * 100


def uptime_share(stats: ServiceStats) -> float | None:
    """A monitor's share of passed checks over 30 days, below 100 % at most 99.99 % (so two
    decimals never round it up to "100.00"); unknown without both counts."""
    up, down = stats.total_up, stats.total_down
    share = None if up is None or down is None else percent(up, up + down)
    return share if share is None or share >= 100 else min(share, 99.99)


def has_quota(usage: CycleUsage) -> bool:
    """Whether the cycle's rule sets a transfer quota."""
    return bool(usage.quota)


def cycle_end(usage: CycleUsage) -> datetime | None:
    """The end of the current cycle; unknown once passed, until the dashboard names the next."""
    return usage.end if usage.end is None or usage.end > dt_util.utcnow() else None


def billing_now(server: Server) -> Billing | None:
    """The billing terms in the server's public note, as of now (an auto-renewal rolled on)."""
    return parse_billing(server.public_note, dt_util.utcnow())
