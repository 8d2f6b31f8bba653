"""The Detector base class and the component exports."""

import unittest

from componentize_py_types import Err
from wit_world.imports import types

from harrier_sdk import Detector, FakeHost, FindingSpec, export, kinds, state

from .support import SPEC, Watch, exec_event, open_event


class Counting(Detector):
    """Counts execs and carries the count across a reload."""

    name = "counting"
    subscriptions = [types.EventKind.EXEC]
    specs = [SPEC]
    defaults = {"start": 0}

    def setup(self):
        self.count = self.config.start

    def on_exec(self, event, ex):
        self.count += 1

    def snapshot(self):
        return state.save({"count": self.count})

    def restore(self, data):
        self.count = state.load(data, {"count": self.count})["count"]


class DetectorTest(unittest.TestCase):
    def test_metadata_from_class_attributes(self):
        meta = Watch.metadata()
        self.assertEqual((meta.name, meta.version, meta.description), ("watch", "1.2.3", "test detector"))
        self.assertEqual(meta.subscriptions, [types.EventKind.EXEC, types.EventKind.FILE_OPEN])
        self.assertEqual(meta.finding_types, [SPEC.finding_type])

    def test_dispatches_by_kind_and_collects_findings(self):
        d = Watch("{}", FakeHost())
        found = d.on_events([exec_event(seq=1), exec_event(seq=2, filename="/bin/ls"), open_event(3, "/etc/x")])
        self.assertEqual([f.event_seqs for f in found], [[1], [3]])
        self.assertEqual([(e.key, e.value) for e in found[0].evidence],
                         [("exe", "/bin/sh"), ("comm", "sh"), ("filename", "/usr/bin/true")])
        self.assertEqual(d.tick(5), [])
        self.assertEqual(d.config.names, ["true"])
        self.assertEqual(Watch('{"names":["ls"]}', FakeHost()).on_events([exec_event(filename="/bin/ls")])[0].pid, 10)

    def test_class_definitions_are_checked(self):
        with self.assertRaisesRegex(ValueError, "unknown event kind `exce`"):
            type("Bad", (Detector,), {"subscriptions": ["exce"]})
        bad_spec = FindingSpec(finding_type="Nope", severity=5.0, title="t", description="d", mitre="T1059")
        with self.assertRaisesRegex(ValueError, "has no `Tactic:` prefix"):
            type("Bad", (Detector,), {"specs": [bad_spec]})
        with self.assertRaisesRegex(TypeError, "configuration key `m`"):
            type("Bad", (Detector,), {"defaults": {"m": {}}})

    def test_kinds_line_up_with_detail_classes(self):
        self.assertEqual(len(kinds.KINDS), len(kinds.DETAIL_CLASSES))
        for kind, cls in zip(kinds.KINDS, kinds.DETAIL_CLASSES):
            camel = "".join(part.capitalize() for part in kinds.name(kind).split("-"))
            self.assertEqual(cls.__name__, "EventDetail_" + camel)
            self.assertIs(kinds.detail_class(camel), cls)
            self.assertIs(kinds.from_name(kinds.name(kind)), kind)
        self.assertEqual(kinds.handler_name("file-open"), "on_file_open")
        self.assertIsNone(kinds.from_name("nope"))


class ExportTest(unittest.TestCase):
    def world(self, cls):
        return export(cls)()

    def test_init_refuses_a_bad_configuration_naming_the_key(self):
        world = self.world(Watch)
        with self.assertRaises(Err) as ctx:
            world.init('{"nmes": []}')
        self.assertEqual(ctx.exception.value, "invalid configuration: `nmes`: unknown field `nmes`, expected `names`")
        world.init('{"names": ["true"]}')
        self.assertEqual(world.read_path_prefixes(), ["/etc/"])
        self.assertEqual(world.metadata().name, "watch")

    def test_self_test_and_state(self):
        world = self.world(Counting)
        world.init('{"start": 2}')
        world.self_test()
        self.assertEqual(world.snapshot(), b'{"count":2}')
        fresh = self.world(Counting)
        fresh.init("{}")
        fresh.restore(b'{"count":7}')
        self.assertEqual(fresh.snapshot(), b'{"count":7}')
        with self.assertRaises(Err) as ctx:
            fresh.restore(b"{")
        self.assertTrue(ctx.exception.value.startswith("bad snapshot"))
        self.assertIsNone(world.read_path_prefixes())

    def test_a_failing_self_test_is_an_err(self):
        class Quiet(Watch):
            self_test_config = '{"names":["nothing"]}'

        with self.assertRaises(Err) as ctx:
            self.world(Quiet).self_test()
        self.assertTrue(ctx.exception.value.startswith("self-test: expected findings"))

    def test_init_turns_a_bug_into_an_err_naming_it(self):
        class Broken(Watch):
            def setup(self):
                raise KeyError("oops")

        with self.assertRaises(Err) as ctx:
            self.world(Broken).init("{}")
        self.assertEqual(ctx.exception.value, "KeyError: 'oops'")


if __name__ == "__main__":
    unittest.main()
