"""Event kinds: their capture names (``exec``, ``file-open``), the
``types.EventKind`` members and the ``types.EventDetail_*`` classes, which
the WIT lists in the same order.
"""

import typing

from wit_world.imports import types

#: ``types.EventDetail_*`` classes in WIT order (the order of ``EventKind``).
DETAIL_CLASSES = typing.get_args(types.EventDetail)

#: Every ``types.EventKind`` in WIT order.
KINDS = sorted(types.EventKind, key=lambda k: k.value)


def name(kind):
    """The capture name of a ``types.EventKind`` (``FILE_OPEN`` -> ``file-open``)."""
    return kind.name.lower().replace("_", "-")


_BY_NAME = {name(k): k for k in KINDS}
_KIND_OF_DETAIL = dict(zip(DETAIL_CLASSES, KINDS))
_DETAIL_OF_VARIANT = {cls.__name__[len("EventDetail_"):]: cls for cls in DETAIL_CLASSES}


def from_name(text):
    """The ``types.EventKind`` with this capture name, or ``None``."""
    return _BY_NAME.get(text)


def kind(value):
    """A ``types.EventKind`` from itself or its capture name; ``ValueError`` if unknown."""
    if isinstance(value, types.EventKind):
        return value
    found = _BY_NAME.get(value)
    if found is None:
        raise ValueError(f"unknown event kind `{value}` (one of {', '.join(_BY_NAME)})")
    return found


def of(detail):
    """The ``types.EventKind`` of an event detail."""
    return _KIND_OF_DETAIL[type(detail)]


def detail_class(variant):
    """The ``types.EventDetail_*`` class of a capture variant name (``FileOpen``), or ``None``."""
    return _DETAIL_OF_VARIANT.get(variant)


def handler_name(kind_value):
    """The :class:`harrier_sdk.Detector` method handling a kind: ``on_exec``, ``on_file_open``."""
    return "on_" + name(kind(kind_value)).replace("-", "_")


def detail_class_of(kind_value):
    """The ``types.EventDetail_*`` class of a kind."""
    return DETAIL_CLASSES[KINDS.index(kind(kind_value))]
