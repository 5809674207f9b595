"""How gin reads a request's ``:id`` and JSON body on a 1.x/2.x dashboard, and the form checks.

``ShouldBindJSON`` into the v2.3.7 form structs: an empty body is ``EOF``, a JSON type that does
not fit a field is Go's unmarshal error, ``null`` leaves the zero value. ``rule_error`` is
``validateRule``'s timing checks of one alert rule.
"""

from datetime import datetime
import json
from typing import Any

from aiohttp import web

from .access_v1 import Ctx, error

CYCLE_KINDS = ("transfer_in_cycle", "transfer_out_cycle", "transfer_all_cycle")
_GO_TYPES = {str: "string", bool: "bool", int: "number", float: "number", list: "array"}

# Go types of the form fields a client may send (``json:"…"`` tags of the v2.3.7 forms).
ALERT_FORM = {
    "name": "string",
    "rules": "[]*model.Rule",
    "fail_trigger_tasks": "[]uint64",
    "recover_trigger_tasks": "[]uint64",
    "notification_group_id": "uint64",
    "trigger_mode": "uint8",
    "enable": "bool",
}
RULE_FORM = {
    "type": "string",
    "min": "float64",
    "max": "float64",
    "cycle_start": "time.Time",
    "cycle_interval": "uint64",
    "cycle_unit": "string",
    "duration": "uint64",
    "cover": "uint64",
    "ignore": "map[uint64]bool",
}
SERVICE_FORM = {
    "name": "string",
    "target": "string",
    "type": "uint8",
    "cover": "uint8",
    "display_index": "int",
    "notify": "bool",
    "duration": "uint64",
    "min_latency": "float32",
    "max_latency": "float32",
    "latency_notify": "bool",
    "enable_trigger_task": "bool",
    "enable_show_in_service": "bool",
    "hide_for_guest": "bool",
    "fail_trigger_tasks": "[]uint64",
    "recover_trigger_tasks": "[]uint64",
    "skip_servers": "map[uint64]bool",
    "notification_group_id": "uint64",
}


def go_kind(value: object) -> str:
    """The JSON kind Go names in an unmarshal error."""
    if isinstance(value, dict):
        return "object"
    return _GO_TYPES.get(type(value), "number")


def fits(value: object, go_type: str) -> bool:
    """Whether a JSON value unmarshals into ``go_type`` (``null`` always does)."""
    if value is None or go_type in ("string", "time.Time", "bool"):
        wanted = bool if go_type == "bool" else str
        return value is None or type(value) is wanted
    if go_type.startswith("[]"):
        return isinstance(value, list)
    if go_type.startswith("map["):
        return isinstance(value, dict) and all(
            key.isdigit() and isinstance(item, bool) for key, item in value.items()
        )
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    whole = float(value).is_integer() and (value >= 0 or go_type == "int")
    return go_type.startswith("float") or whole


def check_form(form: object, fields: dict[str, str], struct: str) -> str | None:
    """The bind error of a JSON object for a Go struct, or ``None``."""
    if not isinstance(form, dict):
        return f"json: cannot unmarshal {go_kind(form)} into Go value of type model.{struct}"
    for key, go_type in fields.items():
        if key in form and not fits(form[key], go_type):
            kind = go_kind(form[key])
            return f"json: cannot unmarshal {kind} into Go struct field {struct}.{key} of type {go_type}"
    return None


async def bind(ctx: Ctx) -> Any:
    """``ShouldBindJSON``'s decoding: the JSON body, or the error reply."""
    raw = await ctx.request.read()
    if not raw.strip():
        return error("EOF")
    try:
        return json.loads(raw)
    except ValueError:
        first = raw.decode(errors="replace").strip()[0]
        return error(f"invalid character '{first}' looking for beginning of value")


def id_list(values: object) -> list[int]:
    """A decoded ``[]uint64`` (``null`` is empty)."""
    return [int(item) for item in values] if isinstance(values, list) else []


def arg_id(ctx: Ctx) -> int | web.Response:
    """The ``:id`` as ``strconv.ParseUint`` reads it."""
    if not ctx.arg.isascii() or not ctx.arg.isdigit():
        return error(f'strconv.ParseUint: parsing "{ctx.arg}": invalid syntax')
    return int(ctx.arg)


async def id_and_form(ctx: Ctx) -> tuple[int, Any] | web.Response:
    """A ``PATCH``'s ``:id`` and decoded body, or the error of the first that fails."""
    item_id = arg_id(ctx)
    if isinstance(item_id, web.Response):
        return item_id
    form = await bind(ctx)
    return form if isinstance(form, web.Response) else (item_id, form)


def rule_error(
    kind: str, duration: int, interval: int, start: datetime | None, now: float
) -> str | None:
    """``validateRule``'s checks of one rule's timing."""
    if kind not in CYCLE_KINDS:
        return "duration need to be at least 3" if duration < 3 else None
    if interval < 1:
        return "cycle_interval need to be at least 1"
    if start is None:
        return "cycle_start is not set"
    if start.timestamp() > now:
        return "cycle_start is a future value"
    return None
