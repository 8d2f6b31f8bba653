"""Reading Harrier captures (the ``harrier record`` format) into the
``wit_world.imports.types`` dataclasses.

JSON Lines: a header ``{"harrier_capture":1,"wit":"0.2.0"}``, then one event
per line with ``kind`` and ``pid`` up front, fields in snake_case and
variants tagged by their CamelCase name (``"detail":{"Exec":{...}}``,
``"address":{"Ipv4":["10.0.0.5",443]}``). Options may be left out (``None``).
Integer fields are read both as JSON numbers and as decimal strings, as the
host reads them (``wit/exact-ints.rs``): captures write nanosecond times,
and any integer beyond 2^53 - 1, as strings (``"time_ns":"1764000000001000000"``)
so that every JSON parser reads them exactly.
The header may declare threat-intelligence indicators for the fake host
(``"indicators":[{"kind":"domain","value":"*.evil.example","category":"command-and-control"}]``),
which the host ignores. Errors name the 1-based line.
"""

import dataclasses
import json
import types as pytypes
import typing

from wit_world.imports import types

from . import kinds
from .config import unexpected
from .fake import FakeIndicator

# Integer widths by field name; every other integer field is a u32.
_U64 = {"seq", "time_ns", "cgroup_id", "dev", "inode", "mtime_ns", "omitted_bytes", "clone_flags", "bytes"}
_S64 = {"result", "fd", "old_fd", "new_fd"}
_S32 = {"code"}
_U16 = {"query_type", "record_type", "rcode"}
# Records whose `flags` is a u64 (it is a u32 elsewhere).
_WIDE_FLAGS = {"NamespaceEvent", "MountEvent"}
_RANGES = {
    "u16": (0, (1 << 16) - 1),
    "u32": (0, (1 << 32) - 1),
    "s32": (-(1 << 31), (1 << 31) - 1),
    "u64": (0, (1 << 64) - 1),
    "s64": (-(1 << 63), (1 << 63) - 1),
}


class CaptureError(ValueError):
    """A capture that could not be read; the message names the line."""


class _Bad(Exception):
    def __init__(self, path, message):
        super().__init__(message)
        self.path = path
        self.message = message


def _width(record, field):
    if field == "flags":
        return "u64" if record in _WIDE_FLAGS else "u32"
    if field in _U64:
        return "u64"
    if field in _S64:
        return "s64"
    if field in _S32:
        return "s32"
    if field in _U16:
        return "u16"
    return "u32"


def _integer(value, width, path, text_ok=True):
    """An integer of ``width``; a decimal string too where ``text_ok`` (object members)."""
    if isinstance(value, str) and text_ok:
        digits = value[1:] if value.startswith("-") else value
        if digits and all("0" <= c <= "9" for c in digits):
            value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad(path, f"invalid type: {unexpected(value)}, expected {width}")
    low, high = _RANGES[width]
    if not low <= value <= high:
        raise _Bad(path, f"invalid value: integer `{value}`, expected {width}")
    return value


_HINTS = {}


def _hints(cls):
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def _record(cls, raw, path):
    if not isinstance(raw, dict):
        raise _Bad(path, f"invalid type: {unexpected(raw)}, expected struct {cls.__name__}")
    values = {}
    for field in dataclasses.fields(cls):
        hint = _hints(cls)[field.name]
        where = f"{path}.{field.name}" if path else field.name
        if field.name in raw:
            values[field.name] = _value(raw[field.name], hint, where, cls.__name__, field.name)
        elif _optional(hint) is not None:
            values[field.name] = None
        else:
            raise _Bad(path or ".", f"missing field `{field.name}`")
    return cls(**values)


_UNIONS = (typing.Union, getattr(pytypes, "UnionType", typing.Union))


def _optional(hint):
    """``T`` of ``Optional[T]``, else ``None``."""
    if typing.get_origin(hint) in _UNIONS:
        args = typing.get_args(hint)
        if type(None) in args:
            rest = [a for a in args if a is not type(None)]
            return rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]
    return None


def _variant(raw, cases, path):
    """An externally tagged variant: ``{"Case": payload}``."""
    prefix = cases[0].__name__.split("_", 1)[0]
    if not isinstance(raw, dict) or len(raw) != 1:
        raise _Bad(path, f"invalid type: {unexpected(raw)}, expected a {prefix} variant as {{\"Case\": value}}")
    (tag, payload), = raw.items()
    cls = next((c for c in cases if c.__name__ == f"{prefix}_{tag}"), None)
    if cls is None:
        names = ", ".join(c.__name__.split("_", 1)[1] for c in cases)
        raise _Bad(path, f"unknown variant `{tag}`, expected one of {names}")
    hint = _hints(cls)["value"]
    return cls(_value(payload, hint, f"{path}.{tag}", cls.__name__, "value"))


