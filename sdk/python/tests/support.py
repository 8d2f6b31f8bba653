"""Shared helpers of the SDK's tests: events built in code, a tiny detector."""

import os

from wit_world.imports import types

from harrier_sdk import Detector, FindingBuilder, FindingSpec

#: The repository's shared capture fixtures (absent in a scaffolded project).
FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "plugins", "fixtures")

SPEC = FindingSpec(
    finding_type="Execution:Runtime/TestThing",
    severity=5.0,
    title="t",
    description="d",
    mitre="T1059",
)


def process(pid=10, exe="/bin/sh", comm="sh", container_id=None, ppid=1, uid=0):
    """A ``types.Process``."""
    return types.Process(pid=pid, tid=pid, ppid=ppid, uid=uid, euid=uid, gid=0, egid=0,
                         comm=comm, exe=exe, container_id=container_id, cgroup_id=None)


def exec_event(seq=1, filename="/usr/bin/true", args=("true",), proc=None, fidelity=None, time_ns=5):
    """A ``types.Event`` of an exec."""
    detail = types.ExecEvent(filename=filename, args=list(args), args_truncated=False, cwd="/",
                             ld_preload=None, ld_library_path=None, file_mode=0o100755, dev=1,
                             inode=2, mtime_ns=3, args_gap=None)
    return types.Event(seq=seq, time_ns=time_ns, process=proc or process(),
                       detail=types.EventDetail_Exec(detail), fidelity=fidelity)


def open_event(seq, path, flags=0, proc=None, time_ns=6):
    """A ``types.Event`` of a file open."""
    detail = types.FileOpenEvent(path=path, flags=flags, mode=0, result=3)
    return types.Event(seq=seq, time_ns=time_ns, process=proc or process(),
                       detail=types.EventDetail_FileOpen(detail), fidelity=None)


CAPTURE = "\n".join([
    '{"harrier_capture":1,"wit":"0.2.0"}',
    '{"kind":"exec","pid":10,"seq":1,"time_ns":5,"process":{"pid":10,"tid":10,"ppid":1,"uid":0,"euid":0,"gid":0,"egid":0,"comm":"sh","exe":"/bin/sh","container_id":null},"detail":{"Exec":{"filename":"/usr/bin/true","args":["true"],"args_truncated":false,"cwd":"/","ld_preload":null,"ld_library_path":null,"file_mode":33261,"dev":1,"inode":2,"mtime_ns":3}}}',
    '{"kind":"net-connect","pid":10,"seq":2,"time_ns":6,"process":{"pid":10,"tid":10,"ppid":1,"uid":0,"euid":0,"gid":0,"egid":0,"comm":"true","exe":"/usr/bin/true","container_id":"abc"},"detail":{"NetConnect":{"fd":3,"address":{"Ipv4":["127.0.0.1",80]},"result":0}}}',
    "",
])


class Watch(Detector):
    """Reports execs of `names`, and opens under /etc/ when asked to read them."""

    name = "watch"
    version = "1.2.3"
    description = "test detector"
    subscriptions = ["exec", "file-open"]
    specs = [SPEC]
    defaults = {"names": ["true"]}
    self_test_fixture = CAPTURE

    def read_path_prefixes(self):
        return ["/etc/"]

    def on_exec(self, event, ex):
        if ex.filename.rsplit("/", 1)[-1] in self.config.names and self.policy.permits(
                SPEC.finding_type, event.process):
            return FindingBuilder(SPEC, event).evidence("filename", ex.filename)
        return None

    def on_file_open(self, event, op):
        return [FindingBuilder(SPEC, event).evidence("path", op.path).build()]
