"""Capture loading into the WIT dataclasses."""

import glob
import os
import unittest

from wit_world.imports import types

from harrier_sdk import CaptureError, load_capture, parse_capture
from harrier_sdk.capture import event_from_json, indicators

from .support import CAPTURE, FIXTURES


class CaptureTest(unittest.TestCase):
    def test_reads_the_capture_format(self):
        events = parse_capture(CAPTURE)
        self.assertEqual(len(events), 2)
        first, second = events
        self.assertIsInstance(first.detail, types.EventDetail_Exec)
        self.assertEqual(first.detail.value.args, ["true"])
        self.assertIsNone(first.detail.value.args_gap, "left out: none")
        self.assertIsNone(first.process.cgroup_id)
        self.assertIsNone(first.fidelity)
        self.assertEqual(second.detail.value.address, types.SocketAddress_Ipv4(("127.0.0.1", 80)))
        self.assertEqual(second.process.container_id, "abc")

    def test_integers_may_be_decimal_strings(self):
        text = CAPTURE.replace('"time_ns":5', '"time_ns":"1764000000001000000"').replace(
            '"mtime_ns":3', '"mtime_ns":"18446744073709551615"').replace('"fd":3', '"fd":"-1"').replace(
            '"pid":10,"tid"', '"pid":"10","tid"')
        events = parse_capture(text)
        self.assertEqual(events[0].time_ns, 1764000000001000000)
        self.assertEqual(events[0].detail.value.mtime_ns, (1 << 64) - 1)
        self.assertEqual(events[0].process.pid, 10)
        self.assertEqual(events[1].detail.value.fd, -1)
        for bad, message in [
            ('"seq":"x"', 'line 2: `seq`: invalid type: string "x", expected u64'),
            ('"seq":"1.0"', 'line 2: `seq`: invalid type: string "1.0", expected u64'),
            ('"seq":"-1"', "line 2: `seq`: invalid value: integer `-1`, expected u64"),
            ('"seq":1.5', "line 2: `seq`: invalid type: floating point `1.5`, expected u64"),
            ('"seq":"18446744073709551616"', "line 2: `seq`: invalid value: integer `18446744073709551616`, expected u64"),
        ]:
            with self.assertRaises(CaptureError) as ctx:
                parse_capture(CAPTURE.replace('"seq":1', bad))
            self.assertEqual(str(ctx.exception), message)
        with self.assertRaisesRegex(CaptureError, r'^line 2: `process.pid`: invalid value: integer `4294967296`, expected u32$'):
            parse_capture(CAPTURE.replace('"pid":10,"tid"', '"pid":"4294967296","tid"'))
        # Array elements and variant payloads are not object members: numbers only.
        with self.assertRaisesRegex(CaptureError, r'`detail.NetConnect.address.Ipv4\[1\]`: invalid type: string "80", expected u16'):
            parse_capture(CAPTURE.replace('"127.0.0.1",80', '"127.0.0.1","80"'))

    def test_every_field_kind(self):
        raw = {
            "seq": 3, "time_ns": "9", "kind": "dns-answer", "pid": 1,
            "process": {"pid": 1, "tid": 1, "ppid": 0, "uid": 0, "euid": 0, "gid": 0, "egid": 0,
                        "comm": "c", "exe": "/c", "container_id": None, "cgroup_id": "4026531835"},
            "detail": {"DnsAnswer": {"query": "a.example", "query_type": 1, "rcode": 0,
                                     "answers": [{"name": "a.example", "record_type": 1, "ttl": 60,
                                                  "value": "192.0.2.1"}],
                                     "server": {"Unix": "/run/resolv"}}},
            "fidelity": {"cut": ["args[3]"], "raw": [], "folded": [{"field": "path", "escaped": "/a/../b"}]},
        }
        e = event_from_json(raw)
        self.assertEqual(e.process.cgroup_id, 4026531835)
        self.assertEqual(e.detail.value.answers[0].value, "192.0.2.1")
        self.assertEqual(e.detail.value.server, types.SocketAddress_Unix("/run/resolv"))
        self.assertEqual(e.fidelity.folded[0].escaped, "/a/../b")
        raw["detail"] = {"Mount": {"source": "/", "target": "/mnt", "fs_type": "ext4",
                                   "flags": 1 << 40, "result": -19}}
        self.assertEqual(event_from_json(raw).detail.value.flags, 1 << 40)
        raw["detail"] = {"FileOpen": {"path": "/x", "flags": 1 << 40, "mode": 0, "result": 0}}
        with self.assertRaisesRegex(ValueError, "`detail.FileOpen.flags`: invalid value: integer `1099511627776`, expected u32"):
            event_from_json(raw)
        raw["detail"] = {"NetConnect": {"fd": 3, "address": {"Ipv6": ["::1", 70000]}, "result": 0}}
        with self.assertRaisesRegex(ValueError, r"`detail.NetConnect.address.Ipv6\[1\]`: .*expected u16"):
            event_from_json(raw)
        raw["detail"] = {"Teleport": {}}
        with self.assertRaisesRegex(ValueError, "unknown variant `Teleport`"):
            event_from_json(raw)
        del raw["seq"]
        with self.assertRaisesRegex(ValueError, "^missing field `seq`$"):
            event_from_json(raw)

    def test_errors_name_the_line(self):
        lying = CAPTURE.replace('"kind":"exec"', '"kind":"exit"')
        with self.assertRaisesRegex(CaptureError, "^line 2: kind `exit` does not match its detail `exec`$"):
            parse_capture(lying)
        with self.assertRaisesRegex(CaptureError, "^line 3:"):
            parse_capture(CAPTURE.replace('"seq":2', '"seq":"x"'))
        with self.assertRaisesRegex(CaptureError, "^line 3: no `kind` field"):
            parse_capture(CAPTURE.replace('"kind":"net-connect",', ""))
        with self.assertRaisesRegex(CaptureError, "^line 1:"):
            parse_capture("{}\n")
        with self.assertRaisesRegex(CaptureError, "^line 1: empty capture"):
            parse_capture("")
        with self.assertRaisesRegex(CaptureError, "^line 1: bad header"):
            parse_capture("nope\n")
        self.assertEqual(parse_capture('{"harrier_capture":1,"wit":"0.2.0"}'), [])

    def test_header_indicators(self):
        header = '{"harrier_capture":1,"wit":"0.1.0","indicators":[{"kind":"domain","value":"*.evil.example","category":"command-and-control"},{"kind":"ip","value":"198.51.100.0/24","category":"tor-relay","source":"list"}]}'
        found = indicators(header)
        self.assertEqual([(i.kind, i.value, i.category, i.source) for i in found], [
            (types.IndicatorKind.DOMAIN, "*.evil.example", "command-and-control", "fixture"),
            (types.IndicatorKind.IP, "198.51.100.0/24", "tor-relay", "list")])
        with self.assertRaisesRegex(CaptureError, r"line 1: bad `indicators`: unknown indicator kind `url` \(domain, ip, sha256\)"):
            indicators(header.replace('"kind":"domain"', '"kind":"url"'))
        self.assertEqual(indicators(CAPTURE), [])

    def test_lines_split_only_at_newlines(self):
        text = CAPTURE.replace('"cwd":"/"', '"cwd":"/a\u2028b"')
        self.assertEqual(parse_capture(text)[0].detail.value.cwd, "/a\u2028b")

    @unittest.skipUnless(os.path.isdir(FIXTURES), "the repository's fixtures")
    def test_every_shared_fixture_loads(self):
        paths = glob.glob(os.path.join(FIXTURES, "*", "*.jsonl")) + glob.glob(os.path.join(FIXTURES, "*.jsonl"))
        self.assertTrue(paths)
        for path in paths:
            self.assertTrue(load_capture(path), path)
        with self.assertRaisesRegex(CaptureError, "nope.jsonl: line 1"):
            broken = os.path.join(os.environ.get("TMPDIR", "/tmp"), "nope.jsonl")
            with open(broken, "w") as f:
                f.write("{}\n")
            try:
                load_capture(broken)
            finally:
                os.remove(broken)


if __name__ == "__main__":
    unittest.main()
