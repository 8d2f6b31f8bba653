"""The fake host: what it learns from events and how it answers."""

import unittest

from wit_world.imports import types

from harrier_sdk import FakeHost, parse_capture, process_info
from harrier_sdk.capture import indicators

from .support import CAPTURE, exec_event, open_event, process


class FakeHostTest(unittest.TestCase):
    def test_learns_processes_and_the_clock_from_a_capture(self):
        host = FakeHost()
        for e in parse_capture(CAPTURE):
            host.observe(e)
        self.assertEqual(host.process(10).exe, "/usr/bin/true")
        self.assertEqual(host.process(10).cmdline, "true")
        self.assertEqual(host.process(10).start_time_ns, 5)
        self.assertEqual(host.now_ns(), 6)
        self.assertIsNone(host.process(11))

    def test_tracks_ancestry_and_writes(self):
        host = FakeHost()
        host.add_process(process_info(1, 0, "/sbin/init")).add_process(process_info(2, 1, "/usr/sbin/sshd")) \
            .add_process(process_info(3, 2, "/bin/bash")).add_recent_write("/tmp/x", 3, 9, True)
        self.assertEqual([p.pid for p in host.ancestry(3, 8)], [2, 1])
        self.assertEqual(len(host.ancestry(3, 1)), 1)
        self.assertEqual(host.ancestry(99, 4), [])
        self.assertEqual(host.recent_write("/tmp/x").writer_exe, "/bin/bash")
        host.add_process(process_info(5, 5, "/loop"))
        self.assertEqual([p.pid for p in host.ancestry(5, 4)], [5])
        host.set_exe_sha256(3, "ab" * 32).set_exe_sha256(42, "cd" * 32)
        self.assertEqual(host.process(3).exe_sha256, "ab" * 32)

    def test_observes_forks_writes_and_renames_like_the_enricher(self):
        host = FakeHost()
        shell = process(pid=20, exe="/bin/sh")
        host.observe(exec_event(proc=shell, filename="/usr/bin/curl", args=["curl", "-o", "x"]))
        fork = types.Event(seq=2, time_ns=7, process=shell,
                           detail=types.EventDetail_Fork(types.ForkEvent(child_pid=21, clone_flags=0)), fidelity=None)
        host.observe(fork)
        self.assertEqual((host.process(21).ppid, host.process(21).exe), (20, "/usr/bin/curl"))
        host.observe(open_event(3, "/etc/cron.d/x", flags=0o1101, proc=shell))
        self.assertTrue(host.recent_write("/etc/cron.d/x").created)
        self.assertEqual(host.recent_write("/etc/cron.d/x").writer_exe, "/usr/bin/curl")
        host.observe(open_event(4, "/etc/passwd", flags=0, proc=shell))
        self.assertIsNone(host.recent_write("/etc/passwd"), "a read is not a write")
        rename = types.Event(seq=5, time_ns=8, process=shell, fidelity=None, detail=types.EventDetail_FileRename(
            types.FilePathPairEvent(old_path="/tmp/a", new_path="/etc/b", result=0)))
        host.observe(rename)
        self.assertTrue(host.recent_write("/etc/b").created)
        write = types.Event(seq=6, time_ns=9, process=shell, fidelity=None,
                            detail=types.EventDetail_FileWrite(types.FileWriteEvent(path="/etc/cron.d/x", bytes=4)))
        host.observe(write)
        self.assertTrue(host.recent_write("/etc/cron.d/x").created, "still the creator's")
        self.assertEqual(host.recent_write("/etc/cron.d/x").time_ns, 9)

    def test_intel_matches_the_most_specific_entry(self):
        header = '{"harrier_capture":1,"wit":"0.1.0","indicators":[{"kind":"domain","value":"*.evil.example","category":"command-and-control"},{"kind":"ip","value":"198.51.100.0/24","category":"tor-relay","source":"list"},{"kind":"ip","value":"198.51.100.7","category":"drop-point"},{"kind":"sha256","value":"AB","category":"custom"}]}'
        host = FakeHost()
        host.indicators = indicators(header)
        hit = host.intel_match(types.IndicatorKind.DOMAIN, "A.Evil.Example.")
        self.assertEqual((hit.category, hit.indicator, hit.source), ("command-and-control", "evil.example", "fixture"))
        self.assertIsNotNone(host.intel_match(types.IndicatorKind.DOMAIN, "evil.example"))
        self.assertIsNone(host.intel_match(types.IndicatorKind.DOMAIN, "notevil.example"))
        self.assertEqual(host.intel_match(types.IndicatorKind.IP, "198.51.100.7").category, "drop-point")
        self.assertEqual(host.intel_match(types.IndicatorKind.IP, "198.51.100.9").source, "list")
        self.assertIsNone(host.intel_match(types.IndicatorKind.IP, "198.51.101.9"))
        self.assertIsNone(host.intel_match(types.IndicatorKind.IP, "not an address"))
        self.assertIsNone(host.intel_match(types.IndicatorKind.SHA256, "198.51.100.7"))
        self.assertEqual(host.intel_match(types.IndicatorKind.SHA256, "ab").category, "custom")
        host.add_indicator("ip", "2001:db8::/32", "malicious")
        self.assertEqual(host.intel_match(types.IndicatorKind.IP, "2001:db8::1").category, "malicious")
        self.assertIsNone(host.intel_match(types.IndicatorKind.IP, "2001:db9::1"))

    def test_log_lines_are_kept(self):
        host = FakeHost()
        host.log(types.LogLevel.WARN, "careful")
        self.assertEqual(host.logs, [(types.LogLevel.WARN, "careful")])


if __name__ == "__main__":
    unittest.main()
