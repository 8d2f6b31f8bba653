"""Harrier detector in Python: Persistence:Runtime/SuspiciousCommand.

Reports cron and systemd persistence:

- ``crontab -`` or ``crontab FILE`` installing a crontab (``-l`` and ``-e``
  are left alone);
- a cron file or systemd unit (``/etc/cron.d/``, ``/etc/crontab``,
  ``/var/spool/cron/``, ``/etc/systemd/system/``, ``~/.config/systemd/user/``)
  opened for writing by a program that is not a package manager;
- ``systemctl enable``/``link`` of a unit the host saw written recently
  (host ``recent-write``) by a program that is not a package manager.

Configuration (JSON object, unknown keys refused):
``trusted_writers`` (program names), ``extra_paths`` (path prefixes),
``disabled_types`` (finding types not to report).
"""

import dataclasses
import json

import wit_world
from componentize_py_types import Err
from wit_world.imports import host, types

NAME = "persistence-py"
VERSION = "0.1.0"
FINDING_TYPE = "Persistence:Runtime/SuspiciousCommand"
SEVERITY = 6.0
CRON_TECHNIQUE = "T1053.003"
SYSTEMD_TECHNIQUE = "T1543.002"

PERSISTENCE_PATHS = (
    "/etc/cron.d/",
    "/etc/crontab",
    "/etc/cron.hourly/",
    "/etc/cron.daily/",
    "/etc/cron.weekly/",
    "/etc/cron.monthly/",
    "/var/spool/cron/",
    "/etc/systemd/system/",
    "/usr/lib/systemd/system/",
    "/lib/systemd/system/",
)
USER_UNIT_MARKER = "/.config/systemd/user/"
UNIT_DIRS = ("/etc/systemd/system/", "/usr/lib/systemd/system/", "/lib/systemd/system/")
TRUSTED_WRITERS = {
    "dpkg", "apt", "apt-get", "rpm", "yum", "dnf", "zypper", "apk", "pacman",
    "systemctl", "systemd", "crontab", "cron", "crond", "unattended-upgrade",
    "packagekitd", "snapd", "deb-systemd-helper",
}
WRITE_FLAGS = 0o3 | 0o100 | 0o1000
KNOWN_KEYS = {"trusted_writers", "extra_paths", "disabled_types"}


def basename(path):
    """The last component of a path."""
    return path.rsplit("/", 1)[-1]


def parse_config(text):
    """Parse the JSON configuration; raises ValueError naming the bad key."""
    try:
        config = json.loads(text or "{}")
    except json.JSONDecodeError as e:
        raise ValueError(f"invalid configuration: not valid JSON: {e}") from None
    if not isinstance(config, dict):
        raise ValueError("invalid configuration: the configuration must be a JSON object")
    unknown = sorted(set(config) - KNOWN_KEYS)
    if unknown:
        raise ValueError(f"invalid configuration: unknown field `{unknown[0]}`, expected one of {sorted(KNOWN_KEYS)}")
    for key in KNOWN_KEYS:
        value = config.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"invalid configuration: `{key}` must be a list of strings")
    return config


