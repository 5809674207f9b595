"""Reading dashboard JSON defensively, shared by every generation's client.

A dashboard (or something in front of it) can send anything. Each reader here returns a value of
the asked-for type or ``None`` (unknown), never raises: one odd field must not take every entity
down. A number that can't be a measurement (not finite, negative where Go has an unsigned type,
too big for a float or a ``uint64``) is unknown too.
"""

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
import json
import math
from math import isfinite
import re
from typing import Any

from .errors import NezhaResponseError
from .models import Monitor, MonitorPoint, MonitorsSnapshot, Temperature

UINT64_LIMIT = 2**64
"""Go's ``uint64`` counters (bytes, ids, counts) are below this."""

MIN_POINT_MILLIS = 1000
"""The first whole second after the Unix epoch: 0 s and before are Go's "never", not a time."""
MAX_POINT_MILLIS = 253_402_300_799_999
"""The last millisecond of year 9999: a later time can't be a datetime."""


_CREDENTIAL_SHAPES = re.compile(
    r"(?i:bearer)\s+\S+"  # an echoed Authorization header
    r"|nzp_[0-9A-Za-z]+"  # a 2.x access token
    r"|eyJ[\w-]*\.[\w-]*\.[\w-]*"  # a JWT (its header is base64 JSON: "eyJ" is '{"')
)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` without any of ``secrets`` or anything shaped like a credential (``***``).

    The shapes catch a page echoing a credential this client never held (another client's, a
    browser's cookie), which must not reach a message either.
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _CREDENTIAL_SHAPES.sub("***", text)


def _fast_json_loads() -> Callable[[str | bytes], Any]:
    """orjson's decoder when it is there (Home Assistant ships it), else the standard library's.

    A list or frame of 1,000 servers is about 1 MB: orjson reads it in a fifth of the time.
    """
    try:
        import orjson
    except ImportError:
        return json.loads
    return orjson.loads


_fast_loads = _fast_json_loads()


def decode_json(data: str | bytes) -> Any:
    """JSON as Python; ``ValueError`` (or ``RecursionError``) if it is none.

    What the fast decoder refuses (``NaN``, integers past 64 bits, deep nesting, lone
    surrogates) is read again by the standard library's: ``NaN`` and ``Infinity`` (which
    Python's decoder accepts, Go's encoder never writes) become ``None``.
    """
    try:
        return _fast_loads(data)
    except ValueError:
        return json.loads(data, parse_constant=lambda _: None)


def decode_json_object(body: bytes, status: int, secrets: tuple[str, ...] = ()) -> dict[str, Any]:
    """Decode a JSON object, or say plainly that this is not one (HTML from a proxy, a login page).

    ``NaN`` and ``Infinity`` become ``None`` (``decode_json``). The error quotes the start of the
    body, which tells a login page from a proxy's error page; every one of ``secrets`` is cut out
    first, in case the page echoes the request.
    """
    try:
        payload = decode_json(body)
    except (ValueError, RecursionError) as err:  # also UnicodeDecodeError; deeply nested arrays
        text = redact(body.decode("utf-8", "replace"), secrets)
        raise NezhaResponseError(f"HTTP {status}: not JSON ({text[:40].strip()!r}…)") from err
    if not isinstance(payload, dict):
        raise NezhaResponseError(f"HTTP {status}: JSON of another shape ({type(payload).__name__})")
    return payload


def http_date(value: str | None) -> datetime | None:
    """An HTTP ``Date`` header as an aware UTC datetime; ``None`` if it can't be a time."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except TypeError, ValueError, OverflowError:
        return None


def mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """An object field; anything else is an empty object."""
    value = data.get(key)
    # ``isinstance`` against an abstract class is slow; decoded JSON objects are dicts.
    return value if type(value) is dict or isinstance(value, Mapping) else {}


# The readers of single fields below run for each of a server's ~40 fields, for every server of
# every poll and frame: each tries the well-typed case first (one exact type check, no further
# call; ``type() is`` also keeps ``bool`` out) and hands anything else to the careful path.


def integer(data: Mapping[str, Any], key: str) -> int | None:
    """A whole number of any sign (Go ``int``/``int64``), e.g. a display index or Unix seconds."""
    value = data.get(key)
    return value if type(value) is int else _whole(value)


def unsigned(data: Mapping[str, Any], key: str) -> int | None:
    """A Go ``uint64``: a whole number from 0 to 2**64 - 1 (byte counts, ids, counts)."""
    value = data.get(key)
    return value if type(value) is int and 0 <= value < UINT64_LIMIT else _uint64(value)


def unsigned_or_zero(data: Mapping[str, Any], key: str) -> int | None:
    """``unsigned``, except that a key left out is 0.

    For Go's ``omitempty`` fields of an object known to be filled in: the encoder drops a field
    whose value is zero, so its absence is a zero, while a present but odd value is still unknown.
    """
    value = data.get(key, 0)
    return value if type(value) is int and 0 <= value < UINT64_LIMIT else _uint64(value)


def _whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def as_unsigned(value: Any) -> int | None:
    """A Go ``uint64`` value on its own (e.g. of a map): 0 to 2**64 - 1, else ``None``."""
    return _uint64(value)


def _uint64(value: Any) -> int | None:
    whole = _whole(value)
    return whole if whole is not None and 0 <= whole < UINT64_LIMIT else None


def number(data: Mapping[str, Any], key: str) -> float | None:
    """A finite float (a percentage, a load average, a latency)."""
    value = data.get(key)
    return value if type(value) is float and isfinite(value) else finite(value)


def number_or_zero(data: Mapping[str, Any], key: str) -> float | None:
    """``number``, except that a key left out is 0.0 (``omitempty``, see ``unsigned_or_zero``)."""
    value = data.get(key, 0.0)
    return value if type(value) is float and isfinite(value) else finite(value)


def finite(value: Any) -> float | None:
    """``value`` as a finite float, or ``None`` (not a number, NaN, infinite, too big)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        result = float(value)
    except OverflowError:
        return None
    return result if math.isfinite(result) else None


def text(data: Mapping[str, Any], key: str) -> str | None:
    """A string value; empty strings are unknown."""
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def text_tuple(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """A list of non-empty strings; other items and other types are dropped."""
    value = data.get(key)
    if not isinstance(value, list):
        return ()
    return tuple([item for item in value if isinstance(item, str) and item])  # a list: faster


def unsigned_tuple(data: Mapping[str, Any], key: str) -> tuple[int, ...]:
    """A list of Go ``uint64`` values (e.g. ids); other items and other types are dropped."""
    value = data.get(key)
    if not isinstance(value, list):
        return ()
    return tuple([whole for item in value if (whole := _uint64(item)) is not None])


def number_tuple(data: Mapping[str, Any], key: str) -> tuple[float, ...]:
    """A list of finite floats; other items and other types are dropped."""
    value = data.get(key)
    if not isinstance(value, list):
        return ()
    return tuple([number for item in value if (number := finite(item)) is not None])


def unix_seconds(seconds: int | None) -> datetime | None:
    """Unix seconds as UTC; zero or negative (Go's zero time, -62135596800) means never."""
    if seconds is None or seconds <= 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except OverflowError, OSError, ValueError:
        return None


def rfc3339(value: Any) -> datetime | None:
    """A Go ``time.Time`` in JSON (RFC 3339, up to nanoseconds, any offset) as an aware datetime.

    Go's zero time (``0001-01-01T00:00:00Z``, "never"), a time whose offset puts it outside what
    UTC can hold, and anything that is not such a time are ``None``. Fractions beyond microseconds are cut, as Python's datetime can't hold them.
    """
    if not isinstance(value, str) or not value or value.startswith("0001-01-01"):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    # Offsets are under a day, so only a time in year 1 or 9999 can fall outside UTC.
    return (
        parsed
        if parsed.tzinfo is not None and (1 < parsed.year < 9999 or in_utc_range(parsed))
        else None
    )


def in_utc_range(moment: datetime) -> bool:
    """Whether an aware ``moment`` converts to UTC (``0001-01-01T00:00:00+14:00`` does not)."""
    try:
        moment.astimezone(UTC)
    except OverflowError:
        return False
    return True


def temperatures(value: Any) -> tuple[Temperature, ...]:
    """Go ``[]SensorTemperature`` (no JSON tags, so ``Name``/``Temperature``, in every generation)."""
    if not isinstance(value, list):
        return ()
    sensors = []
    for item in value:
        if isinstance(item, Mapping) and (celsius := number(item, "Temperature")) is not None:
            sensors.append(Temperature(name=text(item, "Name") or "", celsius=celsius))
    return tuple(sensors)


def _newest_point(times: Any, delays: Any) -> tuple[MonitorPoint | None, int]:
    """A ping series (epoch milliseconds beside average delays) as its newest point and size.

    Only pairs of a whole time from ``MIN_POINT_MILLIS`` to ``MAX_POINT_MILLIS`` and a finite
    delay count; a delay of 0 ms or less is a failed round (``models.MonitorPoint``) and counts
    too. One datetime is built, for the newest pair: a series holds up to a day of points per
    monitor, and a fleet has thousands of series each poll.
    """
    if not isinstance(times, list) or not isinstance(delays, list):
        return None, 0
    count = min(len(times), len(delays))  # parallel arrays: only complete pairs
    times, delays = times[:count], delays[:count]
    if count and (newest := _newest_of_clean(times, delays)) is not None:
        newest_millis, newest_delay = newest
    else:
        count = 0
        newest_millis, newest_delay = 0, 0.0
        for millis, delay in zip(times, delays, strict=True):
            if (
                type(millis) is int
                and MIN_POINT_MILLIS <= millis <= MAX_POINT_MILLIS
                and (latency := finite(delay)) is not None
            ):
                count += 1
                if millis >= newest_millis:
                    newest_millis, newest_delay = millis, latency
        if not count:
            return None, 0
    when = datetime.fromtimestamp(newest_millis // 1000, UTC)
    return MonitorPoint(time=when, latency_ms=newest_delay), count


def _newest_of_clean(times: list[Any], delays: list[Any]) -> tuple[int, float] | None:
    """The last pair, when every pair is usable and the last is the newest; else ``None``.

    What a dashboard sends (a day of points, oldest first), checked at C speed with no Python
    loop over the series; anything else (a bad item, an unsorted series) takes the loop above.
    """
    if set(map(type, times)) != {int} or not set(map(type, delays)) <= {int, float}:
        return None
    try:
        total = math.fsum(delays)  # NaN, infinity or an int too big for a float show here
    except OverflowError:
        return None
    newest = max(times)
    if (
        not math.isfinite(total)
        or min(times) < MIN_POINT_MILLIS
        or newest > MAX_POINT_MILLIS
        or times[-1] != newest
    ):
        return None
    return newest, float(delays[-1])


def monitor_series(item: Mapping[str, Any], server_id: int) -> Monitor | None:
    """A ping monitor's series as every generation sends it (v0 ``/monitor/:id``, 1.x and 2.x
    ``ServiceInfos``: ``monitor_id``, ``monitor_name``, ``created_at``, ``avg_delay``).

    ``None`` without a usable id; the dashboard's ``server_id`` is not trusted over the one asked.
    """
    monitor_id = unsigned(item, "monitor_id")
    if monitor_id is None:
        return None
    latest, count = _newest_point(item.get("created_at"), item.get("avg_delay"))
    return Monitor(
        id=monitor_id,
        server_id=server_id,
        name=text(item, "monitor_name") or f"#{monitor_id}",
        latest=latest,
        point_count=count,
    )


def objects(data: Any, name: str = "data") -> list[Mapping[str, Any]]:
    """A list of objects (items of another kind dropped); a missing list is empty.

    1.x/2.x leave an empty list out (``omitempty``), 0.x sends ``null``. ``name``: what the error
    calls the field (``data`` on 1.x/2.x, ``result`` on 0.x).
    """
    if data is None:
        return []
    if not isinstance(data, list):
        raise NezhaResponseError(f"{name} is {type(data).__name__}, not a list")
    return [item for item in data if type(item) is dict or isinstance(item, Mapping)]  # see mapping


_SCALARS = frozenset({int, float, str, bool, type(None)})


def has_report(state: Mapping[str, Any]) -> bool:
    """Whether an agent's state object holds a report: any figure that is not zero or empty.

    Every generation says "nothing reported" the same way: 1.x/2.x leave every zero out (``{}``),
    0.x sends every field as zero or ``null``; a list of zeros (one per GPU) is no report either.
    A real report always has some figure (uptime, memory).
    """
    return any(map(_is_figure, state.values()))


def _is_figure(value: Any) -> bool:
    if type(value) in _SCALARS:  # most values: no slow check against the abstract Mapping
        return bool(value)
    if isinstance(value, list):
        return any(map(_is_figure, value))
    if isinstance(value, Mapping):
        return any(map(_is_figure, value.values()))
    return bool(value)


def monitors_snapshot(
    items: list[Mapping[str, Any]], server_id: int, dashboard_time: datetime | None
) -> MonitorsSnapshot:
    """One server's monitor series as every generation sends them, by monitor id."""
    monitors: dict[int, Monitor] = {}
    for item in items:
        if (monitor := monitor_series(item, server_id)) is not None:
            monitors[monitor.id] = monitor
    return MonitorsSnapshot(
        server_id=server_id, monitors=dict(sorted(monitors.items())), dashboard_time=dashboard_time
    )
