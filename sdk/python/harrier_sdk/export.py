"""The component's exports: a ``WitWorld`` class, the protocol
componentize-py implements, around a :class:`harrier_sdk.Detector` subclass.

``WitWorld = export(MyDetector)`` in the application module (``app.py``) is
all a detector needs. ``init`` builds the detector from its configuration
with the real host (a refused configuration raises
``componentize_py_types.Err`` with the message, which refuses the plugin);
calls before ``init`` use the default configuration ``{}``, as the Rust
SDK does.
"""

import wit_world
from componentize_py_types import Err
from wit_world.imports import host, types

from .testing import SelfTestError, collect


def _message(error):
    """What the host is told: the message of a refusal, the type too of a bug."""
    if isinstance(error, (ValueError, SelfTestError)):
        return str(error)
    return f"{type(error).__name__}: {error}"


def export(detector_class):
    """The ``WitWorld`` class exporting ``detector_class``."""
    slot = {}

    def current():
        detector = slot.get("detector")
        if detector is None:
            try:
                detector = slot["detector"] = detector_class("{}", host)
            except Exception as e:  # noqa: BLE001 - reported to the host's log
                host.log(types.LogLevel.ERROR,
                         f"called before init and the default configuration fails: {_message(e)}")
        return detector

    class WitWorld(wit_world.WitWorld):
        """The exported ``detector`` world."""

        def metadata(self):
            return detector_class.metadata()

        def init(self, config):
            try:
                slot["detector"] = detector_class(config, host)
            except Exception as e:  # noqa: BLE001 - refuses the plugin, naming the error
                raise Err(_message(e))

        def read_path_prefixes(self):
            detector = current()
            return detector.read_path_prefixes() if detector is not None else None

        def on_events(self, events):
            detector = current()
            return collect(detector.on_events(events)) if detector is not None else []

        def tick(self, now_ns):
            detector = current()
            return collect(detector.tick(now_ns)) if detector is not None else []

        def self_test(self):
            try:
                detector_class.self_test()
            except Exception as e:  # noqa: BLE001 - fails the self-test, naming the error
                raise Err(_message(e))

        def snapshot(self):
            detector = current()
            return bytes(detector.snapshot()) if detector is not None else b""

        def restore(self, state):
            detector = current()
            if detector is None:
                raise Err("the detector could not be built from its default configuration")
            try:
                detector.restore(state)
            except Exception as e:  # noqa: BLE001 - refuses the state, naming the error
                raise Err(_message(e))

    WitWorld.__module__ = detector_class.__module__
    return WitWorld
