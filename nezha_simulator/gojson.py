"""Serialize JSON byte for byte like Go's ``encoding/json``, the encoder of the v0 dashboard.

The differences from ``json.dumps`` that a client can see: compact separators, floats in Go's
shortest form (``47`` rather than ``47.0``), ``float32`` values formatted with float32 precision,
``<``, ``>``, ``&``, U+2028 and U+2029 escaped, and other non-ASCII text left as raw UTF-8.
"""

from collections.abc import Mapping, Sequence
from decimal import Decimal
import functools
from json.encoder import encode_basestring
import math
import struct

_CONSTANTS = {None: "null", True: "true", False: "false"}
_HTML_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


class Float32(float):
    """A number held and printed with Go ``float32`` precision (``avg_delay`` is one)."""

    def __new__(cls, value: float) -> Float32:
        """Round ``value`` to the nearest float32."""
        return super().__new__(cls, _round_f32(value))


type GoJSON = bool | int | float | str | Sequence[GoJSON] | Mapping[str, GoJSON] | None


def _round_f32(value: float) -> float:
    """The float32 nearest to ``value``."""
    rounded: float = struct.unpack("<f", struct.pack("<f", value))[0]
    return rounded


def _shortest_digits(value: float, float32: bool) -> str:
    """The shortest decimal text that reads back as ``value`` at the given precision."""
    if not float32:
        return repr(value)
    precision = 1
    while _round_f32(float(text := f"{value:.{precision}g}")) != value:
        precision += 1
    return text


def format_float(value: float, *, float32: bool = False) -> str:
    """Format a float like Go's ``encoding/json`` (``strconv`` shortest, ``'f'`` or ``'e'``)."""
    if not math.isfinite(value):
        raise ValueError(f"json: unsupported value: {value!r}")
    text = _shortest_digits(value, float32)
    magnitude = abs(value)
    if magnitude == 0 or 1e-6 <= magnitude < 1e21:
        if "e" not in text:
            return text.removesuffix(".0")
        return format(Decimal(text).normalize(), "f")
    sign, digits, exponent = Decimal(text).normalize().as_tuple()
    assert isinstance(exponent, int)
    mantissa = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
    power = exponent + len(digits) - 1
    return f"{'-' if sign else ''}{mantissa}e{'-' if power < 0 else '+'}{abs(power):02d}".replace(
        "e-0", "e-"
    )


@functools.lru_cache(maxsize=4096)
def _encode_string(text: str) -> str:
    """A JSON string literal the way Go writes it."""
    encoded = encode_basestring(text)
    for char, escape in _HTML_ESCAPES.items():
        encoded = encoded.replace(char, escape)
    return encoded


def dumps(value: GoJSON) -> str:
    """Encode ``value`` the way ``json.Marshal`` would; dict order is kept (struct field order)."""
    if value is None or isinstance(value, bool):
        return _CONSTANTS[value]
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value, float32=isinstance(value, Float32))
    if isinstance(value, str):
        return _encode_string(value)
    if isinstance(value, Mapping):
        items = (f"{_encode_string(key)}:{dumps(item)}" for key, item in value.items())
        return "{" + ",".join(items) + "}"
    return "[" + ",".join(dumps(item) for item in value) + "]"
