// A fake host: process table, recent writes, clock, log and
// threat-intelligence indicators in memory, answering the host functions
// (log, nowNs, process, ancestry, recentWrite, intelMatch) like the Rust
// SDK's FakeHost. It learns processes and recent writes from events the way
// the host's enrichment does (`observe`).

/** `O_WRONLY | O_RDWR`. */
const O_ACCMODE_WRITE = 0o3;
/** `O_CREAT`. */
const O_CREAT = 0o100;
/** `O_TRUNC`. */
const O_TRUNC = 0o1000;

/**
 * A process-table entry (jco's `process-info`) with the given ids and
 * executable: uid 0 (user root), no container, `cmdline` the executable.
 * @param {number} pid
 * @param {number} ppid
 * @param {string} exe
 * @param {object} [more] fields to set as well
 */
export function processInfo(pid, ppid, exe, more = {}) {
  return {
    pid,
    ppid,
    uid: 0,
    euid: 0,
    exe,
    cmdline: exe,
    startTimeNs: 0n,
    containerId: undefined,
    podUid: undefined,
    cwd: '',
    userName: 'root',
    exeSha256: undefined,
    workload: undefined,
    ...more,
  };
}

const copyInfo = (p) => ({ ...p, workload: p.workload && { ...p.workload } });

/** In-memory host state answering the host functions. */
export class FakeHost {
  constructor() {
    /** @type {Map<number, object>} the process table, by pid */
    this.processes = new Map();
    /** @type {Map<string, object>} recently written files, by path */
    this.recentWrites = new Map();
    /** What `nowNs()` returns; `observe` advances it to event times. */
    this.now = 0n;
    /** @type {{level: string, message: string}[]} lines the detector logged */
    this.logs = [];
    /** @type {{kind: string, value: string, category: string, source: string}[]} */
    this.indicators = [];
  }

  /** Add or replace a process (a `processInfo(...)`). */
  addProcess(info) {
    this.processes.set(info.pid, processInfo(info.pid, info.ppid, info.exe, info));
    return this;
  }

  /** Record that `path` was written (or created) by `writerPid` at `timeNs`. */
  addRecentWrite(path, writerPid, timeNs, created) {
    const writerExe = this.processes.get(writerPid)?.exe ?? '';
    this.recentWrites.set(path, { path, writerPid, writerExe, timeNs: BigInt(timeNs), created });
    return this;
  }

  /** Set the executable hash reported for `pid` (no-op if unknown). */
  setExeSha256(pid, sha256) {
    const p = this.processes.get(pid);
    if (p) p.exeSha256 = sha256;
    return this;
  }

  /** Declare a threat-intelligence indicator (`*.name` also matches subdomains; ip values may be CIDR ranges). */
  addIndicator(kind, value, category, source = 'fixture') {
    this.indicators.push({ kind, value, category, source });
    return this;
  }

  // --- the host functions ----------------------------------------------

  /** @param {string} level @param {string} message */
  log(level, message) {
    this.logs.push({ level, message });
  }

  nowNs() {
    return this.now;
  }

  /** @param {number} pid */
  process(pid) {
    const p = this.processes.get(pid);
    return p && copyInfo(p);
  }

  /** Ancestors of `pid`, nearest first, at most `maxDepth`. */
  ancestry(pid, maxDepth) {
    const out = [];
    let current = this.processes.get(pid)?.ppid;
    while (current !== undefined) {
      if (out.length >= maxDepth || current === 0) break;
      const parent = this.processes.get(current);
      if (!parent || out.some((p) => p.pid === parent.pid)) break;
      current = parent.ppid;
      out.push(copyInfo(parent));
    }
    return out;
  }

  /** @param {string} path */
  recentWrite(path) {
    const w = this.recentWrites.get(path);
    return w && { ...w };
  }

  /** The most specific declared indicator matching `value`, as the host's `intel-match` answers. */
  intelMatch(kind, value) {
    let best;
    let bestScore = -1;
    for (const i of this.indicators) {
      const score = specificity(i, kind, value);
      if (score !== undefined && score >= bestScore) {
        best = i;
        bestScore = score;
      }
    }
    if (!best) return undefined;
    let indicator = best.value;
    while (indicator.startsWith('*.')) indicator = indicator.slice(2);
    return { category: best.category, source: best.source, indicator };
  }

  // --- learning from events ----------------------------------------------

