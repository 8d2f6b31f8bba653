"""The harness and the self-test runner."""

import unittest

from harrier_sdk import Detector, FindingBuilder, FindingSpec, Harness, SelfTestError, self_test
from harrier_sdk.open_interest import wants_open
from harrier_sdk.testing import check_findings, medium_or_worse, types_of

from .support import CAPTURE, SPEC, Watch, exec_event, open_event

OTHER = FindingSpec(finding_type="Discovery:Runtime/Other", severity=2.0, title="t", description="d", mitre="T1083")


class Pending(Detector):
    """Reports on tick what it saw, to check the self-test ticks."""

    name = "pending"
    subscriptions = ["exec"]
    specs = [SPEC]

    def setup(self):
        self.seen = []

    def on_exec(self, event, ex):
        self.seen.append(event)

    def on_tick(self, now_ns):
        return [FindingBuilder(SPEC, e).evidence("now", now_ns) for e in self.seen]


class HarnessTest(unittest.TestCase):
    def test_runs_events_under_a_learning_fake_host(self):
        h = Harness(Watch)
        found = h.run([exec_event(seq=1), open_event(2, "/etc/shadow"), open_event(3, "/usr/lib/x.so")])
        self.assertEqual([f.event_seqs for f in found], [[1], [2]], "the read of /usr/lib is held back")
        self.assertEqual(h.host.process(10).exe, "/usr/bin/true")
        written = h.run([open_event(4, "/usr/lib/x.so", flags=0o1)])
        self.assertEqual(len(written), 1, "writes always arrive")

    def test_run_capture_and_tick(self):
        self.assertEqual(types_of(Harness(Watch).run_capture(CAPTURE)), [SPEC.finding_type])
        h = Harness(Pending)
        self.assertEqual(h.run([exec_event(seq=5)]), [])
        found = h.tick(99)
        self.assertEqual((found[0].event_seqs, found[0].evidence[-1].value, h.host.now_ns()), ([5], "99", 99))

    def test_wants_open_follows_the_contract(self):
        self.assertTrue(wants_open(None, "/any", 0))
        self.assertTrue(wants_open(["/etc/"], "/etc/shadow", 0))
        self.assertFalse(wants_open(["/etc/"], "/usr/lib/x", 0))
        self.assertFalse(wants_open([], "/usr/lib/x", 0))
        self.assertTrue(wants_open([], "/usr/lib/x", 0o100))
        self.assertTrue(wants_open([], "relative", 0))

    def test_medium_or_worse(self):
        low = FindingBuilder(OTHER, exec_event()).build()
        high = FindingBuilder(SPEC, exec_event()).build()
        self.assertEqual(len(medium_or_worse([low, high])), 1)
        self.assertIn("Execution:Runtime/TestThing (5.0) pid 10", medium_or_worse([high])[0])


class SelfTestTest(unittest.TestCase):
    def test_passes_and_returns_the_findings(self):
        found = self_test(Watch, "{}", CAPTURE, [SPEC.finding_type])
        self.assertEqual(len(found), 1)
        self.assertIsNone(Watch.self_test())

    def test_fails_naming_what_differs(self):
        with self.assertRaisesRegex(SelfTestError, r'^self-test: expected findings \[\], got \["Execution:Runtime/TestThing"\]$'):
            self_test(Watch, '{"names":["true"]}', CAPTURE, [])
        with self.assertRaisesRegex(SelfTestError, r"^self-test: expected findings \[\"Execution:Runtime/TestThing\"\], got \[\]$"):
            self_test(Watch, '{"names":["false"]}', CAPTURE, [SPEC.finding_type])
        with self.assertRaisesRegex(SelfTestError, "^self-test config: invalid configuration: `nmes`: unknown field"):
            self_test(Watch, '{"nmes":[]}', CAPTURE, [])
        with self.assertRaisesRegex(SelfTestError, "^self-test fixture: line 1"):
            self_test(Watch, "{}", "{}", [])

    def test_ticks_after_the_last_event(self):
        found = self_test(Pending, "{}", CAPTURE, [SPEC.finding_type])
        self.assertEqual(found[0].evidence[-1].value, "7", "the last event is at 6")

    def test_prepare_adds_to_the_fake_host(self):
        seen = []
        self_test(Watch, "{}", CAPTURE, [SPEC.finding_type], prepare=lambda host: seen.append(host.process(10)))
        self.assertEqual(seen[0].exe, "/usr/bin/true")

    def test_checks_what_the_host_expects(self):
        finding = FindingBuilder(SPEC, exec_event()).build()
        check_findings([SPEC.finding_type], [finding])
        with self.assertRaisesRegex(SelfTestError, "is not declared in metadata"):
            check_findings([OTHER.finding_type], [finding])
        with self.assertRaisesRegex(SelfTestError, "cites no event"):
            check_findings([SPEC.finding_type], [FindingBuilder.about_pid(SPEC, 1).build()])
        loud = FindingBuilder(SPEC, exec_event()).build()
        loud.severity = 12.0
        with self.assertRaisesRegex(SelfTestError, "outside GuardDuty's 1.0-10.0 scale"):
            check_findings([SPEC.finding_type], [loud])


if __name__ == "__main__":
    unittest.main()
