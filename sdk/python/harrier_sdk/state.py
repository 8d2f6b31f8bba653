"""Carrying a detector's state across a hot reload: serialise it in
``snapshot``, read it back in ``restore`` (JSON, like the Rust SDK's ``state``)."""

import json


def save(state):
    """``state`` (anything JSON can hold) as snapshot bytes."""
    return json.dumps(state, separators=(",", ":")).encode("utf-8")


def load(data, default=None):
    """The state written by :func:`save`, or ``default`` for an empty
    snapshot (from a stateless previous version); ``ValueError`` if unreadable."""
    if not data:
        return default
    try:
        return json.loads(bytes(data).decode("utf-8"))
    except ValueError as e:
        raise ValueError(f"bad snapshot: {e}") from None
