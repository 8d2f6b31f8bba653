"""The base class of a detector: what it is (class attributes), its
configuration, and event dispatch by kind to ``on_<kind>`` methods.

A detector is a subclass::

    class MyDetector(Detector):
        name = "my-detector"
        version = "0.1.0"
        description = "What it finds."
        subscriptions = ["exec"]              # capture names or types.EventKind
        specs = [SPEC]                        # every FindingSpec it may emit
        defaults = {"names": ["x"]}           # its own configuration keys
        self_test_fixture = include_text(__file__, "fixtures/detect.jsonl")

        def on_exec(self, event, exec_event):
            ...                               # return None, a finding, a builder or a list

``harrier_sdk.export(MyDetector)`` turns it into the component's exports.
"""

from . import kinds
from .config import checker_for, parse
from .finding import metadata, validate_specs
from .testing import collect, self_test


def _real_host():
    from wit_world.imports import host

    return host


class Detector:
    """Base class of a detector; see the module documentation.

    An instance is built from the JSON configuration and the host to ask
    (``wit_world.imports.host`` in the component, a
    :class:`harrier_sdk.FakeHost` in tests). It has ``self.policy`` (the
    shared keys, a :class:`harrier_sdk.Policy`), ``self.config`` (its own
    keys as attributes) and ``self.host``.
    """

    #: Detector name (kebab-case).
    name = ""
    #: Its version.
    version = "0.1.0"
    #: One sentence on what it finds.
    description = ""
    #: Event kinds it subscribes to: capture names (``"file-open"``) or ``types.EventKind``.
    subscriptions = ()
    #: Every :class:`harrier_sdk.FindingSpec` it may emit.
    specs = ()
    #: Its own configuration keys and their defaults (the default's type is the key's).
    defaults = {}
    #: The capture the built-in self-test runs (``None``: no self-test).
    self_test_fixture = None
    #: The configuration of the self-test.
    self_test_config = "{}"
    #: The finding types the self-test must give exactly (``None``: every spec's).
    self_test_types = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for k in cls.subscriptions:
            kinds.kind(k)
        validate_specs(cls.specs)
        for key, default in cls.defaults.items():
            checker_for(key, default)
        cls._handlers = {kinds.detail_class_of(k): kinds.handler_name(k)
                         for k in kinds.KINDS if hasattr(cls, kinds.handler_name(k))}

    def __init__(self, config="{}", host=None):
        #: What the detector asks: the real host module or a fake.
        self.host = host if host is not None else _real_host()
        self.policy, self.config = parse(config, self.defaults, self.host)
        self._dispatch = {cls: getattr(self, name) for cls, name in self._handlers.items()}
        self.setup()

    def setup(self):
        """Called at the end of construction, with ``self.config`` parsed; override to precompute."""

    @classmethod
    def metadata(cls):
        """The ``types.Metadata`` the host asks for."""
        return metadata(cls.name, cls.version, cls.description, cls.subscriptions, cls.specs)

    def read_path_prefixes(self):
        """Path prefixes of the read-only opens wanted (``None``, the default: every open)."""
        return None

    def on_event(self, event):
        """One event: calls ``on_<kind>(event, detail)`` (``on_exec``,
        ``on_file_open``, ...) if the class defines it."""
        handler = self._dispatch.get(type(event.detail))
        if handler is None:
            return None
        return handler(event, event.detail.value)

    def on_events(self, events):
        """A batch, in order: the findings of :meth:`on_event` for each event."""
        out = []
        for event in events:
            result = self.on_event(event)
            if result is not None:
                collect(result, out)
        return out

    def on_tick(self, now_ns):
        """Periodic call, for windowed or pending logic; returns like a handler."""
        return None

    def tick(self, now_ns):
        """The findings of :meth:`on_tick`."""
        return collect(self.on_tick(now_ns))

    def snapshot(self):
        """State to carry across a hot reload, as bytes (empty: stateless)."""
        return b""

    def restore(self, state):
        """Restore what :meth:`snapshot` of a previous version wrote; ``ValueError`` refuses it."""

    @classmethod
    def self_test(cls):
        """The built-in self-test: :func:`harrier_sdk.self_test` over
        ``self_test_fixture``; raises :class:`harrier_sdk.SelfTestError`."""
        if cls.self_test_fixture is None:
            return
        expected = cls.self_test_types
        if expected is None:
            expected = [s.finding_type for s in cls.specs]
        self_test(cls, cls.self_test_config, cls.self_test_fixture, expected)