  /**
   * Learn from an event what the host's enrichment would: processes from
   * exec and fork, recent writes from writes, creating opens and renames.
   * @param {object} event an event in jco's shape
   */
  observe(event) {
    if (event.timeNs > this.now) this.now = event.timeNs;
    const p = event.process;
    if (!this.processes.has(p.pid)) this.processes.set(p.pid, infoOf(event));
    const { tag, val } = event.detail;
    if (tag === 'exec') {
      const entry = this.processes.get(p.pid);
      Object.assign(entry, {
        exe: val.filename,
        cmdline: val.args.join(' '),
        cwd: val.cwd,
        startTimeNs: event.timeNs,
        uid: p.uid,
        euid: p.euid,
        ppid: p.ppid,
        exeSha256: undefined,
      });
    } else if (tag === 'fork') {
      const child = { ...(this.processes.get(p.pid) ?? infoOf(event)) };
      child.pid = val.childPid;
      child.ppid = p.pid;
      child.startTimeNs = event.timeNs;
      this.processes.set(val.childPid, child);
    } else if (tag === 'file-open') {
      const writes = (val.flags & (O_ACCMODE_WRITE | O_CREAT | O_TRUNC)) !== 0;
      if (writes && val.result >= 0n) this.#write(val.path, event, (val.flags & O_CREAT) !== 0);
    } else if (tag === 'file-write') {
      const prev = this.recentWrites.get(val.path);
      this.#write(val.path, event, Boolean(prev && prev.created && prev.writerPid === p.pid));
    } else if (tag === 'file-rename' && val.result >= 0n) {
      this.#write(val.newPath, event, true);
    }
  }

  #write(path, event, created) {
    const p = event.process;
    const writerExe = this.processes.get(p.pid)?.exe ?? p.exe;
    this.recentWrites.set(path, { path, writerPid: p.pid, writerExe, timeNs: event.timeNs, created });
  }
}

/** What the host knows about an event's process before seeing its exec. */
function infoOf(event) {
  const p = event.process;
  return processInfo(p.pid, p.ppid, p.exe, {
    uid: p.uid,
    euid: p.euid,
    cmdline: p.comm,
    containerId: p.containerId,
    userName: p.uid === 0 ? 'root' : undefined,
  });
}

// --- indicator matching ----------------------------------------------------

const asciiLower = (s) => s.replace(/[A-Z]+/g, (c) => c.toLowerCase());

/** How specifically indicator `i` matches `value` of `kind` (longer is more specific), if it does. */
function specificity(i, kind, value) {
  if (i.kind !== kind) return undefined;
  if (kind === 'domain') {
    const q = asciiLower(value.replace(/\.+$/, ''));
    const subdomains = i.value.startsWith('*.');
    const name = subdomains ? i.value.slice(2) : i.value;
    return q === name || (subdomains && q.endsWith(`.${name}`)) ? name.length : undefined;
  }
  if (kind === 'ip') {
    const addr = parseIp(value);
    const slash = i.value.indexOf('/');
    const net = parseIp(slash < 0 ? i.value : i.value.slice(0, slash));
    if (!addr || !net || addr.width !== net.width) return undefined;
    let bits = net.width;
    if (slash >= 0) {
      const b = i.value.slice(slash + 1);
      if (!/^[0-9]+$/.test(b)) return undefined;
      bits = Number(b);
    }
    const shift = BigInt(net.width - Math.min(bits, net.width));
    return addr.n >> shift === net.n >> shift ? bits : undefined;
  }
  return asciiLower(i.value) === asciiLower(value) ? 64 : undefined;
}

/** An IPv4 or IPv6 address as `{width, n}` (n a BigInt), or undefined. */
export function parseIp(text) {
  const v4 = (s) => {
    const parts = s.split('.');
    if (parts.length !== 4) return undefined;
    let n = 0n;
    for (const part of parts) {
      if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) return undefined;
      n = (n << 8n) | BigInt(part);
    }
    return n;
  };
  if (!text.includes(':')) {
    const n = v4(text);
    return n === undefined ? undefined : { width: 32, n };
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s, last) => {
    if (s === '') return [];
    const out = [];
    const parts = s.split(':');
    for (const [k, part] of parts.entries()) {
      if (last && k === parts.length - 1 && part.includes('.')) {
        const n = v4(part);
        if (n === undefined) return undefined;
        out.push(n >> 16n, n & 0xffffn);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
        out.push(BigInt(`0x${part}`));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0], halves.length === 1);
  const tail = halves.length === 2 ? groups(halves[1], true) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  let n = 0n;
  for (const g of [...head, ...new Array(missing).fill(0n), ...tail]) n = (n << 16n) | g;
  return { width: 128, n };
}
