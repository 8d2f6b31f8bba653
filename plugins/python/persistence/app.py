"""Harrier detector in Python: Persistence:Runtime/SuspiciousCommand.

Reports cron and systemd persistence:

- ``crontab -`` or ``crontab FILE`` installing a crontab (``-l`` and ``-e``
  are left alone);
- a cron file or systemd unit (``/etc/cron.d/``, ``/etc/crontab``,
  ``/var/spool/cron/``, ``/etc/systemd/system/``, ``~/.config/systemd/user/``)
  opened for writing by a program that is not a package manager;
- ``systemctl enable``/``link`` of a unit the host saw written recently
  (host ``recent-write``) by a program that is not a package manager.

Configuration (JSON object, unknown keys refused): the shared keys
(``allow_executables``, ``allow_parents``, ``allow_paths``,
``containers_only``, ``disabled_types``), ``trusted_writers`` (program
names) and ``extra_paths`` (path prefixes).

Built on the Python SDK (``sdk/python/harrier_sdk``).
"""

from harrier_sdk import Detector, FindingBuilder, FindingSpec, SelfTestError, basename, export, self_test

NAME = "persistence-py"
VERSION = "0.1.0"
FINDING_TYPE = "Persistence:Runtime/SuspiciousCommand"
CRON_TECHNIQUE = "T1053.003"
SYSTEMD_TECHNIQUE = "T1543.002"

SPEC = FindingSpec(
    finding_type=FINDING_TYPE,
    severity=6.0,
    title="Suspicious persistence command executed",
    description="A crontab was installed, or a cron file or systemd unit was written or enabled, by a program that is not a package manager.",
    mitre=CRON_TECHNIQUE,
)

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
ENABLE_VERBS = ("enable", "link", "reenable")

# The self-test's capture: a crontab install, a unit written then enabled,
# and a `crontab -l` that must stay quiet.
SELF_TEST_CAPTURE = "\n".join([
    '{"harrier_capture":1,"wit":"0.1.0"}',
    '{"kind":"exec","pid":7,"seq":1,"time_ns":10,"process":{"pid":7,"tid":7,"ppid":1,"uid":0,"euid":0,"gid":0,"egid":0,"comm":"crontab","exe":"/usr/bin/crontab","container_id":null},"detail":{"Exec":{"filename":"/usr/bin/crontab","args":["crontab","-"],"args_truncated":false,"cwd":"/","ld_preload":null,"ld_library_path":null,"file_mode":33261,"dev":1,"inode":2,"mtime_ns":3}}}',
    '{"kind":"file-open","pid":8,"seq":2,"time_ns":11,"process":{"pid":8,"tid":8,"ppid":1,"uid":0,"euid":0,"gid":0,"egid":0,"comm":"sh","exe":"/bin/sh","container_id":null},"detail":{"FileOpen":{"path":"/etc/systemd/system/x.service","flags":577,"mode":420,"result":3}}}',
    '{"kind":"exec","pid":9,"seq":3,"time_ns":12,"process":{"pid":9,"tid":9,"ppid":1,"uid":0,"euid":0,"gid":0,"egid":0,"comm":"systemctl","exe":"/usr/bin/systemctl","container_id":null},"detail":{"Exec":{"filename":"/usr/bin/systemctl","args":["systemctl","enable","x.service"],"args_truncated":false,"cwd":"/","ld_preload":null,"ld_library_path":null,"file_mode":33261,"dev":1,"inode":2,"mtime_ns":3}}}',
    '{"kind":"exec","pid":10,"seq":4,"time_ns":13,"process":{"pid":10,"tid":10,"ppid":1,"uid":0,"euid":0,"gid":0,"egid":0,"comm":"crontab","exe":"/usr/bin/crontab","container_id":null},"detail":{"Exec":{"filename":"/usr/bin/crontab","args":["crontab","-l"],"args_truncated":false,"cwd":"/","ld_preload":null,"ld_library_path":null,"file_mode":33261,"dev":1,"inode":2,"mtime_ns":3}}}',
])
SELF_TEST_PIDS = [7, 8, 9]


class Persistence(Detector):
    """Crontab installs, cron files and units written, fresh units enabled."""

    name = NAME
    version = VERSION
    description = "Cron and systemd persistence (crontab installs, cron/unit files written, fresh units enabled). Written in Python."
    subscriptions = ["exec", "file-open"]
    specs = [SPEC]
    defaults = {"trusted_writers": [], "extra_paths": []}
    self_test_fixture = SELF_TEST_CAPTURE

    def setup(self):
        self.trusted = TRUSTED_WRITERS | set(self.config.trusted_writers)
        self.paths = PERSISTENCE_PATHS + tuple(self.config.extra_paths)

    def read_path_prefixes(self):
        # Only files written matter, and writing opens always arrive.
        return []

    def report(self, event, technique, rule, evidence, path=None):
        """A finding about the event's process, if the policy permits it."""
        if not self.policy.permits(FINDING_TYPE, event.process, path):
            return None
        builder = FindingBuilder(SPEC, event).technique(technique).evidence("rule", rule)
        for key, value in evidence:
            builder.evidence(key, value)
        return builder.build()

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
                return self.report(event, CRON_TECHNIQUE, "crontab installed",
                                   [("cmdline", " ".join(ex.args)), ("crontab_source", source)])
        if name == "systemctl" and any(a in ENABLE_VERBS for a in args):
            for unit in (a for a in args if not a.startswith("-") and a not in ENABLE_VERBS):
                candidates = [unit] if unit.startswith("/") else [d + unit for d in UNIT_DIRS]
                for path in candidates:
                    w = self.host.recent_write(path)
                    if w is not None and basename(w.writer_exe) not in self.trusted:
                        return self.report(event, SYSTEMD_TECHNIQUE, "recently written unit enabled", [
                            ("cmdline", " ".join(ex.args)), ("unit_path", path), ("modifying_process_exe", w.writer_exe)])
        return None

    def on_file_open(self, event, op):
        if op.result < 0 or not op.flags & WRITE_FLAGS:
            return None
        if not self.is_persistence_path(op.path) or basename(event.process.exe) in self.trusted:
            return None
        technique = SYSTEMD_TECHNIQUE if "systemd" in op.path else CRON_TECHNIQUE
        return self.report(event, technique, "persistence file written", [("path", op.path)], op.path)

    @classmethod
    def self_test(cls):
        """The SDK's self-test over the embedded capture, which must also
        report exactly the three installing processes."""
        found = self_test(cls, "{}", cls.self_test_fixture, [FINDING_TYPE] * len(SELF_TEST_PIDS))
        pids = [f.pid for f in found]
        if pids != SELF_TEST_PIDS:
            raise SelfTestError(f"self-test: expected findings for pids {SELF_TEST_PIDS}, got {pids}")


WitWorld = export(Persistence)