class Persistence:
    """The detection logic, with the host passed in so tests can fake it."""

    def __init__(self, config_text, host_api):
        config = parse_config(config_text)
        self.host = host_api
        self.trusted = TRUSTED_WRITERS | set(config.get("trusted_writers", []))
        self.paths = PERSISTENCE_PATHS + tuple(config.get("extra_paths", []))
        self.disabled = FINDING_TYPE in config.get("disabled_types", [])

    def finding(self, event, technique, rule, evidence):
        """A finding about the event's process."""
        p = event.process
        items = [types.Evidence("rule", rule), types.Evidence("exe", p.exe)]
        items += [types.Evidence(k, v) for k, v in evidence if v]
        return types.Finding(
            finding_type=FINDING_TYPE,
            severity=SEVERITY,
            title="Suspicious persistence command executed",
            description="A crontab was installed, or a cron file or systemd unit was written or enabled, by a program that is not a package manager.",
            mitre_technique=technique,
            pid=p.pid,
            event_seqs=[event.seq],
            evidence=items,
        )

    def is_persistence_path(self, path):
        return path.startswith(self.paths) or USER_UNIT_MARKER in path

    def on_exec(self, event, ex):
        name = basename(ex.filename)
        args = ex.args[1:]
        if name == "crontab":
            if any(a in ("-l", "-e", "-r", "-h", "--help") for a in args):
                return None
            source = next((a for a in args if not a.startswith("-") or a == "-"), None)
            if source is not None:
                return self.finding(event, CRON_TECHNIQUE, "crontab installed", [("cmdline", " ".join(ex.args)), ("crontab_source", source)])
        if name == "systemctl" and any(a in ("enable", "link", "reenable") for a in args):
            for unit in (a for a in args if not a.startswith("-") and a not in ("enable", "link", "reenable")):
                candidates = [unit] if unit.startswith("/") else [d + unit for d in UNIT_DIRS]
                for path in candidates:
                    w = self.host.recent_write(path)
                    if w is not None and basename(w.writer_exe) not in self.trusted:
                        return self.finding(event, SYSTEMD_TECHNIQUE, "recently written unit enabled", [
                            ("cmdline", " ".join(ex.args)), ("unit_path", path), ("modifying_process_exe", w.writer_exe)])
        return None

    def on_open(self, event, op):
        if op.result < 0 or not op.flags & WRITE_FLAGS:
            return None
        if not self.is_persistence_path(op.path) or basename(event.process.exe) in self.trusted:
            return None
        technique = SYSTEMD_TECHNIQUE if "systemd" in op.path else CRON_TECHNIQUE
        return self.finding(event, technique, "persistence file written", [("path", op.path)])

    def on_event(self, event):
        """The finding for one event, or None."""
        if self.disabled:
            return None
        d = event.detail
        if isinstance(d, types.EventDetail_Exec):
            return self.on_exec(event, d.value)
        if isinstance(d, types.EventDetail_FileOpen):
            return self.on_open(event, d.value)
        return None


# --- capture fixtures (for the self-test and native tests) -----------------

_DETAILS = {
    "Exec": (types.EventDetail_Exec, types.ExecEvent),
    "FileOpen": (types.EventDetail_FileOpen, types.FileOpenEvent),
}


def _record(cls, raw):
    """A WIT record from its capture JSON; fields the capture predates (options) are none."""
    return cls(**{f.name: raw.get(f.name) for f in dataclasses.fields(cls)})


def events_from_capture(text):
    """Events of a capture (header line, then one event per line) this detector handles."""
    lines = [l for l in text.splitlines() if l.strip()]
    if not lines or json.loads(lines[0]).get("harrier_capture") != 1:
        raise ValueError("line 1: not a version 1 Harrier capture header")
    events = []
    for n, line in enumerate(lines[1:], start=2):
        raw = json.loads(line)
        (variant, payload), = raw["detail"].items()
        if variant not in _DETAILS:
            continue
        detail_cls, payload_cls = _DETAILS[variant]
        events.append(types.Event(
            seq=raw["seq"],
            time_ns=raw["time_ns"],
            process=_record(types.Process, raw["process"]),
            detail=detail_cls(_record(payload_cls, payload)),
            fidelity=None,
        ))
    return events


class FakeHost:
    """Answers `recent_write` from file opens seen, like the host's enrichment."""

    def __init__(self, events):
        self.writes = {}
        for e in events:
            d = e.detail
            if isinstance(d, types.EventDetail_FileOpen) and d.value.flags & WRITE_FLAGS and d.value.result >= 0:
                self.writes[d.value.path] = types.FileWriteInfo(
                    path=d.value.path, writer_pid=e.process.pid, writer_exe=e.process.exe,
                    time_ns=e.time_ns, created=bool(d.value.flags & 0o100))

    def recent_write(self, path):
        return self.writes.get(path)


