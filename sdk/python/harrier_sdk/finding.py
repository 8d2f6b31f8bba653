"""Finding specifications (the static facts about a finding type) and a
builder that fills a ``types.Finding`` from an event, as the Rust SDK's
``FindingSpec`` and ``FindingBuilder`` do: the same evidence in the same
order whichever language a detector is written in.
"""

import math
from dataclasses import dataclass

from wit_world.imports import types

from . import kinds


def number_text(value):
    """A number as Rust prints an ``f32``: ``6`` for 6.0, ``10.5``, ``NaN``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == int(value):
        return str(int(value))
    return repr(value)


class Severity:
    """A severity on GuardDuty's 1.0-10.0 scale (Low, Medium, High, Critical)."""

    def __init__(self, value):
        if not 1.0 <= value <= 10.0:
            raise ValueError(f"severity {number_text(value)} is outside GuardDuty's 1.0-10.0 scale")
        #: The number.
        self.value = float(value)

    @property
    def label(self):
        """GuardDuty's label: Low, Medium, High or Critical."""
        if self.value >= 9.0:
            return "Critical"
        if self.value >= 7.0:
            return "High"
        if self.value >= 4.0:
            return "Medium"
        return "Low"


def _is_digits(text):
    return bool(text) and all("0" <= c <= "9" for c in text)


@dataclass(frozen=True)
class FindingSpec:
    """The static facts about one finding type a detector emits."""

    #: ``Tactic:Runtime/Name``, GuardDuty's name where one exists.
    finding_type: str
    #: Default severity, 1.0-10.0.
    severity: float
    #: Short title.
    title: str
    #: What the finding means.
    description: str
    #: MITRE ATT&CK technique id, e.g. ``T1496`` or ``T1055.008``.
    mitre: str

    def validate(self):
        """Check the type name's shape, the severity range and the technique
        id's shape; raises ``ValueError`` with Rust's ``FindingSpec::validate`` message."""
        t = self.finding_type
        tactic, colon, rest = t.partition(":")
        if not colon:
            raise ValueError(f"finding type `{t}` has no `Tactic:` prefix")
        if not rest.startswith("Runtime/"):
            raise ValueError(f"finding type `{t}` is not `{tactic}:Runtime/Name`")
        name = rest[len("Runtime/"):]
        if not tactic or not name or not all(c.isascii() and c.isalpha() for c in tactic):
            raise ValueError(f"finding type `{t}` is not `Tactic:Runtime/Name`")
        try:
            Severity(self.severity)
        except ValueError as e:
            raise ValueError(f"{t}: {e}") from None
        m = self.mitre
        id_ok = (len(m) >= 5 and m[0] == "T" and _is_digits(m[1:5])
                 and (len(m) == 5 or (len(m) == 9 and m[5] == "." and _is_digits(m[6:]))))
        if not id_ok:
            raise ValueError(f"{t}: MITRE technique `{m}` is not T1234 or T1234.001")
        if not self.title or not self.description:
            raise ValueError(f"{t}: title and description are required")


def validate_specs(specs):
    """Validate every spec, and that no finding type appears twice."""
    seen = set()
    for s in specs:
        s.validate()
        if s.finding_type in seen:
            raise ValueError(f"finding type `{s.finding_type}` is listed twice")
        seen.add(s.finding_type)


def metadata(name, version, description, subscriptions, specs):
    """A detector's ``types.Metadata`` from its specs; ``subscriptions`` are
    ``types.EventKind`` members or their capture names (``"file-open"``)."""
    return types.Metadata(
        name=name,
        version=version,
        description=description,
        subscriptions=[kinds.kind(k) for k in subscriptions],
        finding_types=[s.finding_type for s in specs],
    )


class FindingBuilder:
    """Fills a finding of ``spec``'s type about ``event``'s process, citing
    the event, with the executable and command name as evidence and each
    path the process gave with dot segments as it gave it
    (``<field>_as_given``: the event's fields show it folded).

    Every method but :meth:`build` returns the builder, so calls chain.
    """

    def __init__(self, spec, event=None):
        self.finding = types.Finding(
            finding_type=spec.finding_type,
            severity=float(spec.severity),
            title=spec.title,
            description=spec.description,
            mitre_technique=spec.mitre,
            pid=0,
            event_seqs=[],
            evidence=[],
        )
        if event is not None:
            self.finding.pid = event.process.pid
            self.finding.event_seqs.append(event.seq)
            self.evidence("exe", event.process.exe)
            self.evidence("comm", event.process.comm)
            if event.fidelity is not None:
                for given in event.fidelity.folded:
                    self.evidence(given.field.replace("-", "_") + "_as_given", given.escaped)

    @classmethod
    def about_pid(cls, spec, pid):
        """A finding about ``pid`` citing no event yet (for ``tick``)."""
        builder = cls(spec)
        builder.finding.pid = pid
        return builder

    def title(self, title):
        """Replace the title (e.g. to name the tool)."""
        self.finding.title = title
        return self

    def severity(self, severity):
        """Override the severity (a :class:`Severity` or a number, checked)."""
        if not isinstance(severity, Severity):
            severity = Severity(severity)
        self.finding.severity = severity.value
        return self

    def technique(self, mitre):
        """Cite another MITRE technique than the spec's."""
        self.finding.mitre_technique = mitre
        return self

    def evidence(self, key, value):
        """Add a key/value piece of evidence (skipped when ``value`` is empty or ``None``)."""
        if value is not None and value != "":
            self.finding.evidence.append(types.Evidence(key=key, value=str(value)))
        return self

    def event_seq(self, seq):
        """Cite one more event."""
        if seq not in self.finding.event_seqs:
            self.finding.event_seqs.append(seq)
        return self

    def build(self):
        """The ``types.Finding``."""
        return self.finding
