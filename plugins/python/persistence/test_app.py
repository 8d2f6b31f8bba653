"""Native tests of the Python persistence detector against the shared capture fixtures.

Run by scripts/build-guests.sh with the generated bindings on PYTHONPATH.
"""

import os
import unittest

import app

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")


def load(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return app.events_from_capture(f.read())


def run(name, config="{}"):
    events = load(name)
    detector = app.Persistence(config, app.FakeHost(events))
    return [f for f in (detector.on_event(e) for e in events) if f is not None]


class PersistenceTest(unittest.TestCase):
    def test_detects_crontab_files_and_fresh_units(self):
        found = run("python-persistence/detect.jsonl")
        self.assertEqual([f.pid for f in found], [1201, 1202, 1203, 1203, 1204])
        self.assertTrue(all(f.finding_type == app.FINDING_TYPE for f in found))
        techniques = [f.mitre_technique for f in found]
        self.assertEqual(techniques, ["T1053.003", "T1053.003", "T1053.003", "T1543.002", "T1543.002"])

    def test_benign_workload_is_quiet(self):
        self.assertEqual(run("benign.jsonl"), [])

    def test_configuration(self):
        self.assertEqual(len(run("python-persistence/detect.jsonl", '{"trusted_writers":["curl"]}')), 2)
        self.assertEqual(run("python-persistence/detect.jsonl", '{"disabled_types":["%s"]}' % app.FINDING_TYPE), [])
        with self.assertRaisesRegex(ValueError, "unknown field `nope`"):
            app.parse_config('{"nope": 1}')
        with self.assertRaisesRegex(ValueError, "trusted_writers"):
            app.parse_config('{"trusted_writers": "x"}')

    def test_self_test_passes(self):
        self.assertIsNone(app.run_self_test())


if __name__ == "__main__":
    unittest.main()
