"""A client's setup against setupfields' allow-list: pure, raises ProtocolError (1007) or passes.

Every key must be a listed field of its message (camelCase or snake_case; the SDK may send one
field in both), every value of its kind as protobuf JSON parses it: enums are their names (never
numbers or objects; stricter than proto JSON, as Google's endpoint), integers a JSON number or a
decimal string (the JS SDK sends int64 as "25600") within their type's range, numbers finite
(a number or a numeric string, never "NaN"/"Infinity"), bytes base64 (standard or URL-safe
alphabet, padding optional), durations "<seconds>[.<up to 9 digits>]s". Nesting is bounded.
`httpOptions` is refused at any depth, free JSON included.
"""

from __future__ import annotations

import math
import re
from typing import Any

from pydantic.alias_generators import to_snake

from livebus import closecodes

from .setupfields import ENUMS, MESSAGES, NEVER, SETUP
from .wire import ProtocolError

MAX_DEPTH = 32          # objects and lists inside the setup, free JSON included
# Integer kinds: the range of each (low inclusive, high exclusive); "integer" is an int32.
_INT_RANGES = {"integer": (-(2**31), 2**31), "int64": (-(2**63), 2**63),
               "uint32": (0, 2**32), "uint64": (0, 2**64)}
_INT_STRING = re.compile(r"-?[0-9]{1,20}")
_NUMBER_STRING = re.compile(r"-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]*={0,2}")
_DURATION = re.compile(r"-?([0-9]{1,12})(\.[0-9]{1,9})?s")
_MAX_DURATION_S = 315_576_000_000  # google.protobuf.Duration: about 10,000 years
_SCALARS = ("string", "number", "bool", "bytes", "duration", *_INT_RANGES)

# Per message: each accepted spelling -> the field's wire name.
_SPELLINGS: dict[str, dict[str, str]] = {
    name: {spelling: f for f in fields for spelling in (f, to_snake(f))}
    for name, fields in MESSAGES.items()
}


def shown(key: str) -> str:
    """A client-chosen key, safe and short enough to name in a close reason."""
    return "".join(c if c.isprintable() and c not in "\"'" else "?" for c in key[:40])


def invalid(reason: str) -> ProtocolError:
    return ProtocolError(closecodes.INVALID_ARGUMENT, reason)


def _unknown(key: str, where: str) -> ProtocolError:
    return invalid(f'Invalid JSON payload received. Unknown name "{shown(key)}" at '
                   f"'{where}': Cannot find field.")


def _never(key: str, where: str) -> ProtocolError:
    return invalid(f'"{shown(key)}" is not accepted at \'{where}\': the upstream connection '
                   "is the gateway's own")


def check_setup(setup: dict[str, Any]) -> None:
    """Raises ProtocolError(1007) naming the first field that is not allowed."""
    _message(setup, SETUP, "setup", 1)


def check_message(value: object, name: str, where: str) -> None:
    """One allow-listed message (e.g. a token's locked setup part)."""
    _message(value, name, where, 1)


def _message(obj: object, name: str, where: str, depth: int) -> None:
    if not isinstance(obj, dict):
        raise invalid(f"{where} must be an object")
    spellings, fields = _SPELLINGS[name], MESSAGES[name]
    for key, value in obj.items():
        if key in NEVER:
            raise _never(key, where)
        field = spellings.get(key)
        if field is None:
            raise _unknown(key, where)
        _value(value, fields[field], f"{where}.{shown(key)}", depth + 1)


def _value(value: object, kind: str, where: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise invalid(f"{where}: nested too deeply (at most {MAX_DEPTH} levels)")
    if value is None:  # proto JSON: null is the field's default
        return
    if kind.startswith("[]"):
        if not isinstance(value, list):
            raise invalid(f"{where} must be a list")
        for i, item in enumerate(value):
            _value(item, kind[2:], f"{where}[{i}]", depth + 1)
    elif kind.startswith("{}"):
        if not isinstance(value, dict):
            raise invalid(f"{where} must be an object")
        for key, item in value.items():
            if key in NEVER:
                raise _never(key, where)
            _value(item, kind[2:], f"{where}.{shown(key)}", depth + 1)
    elif kind == "json":
        _json(value, where, depth)
    elif kind.startswith("enum:"):
        _enum(value, kind[5:], where)
    elif kind in _SCALARS:
        _scalar(value, kind, where)
    else:
        _message(value, kind, where, depth)


def _enum(value: object, name: str, where: str) -> None:
    allowed = ENUMS.get(name) or tuple(name.split("|"))
    if not isinstance(value, str):
        raise invalid(f"{where} must be one of its enum names, as a string")
    if value not in allowed:
        raise invalid(f"{where}: {shown(value)!r} is not a valid value")


def _scalar(value: object, kind: str, where: str) -> None:
    if kind in _INT_RANGES:
        ok = _is_integer(value, *_INT_RANGES[kind])
        what = f"an integer ({'int32' if kind == 'integer' else kind})"
    elif kind == "number":
        ok, what = _is_finite_number(value), "a finite number"
    elif kind == "bytes":
        ok, what = _is_base64(value), "base64"
    elif kind == "duration":
        ok, what = _is_duration(value), 'a duration such as "1.5s"'
    else:
        ok = isinstance(value, str) if kind == "string" else isinstance(value, bool)
        what = "a " + kind
    if not ok:
        raise invalid(f"{where} must be {what}")


def _is_integer(value: object, low: int, high: int) -> bool:
    """A JSON number of integral value, or a decimal string (proto JSON's int64 form)."""
    if isinstance(value, str):
        if _INT_STRING.fullmatch(value) is None:
            return False
        n = int(value)
    elif isinstance(value, bool) or not isinstance(value, int | float):
        return False
    elif isinstance(value, float):
        if not (math.isfinite(value) and value.is_integer()):
            return False
        n = int(value)
    else:
        n = value
    return low <= n < high


def _is_finite_number(value: object) -> bool:
    if isinstance(value, str):
        return _NUMBER_STRING.fullmatch(value) is not None and math.isfinite(float(value))
    return not isinstance(value, bool) and isinstance(value, int | float) \
        and math.isfinite(value)


def _is_base64(value: object) -> bool:
    if not isinstance(value, str) or _BASE64.fullmatch(value) is None:
        return False
    body = value.rstrip("=")
    padded = len(body) != len(value)
    return len(body) % 4 != 1 and (not padded or len(value) % 4 == 0)


def _is_duration(value: object) -> bool:
    if not isinstance(value, str):
        return False
    m = _DURATION.fullmatch(value)
    return m is not None and int(m.group(1)) <= _MAX_DURATION_S


def _json(value: object, where: str, depth: int) -> None:
    """Free JSON (schemas, function arguments): bounded depth, finite numbers, no httpOptions."""
    stack: list[tuple[object, int]] = [(value, depth)]
    while stack:
        item, d = stack.pop()
        if d > MAX_DEPTH:
            raise invalid(f"{where}: nested too deeply (at most {MAX_DEPTH} levels)")
        if isinstance(item, dict):
            for key, inner in item.items():
                if key in NEVER:
                    raise _never(key, where)
                stack.append((inner, d + 1))
        elif isinstance(item, list):
            stack.extend((inner, d + 1) for inner in item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise invalid(f"{where}: numbers must be finite")
