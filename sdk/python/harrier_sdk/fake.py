"""A fake host: process table, recent writes, executable hashes,
threat-intelligence indicators, clock and log, in memory.

A :class:`FakeHost` answers the same calls as ``wit_world.imports.host``
(``log``, ``now_ns``, ``process``, ``ancestry``, ``recent_write``,
``intel_match``), so a detector given one instead of the real host runs
natively and in its self-test. It learns its state from events the way the
host's enrichment does (:meth:`FakeHost.observe`), like the Rust SDK's
``FakeHost``.
"""

import dataclasses

from wit_world.imports import types

#: ``O_WRONLY | O_RDWR``.
O_ACCMODE_WRITE = 0o3
#: ``O_CREAT``.
O_CREAT = 0o100
#: ``O_TRUNC``.
O_TRUNC = 0o1000

_KINDS = {
    "domain": types.IndicatorKind.DOMAIN,
    "ip": types.IndicatorKind.IP,
    "sha256": types.IndicatorKind.SHA256,
}


def process_info(pid, ppid, exe, **fields):
    """A ``types.ProcessInfo`` with these ids and executable (uid 0, root,
    no container); keyword arguments set other fields."""
    info = types.ProcessInfo(
        pid=pid, ppid=ppid, uid=0, euid=0, exe=exe, cmdline=exe, start_time_ns=0,
        container_id=None, pod_uid=None, cwd="", user_name="root", exe_sha256=None,
        workload=None,
    )
    return dataclasses.replace(info, **fields)


@dataclasses.dataclass
class FakeIndicator:
    """An indicator of the fake host, as a capture header declares it:
    ``{"kind":"domain","value":"*.evil.example","category":"command-and-control","source":"fixture"}``.
    Domains written ``*.name`` match the name and its subdomains, others
    only themselves; ``ip`` values may be CIDR ranges."""

    #: A ``types.IndicatorKind``.
    kind: types.IndicatorKind
    #: The entry.
    value: str
    #: Its category, e.g. ``command-and-control``.
    category: str
    #: Its feed.
    source: str = "fixture"

    @classmethod
    def from_json(cls, raw):
        """From a header's JSON object; ``ValueError`` names what is wrong."""
        if not isinstance(raw, dict):
            raise ValueError("expected an indicator object")
        for key in ("kind", "value", "category"):
            if key not in raw:
                raise ValueError(f"missing field `{key}`")
        for key in ("kind", "value", "category", "source"):
            if key in raw and not isinstance(raw[key], str):
                raise ValueError(f"`{key}` must be a string")
        kind = _KINDS.get(raw["kind"])
        if kind is None:
            raise ValueError(f"unknown indicator kind `{raw['kind']}` (domain, ip, sha256)")
        return cls(kind, raw["value"], raw["category"], raw.get("source", "fixture"))

    def specificity(self, kind, value):
        """How specifically this entry matches ``value`` of ``kind`` (longer
        is more specific), or ``None``."""
        if self.kind != kind:
            return None
        if kind == types.IndicatorKind.DOMAIN:
            q = value.rstrip(".").lower()
            subdomains = self.value.startswith("*.")
            name = self.value[2:] if subdomains else self.value
            return len(name) if q == name or (subdomains and q.endswith("." + name)) else None
        if kind == types.IndicatorKind.IP:
            return _ip_specificity(self.value, value)
        return 64 if self.value.lower() == value.lower() else None


def _ip_specificity(entry, value):
    import ipaddress

    try:
        addr = ipaddress.ip_address(value)
        net_text, slash, bits_text = entry.partition("/")
        net = ipaddress.ip_address(net_text)
        width = 32 if net.version == 4 else 128
        if slash and not (bits_text.isascii() and bits_text.isdigit()):
            return None
        bits = int(bits_text) if slash else width
    except ValueError:
        return None
    if addr.version != net.version:
        return None
    shift = width - min(bits, width)
    return bits if int(addr) >> shift == int(net) >> shift else None


