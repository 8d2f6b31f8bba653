"""Detector configuration: the JSON object the host hands to ``init``.

The shared keys every detector takes are parsed into a :class:`Policy`; the
rest are the detector's own keys, declared as a dict of defaults (the type
of each default is the key's type: ``bool``, ``int`` (an unsigned integer),
``float``, ``str`` or a list of ``str``). Unknown keys and values of the
wrong type are refused with a :class:`ConfigError` naming the key, worded
like the Rust SDK's (serde's) errors, so typos never silently switch a rule
off.

=====================  ======  =============================================
key                    type    meaning
=====================  ======  =============================================
``allow_executables``  globs   never report processes whose executable matches
``allow_parents``      globs   never report processes with an ancestor (up to 4) whose executable matches
``allow_paths``        globs   never report about a file path that matches
``containers_only``    bool    only report processes running in a container
``disabled_types``     list    finding types not to report
=====================  ======  =============================================
"""

import json
from types import SimpleNamespace

from .globs import GlobList

#: How far up the ancestry ``allow_parents`` looks.
PARENT_DEPTH = 4


class ConfigError(ValueError):
    """Why a configuration was refused; ``str()`` is ``invalid configuration: ...``."""

    def __init__(self, reason):
        super().__init__(f"invalid configuration: {reason}")
        #: The message without the ``invalid configuration:`` prefix.
        self.reason = reason


class Policy:
    """The allow-lists and switches every detector shares.

    ``host`` answers ``ancestry`` for ``allow_parents`` (the real host
    module, or a :class:`harrier_sdk.fake.FakeHost`).
    """

    def __init__(self, allow_executables=(), allow_parents=(), allow_paths=(),
                 containers_only=False, disabled_types=(), host=None):
        self.allow_executables = GlobList(allow_executables)
        self.allow_parents = GlobList(allow_parents)
        self.allow_paths = GlobList(allow_paths)
        self.containers_only = containers_only
        self.disabled_types = list(disabled_types)
        self.host = host

    def permits(self, finding_type, process, path=None):
        """Whether a finding of ``finding_type`` about ``process`` (a
        ``types.Process``), and optionally a file ``path``, should be
        reported. Checks the cheap rules first; the ancestry is only asked
        for when ``allow_parents`` is set."""
        if self.containers_only and process.container_id is None:
            return False
        if finding_type in self.disabled_types:
            return False
        if self.allow_executables.matches(process.exe):
            return False
        if path is not None and self.allow_paths.matches(path):
            return False
        if self.allow_parents:
            ancestors = self.host.ancestry(process.pid, PARENT_DEPTH)
            if any(self.allow_parents.matches(a.exe) for a in ancestors):
                return False
        return True


# --- value checks, worded like serde's errors --------------------------------

class _Invalid(Exception):
    """A value refused at ``path`` (inside the key)."""

    def __init__(self, path, message):
        super().__init__(message)
        self.path = path
        self.message = message


def _float_text(v):
    if v == v and abs(v) < 1e16 and v == int(v):
        return f"{int(v)}.0"
    return repr(v)


def unexpected(value):
    """How serde names a JSON value it did not expect (``string "x"``, ``integer `3```)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{'true' if value else 'false'}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{_float_text(value)}`"
    if isinstance(value, str):
        return "string " + json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "sequence"
    return "map"


def _wrong(path, value, expected):
    return _Invalid(path, f"invalid type: {unexpected(value)}, expected {expected}")


def _check_bool(path, value):
    if not isinstance(value, bool):
        raise _wrong(path, value, "a boolean")
    return value


def _check_uint(path, value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong(path, value, "u64")
    if not 0 <= value < 1 << 64:
        raise _Invalid(path, f"invalid value: integer `{value}`, expected u64")
    return value


def _check_float(path, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _wrong(path, value, "f64")
    return float(value)


def _check_string(path, value):
    if not isinstance(value, str):
        raise _wrong(path, value, "a string")
    return value


def _check_strings(path, value):
    if not isinstance(value, list):
        raise _wrong(path, value, "a sequence")
    return [_check_string(f"{path}[{i}]", v) for i, v in enumerate(value)]


def checker_for(key, default):
    """The check for a key whose default is ``default``; ``TypeError`` for an unsupported type."""
    if isinstance(default, bool):
        return _check_bool
    if isinstance(default, int):
        return _check_uint
    if isinstance(default, float):
        return _check_float
    if isinstance(default, str):
        return _check_string
    if isinstance(default, (list, tuple)) and all(isinstance(v, str) for v in default):
        return _check_strings
    raise TypeError(f"configuration key `{key}`: unsupported default {default!r} "
                    "(a bool, int, float, str or list of str)")


def _one_of(names):
    quoted = [f"`{n}`" for n in names]
    if not quoted:
        return None
    if len(quoted) == 1:
        return quoted[0]
    if len(quoted) == 2:
        return f"{quoted[0]} or {quoted[1]}"
    return "one of " + ", ".join(quoted)


def _read_keys(given, defaults):
    """``defaults`` overridden by the keys of ``given`` (checked in sorted
    order, as serde meets them), refusing unknown keys."""
    checks = {k: checker_for(k, d) for k, d in defaults.items()}
    values = {k: list(v) if isinstance(v, (list, tuple)) else v for k, v in defaults.items()}
    for key in sorted(given):
        if key not in defaults:
            expected = _one_of(list(defaults))
            tail = f"expected {expected}" if expected else "there are no fields"
            raise ConfigError(f"`{key}`: unknown field `{key}`, {tail}")
        try:
            values[key] = checks[key](key, given[key])
        except _Invalid as e:
            raise ConfigError(f"`{e.path}`: {e.message}") from None
    return values


#: The shared keys and their defaults.
POLICY_DEFAULTS = {
    "allow_executables": [],
    "allow_parents": [],
    "allow_paths": [],
    "containers_only": False,
    "disabled_types": [],
}


def parse(text, defaults=None, host=None):
    """Parse a configuration: returns ``(policy, own)``, where ``own`` has
    one attribute per key of ``defaults`` (the detector's own keys).

    ``host`` is what the policy asks for ancestry. Empty text is ``{}``.
    Raises :class:`ConfigError`.
    """
    defaults = defaults or {}
    if not text or not text.strip():
        text = "{}"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    if not isinstance(value, dict):
        raise ConfigError("the configuration must be a JSON object")
    shared = {k: value.pop(k) for k in list(value) if k in POLICY_DEFAULTS}
    policy = Policy(host=host, **_read_keys(shared, POLICY_DEFAULTS))
    own = SimpleNamespace(**_read_keys(value, defaults))
    return policy, own
