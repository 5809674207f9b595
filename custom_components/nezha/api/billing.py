"""The billing convention of a server's ``public_note`` (NEZHA_API_DELTA.md §8).

The official admin panel writes ``{"billingDataMod":{"endDate":…,"autoRenewal":"1","cycle":
"Month","amount":"$5"},…}`` into the note, and the official theme shows the days left from it.
Every field is a string and may be missing; a note of any other shape is just text, so it gives
``None`` and raises nothing.
"""

import calendar
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
import json
from typing import Any, Final

from .models import Billing
from .parsing import in_utc_range

NEVER_EXPIRES_PREFIX: Final = "0000-00-00"
"""The admin panel's "never expires" end date (``0000-00-00T23:59:59+08:00``)."""

CYCLE_DAYS: Final = {"day": 1, "week": 7}
CYCLE_MONTHS: Final = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}

_CYCLE_SPELLINGS: Final = {
    "day": ("day", "d", "daily", "天", "日"),
    "week": ("week", "w", "weekly", "周"),
    "month": ("month", "m", "mo", "monthly", "月"),
    "quarter": ("quarter", "q", "qr", "quarterly", "季"),
    "half_year": ("half year", "half_year", "half-year", "half", "h", "semi-annually", "半年"),
    "year": ("year", "y", "yr", "annual", "annually", "yearly", "年"),
}
CYCLES: Final = {
    spelling: cycle for cycle, spellings in _CYCLE_SPELLINGS.items() for spelling in spellings
}
"""Every spelling of a cycle the admin panel, older notes and nezha-dash-v2 use (lower case)."""

AMOUNT_FREE: Final = "free"
AMOUNT_USAGE_BASED: Final = "usage_based"


def parse_billing(note: str | None, now: datetime) -> Billing | None:
    """The billing terms in ``note`` as of ``now`` (aware), or ``None`` for any other note.

    Without auto-renewal the expiry is ``endDate``; with it, a past ``endDate`` rolls forward by
    whole cycles (clamping the day to the month's end) until it is after ``now``. An unknown cycle
    does not roll.
    """
    billing = _billing_object(note)
    if billing is None:
        return None
    end_text = billing.get("endDate")
    if not isinstance(end_text, str):
        return None
    cycle_text = _text(billing, "cycle")
    cycle = CYCLES.get(cycle_text.strip().lower()) if cycle_text else None
    auto_renewal = billing.get("autoRenewal") == "1"
    if end_text.strip().startswith(NEVER_EXPIRES_PREFIX):
        expiry = None
    elif (expiry := _date(end_text)) is None:
        return None
    elif auto_renewal and cycle is not None and expiry <= now:
        try:
            expiry = next_expiry(expiry, cycle, now)
        except OverflowError:
            return None
    return Billing(
        expiry=expiry,
        never_expires=expiry is None,
        amount=_amount(_text(billing, "amount")),
        cycle=cycle or cycle_text,
        auto_renewal=auto_renewal,
    )


def next_expiry(end: datetime, cycle: str, now: datetime) -> datetime:
    """The first ``end`` + k cycles (k ≥ 1) after ``now``; ``OverflowError`` past year 9999.

    Each step is counted from ``end`` itself, so a cycle ending on the 31st ends on the 28th/29th
    in February and on the 31st again in March.
    """
    if cycle in CYCLE_DAYS:
        period = timedelta(days=CYCLE_DAYS[cycle])
        steps = max(1, (now - end) // period)
        candidate = end + steps * period
        while candidate <= now:
            steps += 1
            candidate = end + steps * period
        return candidate
    months = CYCLE_MONTHS[cycle]
    elapsed = (now.year - end.year) * 12 + now.month - end.month
    steps = max(1, elapsed // months - 1)
    candidate = add_months(end, steps * months)
    while candidate <= now:
        steps += 1
        candidate = add_months(end, steps * months)
    return candidate


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` ``months`` later, the day clamped to the last of a shorter month."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    if not 1 <= year <= 9999:
        raise OverflowError("date out of range")
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _billing_object(note: str | None) -> Mapping[str, Any] | None:
    if not note or not note.lstrip().startswith("{"):
        return None
    try:
        data = json.loads(note)
    except ValueError, RecursionError:
        return None
    billing = data.get("billingDataMod") if isinstance(data, Mapping) else None
    return billing if isinstance(billing, Mapping) else None


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value.strip() or None if isinstance(value, str) else None


def _date(value: str) -> datetime | None:
    """An ISO 8601 date or time with any offset (UTC without one); ``None`` for anything else,
    and for a time its offset puts outside what UTC can hold (``9999-12-31T23:59:59-23:59``)."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed if in_utc_range(parsed) else None


def _amount(value: str | None) -> str | None:
    if value == "0":
        return AMOUNT_FREE
    if value == "-1":
        return AMOUNT_USAGE_BASED
    return value
