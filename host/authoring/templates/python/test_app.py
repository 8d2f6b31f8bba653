"""Native tests of {{name}}; `make test` runs them with the bindings in build/."""

import os
import unittest

from harrier_sdk import ConfigError, FakeHost, Harness

import app

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "detect.jsonl")


class {{pascal}}Test(unittest.TestCase):
    def test_the_fixture_gives_one_finding(self):
        (finding,) = Harness(app.{{pascal}}).run_fixture(FIXTURE)
        self.assertEqual(finding.finding_type, "Execution:Runtime/{{pascal}}")
        self.assertEqual([(e.key, e.value) for e in finding.evidence], [
            ("exe", "/usr/local/bin/kubectl"),
            ("comm", "kubectl"),
            ("filename", "/usr/local/bin/kubectl"),
            ("cmdline", "kubectl exec -it web-0 -- sh"),
        ])

    def test_an_unknown_key_is_refused(self):
        with self.assertRaisesRegex(ConfigError, "unknown field `program`"):
            app.{{pascal}}('{"program": ["ls"]}', FakeHost())

    def test_programs_overrides_the_default(self):
        found = Harness(app.{{pascal}}, '{"programs": ["ls"]}').run_fixture(FIXTURE)
        self.assertEqual([f.evidence[-1].value for f in found], ["ls -l"])

    def test_self_test_passes(self):
        app.{{pascal}}.self_test()


if __name__ == "__main__":
    unittest.main()
