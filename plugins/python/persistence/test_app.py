"""Native tests of the Python persistence detector against the shared capture fixtures.

Run by scripts/build-guests.sh with the generated bindings and sdk/python on PYTHONPATH.
"""

import os
import unittest

from harrier_sdk import ConfigError, FakeHost, Harness

import app

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")


def run(name, config="{}"):
    return Harness(app.Persistence, config).run_fixture(os.path.join(FIXTURES, name))


class PersistenceTest(unittest.TestCase):
    def test_detects_crontab_files_and_fresh_units(self):
        found = run("python-persistence/detect.jsonl")
        self.assertEqual([f.pid for f in found], [1201, 1202, 1203, 1203, 1204])
        self.assertTrue(all(f.finding_type == app.FINDING_TYPE for f in found))
        techniques = [f.mitre_technique for f in found]
        self.assertEqual(techniques, ["T1053.003", "T1053.003", "T1053.003", "T1543.002", "T1543.002"])

    def test_evidence_starts_like_the_rust_sdk(self):
        first = run("python-persistence/detect.jsonl")[0]
        self.assertEqual([(e.key, e.value) for e in first.evidence], [
            ("exe", "/usr/bin/crontab"), ("comm", "crontab"), ("rule", "crontab installed"),
            ("cmdline", "crontab -"), ("crontab_source", "-")])

    def test_benign_workload_is_quiet(self):
        self.assertEqual(run("benign.jsonl"), [])

    def test_configuration(self):
        self.assertEqual(len(run("python-persistence/detect.jsonl", '{"trusted_writers":["curl"]}')), 2)
        self.assertEqual(run("python-persistence/detect.jsonl", '{"disabled_types":["%s"]}' % app.FINDING_TYPE), [])
        self.assertEqual(len(run("python-persistence/detect.jsonl", '{"allow_paths":["/etc/cron.d/*"]}')), 4)
        with self.assertRaisesRegex(ValueError, "unknown field `nope`"):
            app.Persistence('{"nope": 1}', FakeHost())
        with self.assertRaisesRegex(ConfigError, "trusted_writers"):
            app.Persistence('{"trusted_writers": "x"}', FakeHost())

    def test_self_test_passes(self):
        self.assertIsNone(app.Persistence.self_test())

    def test_component_exports(self):
        world = app.WitWorld()
        self.assertEqual(world.metadata().finding_types, [app.FINDING_TYPE])
        self.assertEqual(world.read_path_prefixes(), [])
        world.self_test()


if __name__ == "__main__":
    unittest.main()
