"""Finding specs and the builder: the same checks and evidence as Rust's."""

import unittest

from wit_world.imports import types

from harrier_sdk import FindingBuilder, FindingSpec, Severity, metadata, validate_specs

from .support import SPEC, exec_event, process

GOOD = FindingSpec(finding_type="Impact:Runtime/CryptoMinerExecuted", severity=8.0,
                   title="t", description="d", mitre="T1496")


def spec(**changes):
    fields = dict(finding_type=GOOD.finding_type, severity=GOOD.severity, title=GOOD.title,
                  description=GOOD.description, mitre=GOOD.mitre)
    fields.update(changes)
    return FindingSpec(**fields)


def evidence(finding):
    return [(e.key, e.value) for e in finding.evidence]


class SeverityTest(unittest.TestCase):
    def test_scale_is_enforced(self):
        for bad in (0.5, 10.5, float("nan")):
            with self.assertRaises(ValueError):
                Severity(bad)
        self.assertEqual(Severity(9.0).label, "Critical")
        self.assertEqual(Severity(7.0).label, "High")
        self.assertEqual(Severity(4.0).label, "Medium")
        self.assertEqual(Severity(3.9).label, "Low")
        with self.assertRaisesRegex(ValueError, "^severity 11 is outside GuardDuty's 1.0-10.0 scale$"):
            Severity(11.0)


class SpecTest(unittest.TestCase):
    def test_specs_are_validated(self):
        GOOD.validate()
        spec(mitre="T1055.008").validate()
        cases = [
            (spec(finding_type="CryptoMinerExecuted"), "finding type `CryptoMinerExecuted` has no `Tactic:` prefix"),
            (spec(finding_type="Impact:Cloud/X"), "finding type `Impact:Cloud/X` is not `Impact:Runtime/Name`"),
            (spec(finding_type="Imp4ct:Runtime/X"), "finding type `Imp4ct:Runtime/X` is not `Tactic:Runtime/Name`"),
            (spec(finding_type="Impact:Runtime/"), "is not `Tactic:Runtime/Name`"),
            (spec(severity=11.0), "Impact:Runtime/CryptoMinerExecuted: severity 11 is outside GuardDuty's 1.0-10.0 scale"),
            (spec(mitre="1496"), "MITRE technique `1496` is not T1234 or T1234.001"),
            (spec(mitre="T1496.1"), "is not T1234 or T1234.001"),
            (spec(title=""), "title and description are required"),
        ]
        for bad, message in cases:
            with self.assertRaises(ValueError) as ctx:
                bad.validate()
            self.assertIn(message, str(ctx.exception))
        with self.assertRaisesRegex(ValueError, "twice"):
            validate_specs([GOOD, GOOD])
        validate_specs([GOOD, SPEC])

    def test_metadata_lists_kinds_and_types(self):
        meta = metadata("x", "1.0.0", "d", ["exec", types.EventKind.FILE_OPEN], [GOOD, SPEC])
        self.assertEqual(meta.subscriptions, [types.EventKind.EXEC, types.EventKind.FILE_OPEN])
        self.assertEqual(meta.finding_types, [GOOD.finding_type, SPEC.finding_type])
        with self.assertRaisesRegex(ValueError, "unknown event kind `exce`"):
            metadata("x", "1", "d", ["exce"], [])


class BuilderTest(unittest.TestCase):
    def test_cites_the_event_with_exe_and_comm_first(self):
        f = FindingBuilder(GOOD, exec_event(seq=42, proc=process(pid=7, exe="/tmp/xmrig", comm="xmrig"))) \
            .evidence("cmdline", "xmrig -o pool").evidence("empty", "").evidence("none", None).build()
        self.assertEqual((f.finding_type, f.severity, f.title, f.description, f.mitre_technique),
                         (GOOD.finding_type, 8.0, "t", "d", "T1496"))
        self.assertEqual((f.pid, f.event_seqs), (7, [42]))
        self.assertEqual(evidence(f), [("exe", "/tmp/xmrig"), ("comm", "xmrig"), ("cmdline", "xmrig -o pool")])

    def test_paths_given_with_dot_segments_follow_as_given(self):
        fidelity = types.Fidelity(cut=[], raw=[], folded=[
            types.RawString(field="old-path", escaped="/tmp/../etc/x"),
            types.RawString(field="path", escaped="/etc//shadow"),
        ])
        f = FindingBuilder(GOOD, exec_event(proc=process(exe=""), fidelity=fidelity)).evidence("k", "v").build()
        self.assertEqual(evidence(f), [("comm", "sh"), ("old_path_as_given", "/tmp/../etc/x"),
                                       ("path_as_given", "/etc//shadow"), ("k", "v")])

    def test_overrides_and_pid_findings(self):
        f = FindingBuilder.about_pid(GOOD, 9).title("named").severity(9.5).technique("T1059.004") \
            .event_seq(3).event_seq(3).event_seq(4).build()
        self.assertEqual((f.pid, f.title, f.severity, f.mitre_technique, f.event_seqs, f.evidence),
                         (9, "named", 9.5, "T1059.004", [3, 4], []))
        with self.assertRaises(ValueError):
            FindingBuilder(GOOD).severity(12)
        self.assertEqual(FindingBuilder(GOOD).severity(Severity(2.0)).build().severity, 2.0)


if __name__ == "__main__":
    unittest.main()
