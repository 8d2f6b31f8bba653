"""Write Harrier detectors in Python (componentize-py).

A detector is a small :class:`Detector` subclass; ``WitWorld =
export(MyDetector)`` in ``app.py`` makes it the component's exports. The
rest mirrors the Rust SDK (``sdk/src``) so a detector behaves the same in
either language:

- :mod:`~harrier_sdk.config`: the JSON configuration, the shared
  :class:`Policy` keys and the detector's own keys, errors naming the key;
- :mod:`~harrier_sdk.finding`: :class:`FindingSpec` and
  :class:`FindingBuilder` (same evidence, same order as Rust's);
- :mod:`~harrier_sdk.capture`: captures (``harrier record``) into the
  ``wit_world.imports.types`` dataclasses;
- :mod:`~harrier_sdk.fake`: :class:`FakeHost`, to give a detector instead
  of ``wit_world.imports.host``;
- :mod:`~harrier_sdk.testing`: :class:`Harness` and :func:`self_test`;
- :mod:`~harrier_sdk.kinds`, :mod:`~harrier_sdk.matching`,
  :mod:`~harrier_sdk.state`, :mod:`~harrier_sdk.open_interest`: helpers.

The package needs the componentize-py bindings (``wit_world``,
``componentize_py_types``) on the import path: componentize-py provides
them in the component; for native tests generate them with
``componentize-py -d wit -w detector bindings DIR``.
"""

from .capture import CaptureError
from .capture import load as load_capture
from .capture import parse as parse_capture
from .config import ConfigError, Policy
from .detector import Detector
from .embed import include_text
from .export import export
from .fake import FakeHost, FakeIndicator, process_info
from .finding import FindingBuilder, FindingSpec, Severity, metadata, validate_specs
from .globs import GlobList
from .matching import basename, is_shell
from .testing import Harness, SelfTestError, self_test

#: The WIT package version this SDK speaks.
WIT_VERSION = "0.2.0"

__all__ = [
    "CaptureError", "ConfigError", "Detector", "FakeHost", "FakeIndicator", "FindingBuilder",
    "FindingSpec", "GlobList", "Harness", "Policy", "SelfTestError", "Severity", "WIT_VERSION",
    "basename", "export", "include_text", "is_shell", "load_capture", "metadata",
    "parse_capture", "process_info", "self_test", "validate_specs",
]
