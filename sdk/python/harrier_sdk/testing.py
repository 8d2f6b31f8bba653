"""Test support: a harness around a detector with a fake host, and the
self-test runner a detector's ``self_test`` uses (the Rust SDK's ``testing``).

The harness feeds events to the detector under a :class:`FakeHost` that
learns processes and recent writes from the same events, as the host's
enrichment does, and holds back the file opens the detector's
``read_path_prefixes`` does not want, as the host does.
"""

import json

from wit_world.imports import types

from . import capture
from .fake import FakeHost, process_info  # noqa: F401  (process_info is part of this module's API)
from .finding import FindingBuilder, Severity
from .open_interest import wants_open


class SelfTestError(Exception):
    """A self-test that failed; the message says why."""


def collect(result, out=None):
    """The findings in what a handler returned: ``None``, a
    ``types.Finding``, a :class:`FindingBuilder`, or an iterable of them."""
    out = [] if out is None else out
    if result is None:
        return out
    if isinstance(result, FindingBuilder):
        out.append(result.build())
    elif isinstance(result, types.Finding):
        out.append(result)
    else:
        for item in result:
            collect(item, out)
    return out


def types_of(findings):
    """The finding types of ``findings``, sorted."""
    return sorted(f.finding_type for f in findings)


def medium_or_worse(findings):
    """Findings at Medium (4.0) or worse, as ``type (severity) pid evidence`` lines."""
    return [f"{f.finding_type} ({f.severity}) pid {f.pid} {[(e.key, e.value) for e in f.evidence]}"
            for f in findings if f.severity >= 4.0]


def check_findings(declared, findings):
    """Check findings against what the host expects: a valid severity, a
    type declared in the metadata, at least one cited event. Raises
    :class:`SelfTestError`."""
    for f in findings:
        try:
            Severity(f.severity)
        except ValueError as e:
            raise SelfTestError(f"{f.finding_type}: {e}") from None
        if f.finding_type not in declared:
            raise SelfTestError(f"finding type `{f.finding_type}` is not declared in metadata()")
        if not f.event_seqs:
            raise SelfTestError(f"{f.finding_type} cites no event")


class Harness:
    """A detector under test with its fake host (``harness.host``)."""

    def __init__(self, detector_class, config="{}", host=None):
        #: The :class:`FakeHost` the detector asks.
        self.host = host if host is not None else FakeHost()
        #: The detector, built from ``config`` (a ``ConfigError`` if refused).
        self.detector = detector_class(config, self.host)
        #: Whether the fake host learns from the events fed (default true).
        self.observe = True

    def run(self, events):
        """Feed a batch (the fake host learns from it first, as the host's
        enrichment runs before detectors) and return the findings."""
        if self.observe:
            for e in events:
                self.host.observe(e)
        prefixes = self.detector.read_path_prefixes()
        if prefixes is not None:
            events = [e for e in events
                      if not isinstance(e.detail, types.EventDetail_FileOpen)
                      or wants_open(prefixes, e.detail.value.path, e.detail.value.flags)]
        return collect(self.detector.on_events(events))

    def run_capture(self, text):
        """Feed a capture's text as one batch, after adding the indicators
        its header declares to the fake host."""
        events = capture.parse(text)
        self.host.indicators.extend(capture.indicators(text))
        return self.run(events)

    def run_fixture(self, path):
        """Feed a capture file as one batch (see :meth:`run_capture`)."""
        with open(path, encoding="utf-8") as f:
            text = f.read()
        try:
            return self.run_capture(text)
        except capture.CaptureError as e:
            raise capture.CaptureError(f"{path}: {e}") from None

    def tick(self, now_ns):
        """Call ``tick`` at ``now_ns`` (also the fake clock)."""
        self.host.clock_ns = now_ns
        return collect(self.detector.tick(now_ns))


def self_test(detector_class, config_json, fixture_text, expected_types, prepare=None):
    """A detector's self-test: run a fresh instance (built from
    ``config_json``) over the capture ``fixture_text`` under a fake host that
    learnt from the capture (plus the indicators its header declares, and
    whatever ``prepare(host)`` adds), tick once after the last event, and
    check the findings (see :func:`check_findings`) and that their types are
    exactly ``expected_types`` (order ignored). Returns the findings; raises
    :class:`SelfTestError`."""
    try:
        events = capture.parse(fixture_text)
        declared_indicators = capture.indicators(fixture_text)
    except capture.CaptureError as e:
        raise SelfTestError(f"self-test fixture: {e}") from None
    host = FakeHost()
    try:
        h = Harness(detector_class, config_json, host)
    except ValueError as e:
        raise SelfTestError(f"self-test config: {e}") from None
    for e in events:
        host.observe(e)
    host.indicators = declared_indicators
    if prepare is not None:
        prepare(host)
    h.observe = False
    findings = h.run(events)
    last = events[-1].time_ns if events else 0
    findings.extend(h.tick(last + 1))
    check_findings(detector_class.metadata().finding_types, findings)
    got = types_of(findings)
    want = sorted(expected_types)
    if got != want:
        raise SelfTestError(f"self-test: expected findings {json.dumps(want)}, got {json.dumps(got)}")
    return findings