SELF_TEST_CAPTURE = "\n".join([
    '{"harrier_capture":1,"wit":"0.1.0"}',
    '{"kind":"exec","pid":7,"seq":1,"time_ns":10,"process":{"pid":7,"tid":7,"ppid":1,"uid":0,"euid":0,"gid":0,"egid":0,"comm":"crontab","exe":"/usr/bin/crontab","container_id":null},"detail":{"Exec":{"filename":"/usr/bin/crontab","args":["crontab","-"],"args_truncated":false,"cwd":"/","ld_preload":null,"ld_library_path":null,"file_mode":33261,"dev":1,"inode":2,"mtime_ns":3}}}',
    '{"kind":"file-open","pid":8,"seq":2,"time_ns":11,"process":{"pid":8,"tid":8,"ppid":1,"uid":0,"euid":0,"gid":0,"egid":0,"comm":"sh","exe":"/bin/sh","container_id":null},"detail":{"FileOpen":{"path":"/etc/systemd/system/x.service","flags":577,"mode":420,"result":3}}}',
    '{"kind":"exec","pid":9,"seq":3,"time_ns":12,"process":{"pid":9,"tid":9,"ppid":1,"uid":0,"euid":0,"gid":0,"egid":0,"comm":"systemctl","exe":"/usr/bin/systemctl","container_id":null},"detail":{"Exec":{"filename":"/usr/bin/systemctl","args":["systemctl","enable","x.service"],"args_truncated":false,"cwd":"/","ld_preload":null,"ld_library_path":null,"file_mode":33261,"dev":1,"inode":2,"mtime_ns":3}}}',
    '{"kind":"exec","pid":10,"seq":4,"time_ns":13,"process":{"pid":10,"tid":10,"ppid":1,"uid":0,"euid":0,"gid":0,"egid":0,"comm":"crontab","exe":"/usr/bin/crontab","container_id":null},"detail":{"Exec":{"filename":"/usr/bin/crontab","args":["crontab","-l"],"args_truncated":false,"cwd":"/","ld_preload":null,"ld_library_path":null,"file_mode":33261,"dev":1,"inode":2,"mtime_ns":3}}}',
])


def run_self_test():
    """Run the embedded capture; returns an error message or None."""
    events = events_from_capture(SELF_TEST_CAPTURE)
    detector = Persistence("{}", FakeHost(events))
    found = [f for f in (detector.on_event(e) for e in events) if f is not None]
    pids = [f.pid for f in found]
    if pids != [7, 8, 9]:
        return f"self-test: expected findings for pids [7, 8, 9], got {pids}"
    return None


# --- the component's exports ------------------------------------------------

class WitWorld(wit_world.WitWorld):
    """The exported `detector` world."""

    detector = None

    def metadata(self):
        return types.Metadata(
            name=NAME,
            version=VERSION,
            description="Cron and systemd persistence (crontab installs, cron/unit files written, fresh units enabled). Written in Python.",
            subscriptions=[types.EventKind.EXEC, types.EventKind.FILE_OPEN],
            finding_types=[FINDING_TYPE],
        )

    def init(self, config):
        try:
            WitWorld.detector = Persistence(config, host)
        except ValueError as e:
            raise Err(str(e))

    def read_path_prefixes(self):
        # Only files written matter, and writing opens always arrive.
        return []

    def on_events(self, events):
        if WitWorld.detector is None:
            WitWorld.detector = Persistence("{}", host)
        out = []
        for event in events:
            f = WitWorld.detector.on_event(event)
            if f is not None:
                out.append(f)
        return out

    def tick(self, now_ns):
        return []

    def self_test(self):
        error = run_self_test()
        if error is not None:
            raise Err(error)

    def snapshot(self):
        return b""

    def restore(self, state):
        return None