class FakeHost:
    """In-memory host state answering the host calls."""

    def __init__(self):
        #: The process table: pid -> ``types.ProcessInfo``.
        self.processes = {}
        #: Recently written files: path -> ``types.FileWriteInfo``.
        self.recent_writes = {}
        #: What ``now_ns()`` returns; :meth:`observe` advances it to event times.
        self.clock_ns = 0
        #: ``(types.LogLevel, message)`` pairs the detector logged.
        self.logs = []
        #: :class:`FakeIndicator` entries ``intel_match`` answers from.
        self.indicators = []

    # --- the host calls ------------------------------------------------------

    def log(self, level, message):
        """Record a log line."""
        self.logs.append((level, message))

    def now_ns(self):
        """The fake clock."""
        return self.clock_ns

    def process(self, pid):
        """The process with this pid, or ``None``."""
        return self.processes.get(pid)

    def ancestry(self, pid, max_depth):
        """Ancestors of ``pid``, nearest first, at most ``max_depth``."""
        out = []
        current = self.processes.get(pid)
        ppid = current.ppid if current is not None else None
        while ppid is not None and len(out) < max_depth and ppid != 0:
            parent = self.processes.get(ppid)
            if parent is None or any(p.pid == parent.pid for p in out):
                break
            out.append(parent)
            ppid = parent.ppid
        return out

    def recent_write(self, path):
        """Who wrote ``path`` recently, or ``None``."""
        return self.recent_writes.get(path)

    def intel_match(self, kind, value):
        """The most specific declared indicator matching ``value``, as a ``types.IntelHit``."""
        best, best_score = None, -1
        for indicator in self.indicators:
            score = indicator.specificity(kind, value)
            if score is not None and score >= best_score:
                best, best_score = indicator, score
        if best is None:
            return None
        entry = best.value
        while entry.startswith("*."):
            entry = entry[2:]
        return types.IntelHit(category=best.category, source=best.source, indicator=entry)

    # --- building it up ------------------------------------------------------

    def add_process(self, info):
        """Add or replace a ``types.ProcessInfo``."""
        self.processes[info.pid] = info
        return self

    def add_recent_write(self, path, writer_pid, time_ns, created):
        """Record that ``path`` was written (or created) by ``writer_pid`` at ``time_ns``."""
        writer = self.processes.get(writer_pid)
        self.recent_writes[path] = types.FileWriteInfo(
            path=path, writer_pid=writer_pid, writer_exe=writer.exe if writer else "",
            time_ns=time_ns, created=created)
        return self

    def set_exe_sha256(self, pid, sha256):
        """Set the executable hash reported for ``pid`` (no-op if unknown)."""
        if pid in self.processes:
            self.processes[pid].exe_sha256 = sha256
        return self

    def add_indicator(self, kind, value, category, source="fixture"):
        """Declare a threat-intelligence indicator (``kind`` a ``types.IndicatorKind`` or its name)."""
        kind = _KINDS[kind] if isinstance(kind, str) else kind
        self.indicators.append(FakeIndicator(kind, value, category, source))
        return self

    def observe(self, event):
        """Learn from an event what the host's enrichment would: processes
        from exec and fork, recent writes from writes, writing opens and renames."""
        self.clock_ns = max(self.clock_ns, event.time_ns)
        p = event.process
        entry = self.processes.get(p.pid)
        if entry is None:
            entry = self.processes[p.pid] = _process_info_of(event)
        d = event.detail
        if isinstance(d, types.EventDetail_Exec):
            entry.exe = d.value.filename
            entry.cmdline = " ".join(d.value.args)
            entry.cwd = d.value.cwd
            entry.start_time_ns = event.time_ns
            entry.uid, entry.euid, entry.ppid = p.uid, p.euid, p.ppid
            entry.exe_sha256 = None
        elif isinstance(d, types.EventDetail_Fork):
            child = dataclasses.replace(entry, pid=d.value.child_pid, ppid=p.pid,
                                        start_time_ns=event.time_ns)
            self.processes[child.pid] = child
        elif isinstance(d, types.EventDetail_FileOpen):
            op = d.value
            if op.flags & (O_ACCMODE_WRITE | O_CREAT | O_TRUNC) and op.result >= 0:
                self._write(op.path, event, bool(op.flags & O_CREAT))
        elif isinstance(d, types.EventDetail_FileWrite):
            prev = self.recent_writes.get(d.value.path)
            created = prev is not None and prev.created and prev.writer_pid == p.pid
            self._write(d.value.path, event, created)
        elif isinstance(d, types.EventDetail_FileRename) and d.value.result >= 0:
            self._write(d.value.new_path, event, True)

    def _write(self, path, event, created):
        p = event.process
        known = self.processes.get(p.pid)
        self.recent_writes[path] = types.FileWriteInfo(
            path=path, writer_pid=p.pid, writer_exe=known.exe if known else p.exe,
            time_ns=event.time_ns, created=created)


def _process_info_of(event):
    """What the host would know about an event's process before seeing its exec."""
    p = event.process
    return types.ProcessInfo(
        pid=p.pid, ppid=p.ppid, uid=p.uid, euid=p.euid, exe=p.exe, cmdline=p.comm,
        start_time_ns=0, container_id=p.container_id, pod_uid=None, cwd="",
        user_name="root" if p.uid == 0 else None, exe_sha256=None, workload=None)