def _value(raw, hint, path, record, field):
    inner = _optional(hint)
    if inner is not None:
        return None if raw is None else _value(raw, inner, path, record, field)
    if dataclasses.is_dataclass(hint):
        return _record(hint, raw, path)
    origin = typing.get_origin(hint)
    if origin in _UNIONS:
        return _variant(raw, typing.get_args(hint), path)
    if origin is list:
        if not isinstance(raw, list):
            raise _Bad(path, f"invalid type: {unexpected(raw)}, expected a sequence")
        (item,) = typing.get_args(hint)
        return [_value(v, item, f"{path}[{i}]", record, field) for i, v in enumerate(raw)]
    if origin is tuple:
        items = typing.get_args(hint)
        if not isinstance(raw, list) or len(raw) != len(items):
            raise _Bad(path, f"invalid type: {unexpected(raw)}, expected a tuple of size {len(items)}")
        # The only tuples are (address, port): the port is a u16.
        return tuple(_value(v, h, f"{path}[{i}]", record, "port" if h is int else field)
                     for i, (v, h) in enumerate(zip(raw, items)))
    if hint is int:
        if field == "port":
            return _integer(raw, "u16", path, text_ok=False)
        if field == "value":  # a variant's payload (SocketAddress.Other)
            return _integer(raw, "u32", path, text_ok=False)
        return _integer(raw, _width(record, field), path)
    if hint is str:
        if not isinstance(raw, str):
            raise _Bad(path, f"invalid type: {unexpected(raw)}, expected a string")
        return raw
    if hint is bool:
        if not isinstance(raw, bool):
            raise _Bad(path, f"invalid type: {unexpected(raw)}, expected a boolean")
        return raw
    if hint is float:
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise _Bad(path, f"invalid type: {unexpected(raw)}, expected f32")
        return float(raw)
    raise _Bad(path, f"cannot read a value of type {hint!r}")


def event_from_json(raw):
    """One event from its capture object (``kind`` and ``pid`` are ignored);
    raises ``ValueError`` naming the field."""
    try:
        return _record(types.Event, raw, "")
    except _Bad as e:
        raise ValueError(f"`{e.path}`: {e.message}" if e.path != "." else e.message) from None


def _lines(text):
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


def _header(text):
    lines = _lines(text)
    try:
        header = json.loads(lines[0])
    except json.JSONDecodeError as e:
        raise CaptureError(f"line 1: bad header: {e}") from None
    return header


def parse(text):
    """The events of a capture's text, in file order; raises :class:`CaptureError`."""
    if text == "":
        raise CaptureError("line 1: empty capture, expected a header")
    header = _header(text)
    version = header.get("harrier_capture") if isinstance(header, dict) else None
    if type(version) is not int or version != 1:
        raise CaptureError("line 1: not a version 1 Harrier capture header")
    events = []
    for n, line in enumerate(_lines(text)[1:], start=2):
        line = line.strip()
        if not line:
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as e:
            raise CaptureError(f"line {n}: {e}") from None
        declared = raw.get("kind") if isinstance(raw, dict) else None
        if not isinstance(declared, str):
            raise CaptureError(f"line {n}: no `kind` field")
        try:
            event = event_from_json(raw)
        except ValueError as e:
            raise CaptureError(f"line {n}: {e}") from None
        actual = kinds.name(kinds.of(event.detail))
        if declared != actual:
            raise CaptureError(f"line {n}: kind `{declared}` does not match its detail `{actual}`")
        events.append(event)
    return events


def indicators(text):
    """The :class:`~harrier_sdk.fake.FakeIndicator` list a capture's header declares (empty if none)."""
    header = _header(text) if text else {}
    declared = header.get("indicators") if isinstance(header, dict) else None
    if declared is None:
        return []
    try:
        if not isinstance(declared, list):
            raise ValueError(f"invalid type: {unexpected(declared)}, expected a sequence")
        return [FakeIndicator.from_json(item) for item in declared]
    except ValueError as e:
        raise CaptureError(f"line 1: bad `indicators`: {e}") from None


def load(path):
    """The events of a capture file; errors name the file and line."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        return parse(text)
    except CaptureError as e:
        raise CaptureError(f"{path}: {e}") from None
