// Harrier captures (the `harrier record` format) into events in jco's
// shapes: a header line `{"harrier_capture":1,"wit":"0.2.0"}`, then one
// event per line as the host writes it (snake_case fields, variants as
// `{"Exec": {...}}`, options as null). Events come out as componentize-js
// passes them to a detector: camelCase fields, variants `{tag, val}`,
// options `undefined`, u64/s64 as BigInt. 64-bit fields may be JSON numbers
// or decimal strings; numbers are read exactly (parseJson), so 19-digit
// nanosecond times keep every digit.

import { parseJson } from './json.js';

/** The capture format version read. */
export const CAPTURE_VERSION = 1;
/** The newest WIT version whose events are read. */
export const WIT_VERSION = '0.2.0';

// --- the event schema (wit/detector.wit), as the capture spells it --------

const INT = {
  u16: [0n, 0xffffn],
  u32: [0n, 0xffffffffn],
  s32: [-0x80000000n, 0x7fffffffn],
  u64: [0n, 0xffffffffffffffffn],
  s64: [-0x8000000000000000n, 0x7fffffffffffffffn],
};
const opt = (type) => ({ opt: type });
const list = (type) => ({ list: type });
const tuple = (...types) => ({ tuple: types });
const variant = (cases) => ({ variant: cases });

const SOCKET_ADDRESS = variant({ Ipv4: tuple('string', 'u16'), Ipv6: tuple('string', 'u16'), Unix: 'string', Other: 'u32' });
const RAW_STRING = { field: 'string', escaped: 'string' };
const PATH_RESULT = { path: 'string', result: 's64' };
const MODULE = { name: 'string', syscall: 'string', result: 's64' };
const MOUNT = { source: 'string', target: 'string', fs_type: 'string', flags: 'u64', result: 's64' };
const NET = { fd: 's64', address: SOCKET_ADDRESS, result: 's64' };

const DETAIL = variant({
  Exec: {
    filename: 'string', args: list('string'), args_truncated: 'bool', cwd: 'string',
    ld_preload: opt('string'), ld_library_path: opt('string'), file_mode: 'u32',
    dev: 'u64', inode: 'u64', mtime_ns: 'u64', args_gap: opt({ index: 'u32', omitted_bytes: 'u64' }),
  },
  Exit: { code: 's32', signal: 'u32' },
  Fork: { child_pid: 'u32', clone_flags: 'u64' },
  NamespaceChange: { syscall: 'string', flags: 'u64', result: 's64' },
  CredentialChange: { syscall: 'string', uid: 'u32', euid: 'u32', gid: 'u32', egid: 'u32', result: 's64' },
  FileOpen: { path: 'string', flags: 'u32', mode: 'u32', result: 's64' },
  FileWrite: { path: 'string', bytes: 'u64' },
  FileRename: { old_path: 'string', new_path: 'string', result: 's64' },
  FileUnlink: PATH_RESULT,
  FileChmod: { path: 'string', mode: 'u32', result: 's64' },
  FileChown: { path: 'string', uid: 'u32', gid: 'u32', result: 's64' },
  FileLink: { target: 'string', link_path: 'string', symbolic: 'bool', result: 's64' },
  FileTruncate: PATH_RESULT,
  MemfdCreate: { name: 'string', flags: 'u32', result: 's64' },
  MmapExec: { path: 'string', prot: 'u32', flags: 'u32' },
  Ptrace: { request: 'u32', target_pid: 'u32', result: 's64' },
  ProcessVmWrite: { target_pid: 'u32', method: 'string', result: 's64' },
  Userfaultfd: { flags: 'u32', result: 's64' },
  ModuleLoad: MODULE,
  ModuleUnload: MODULE,
  BpfCall: { command: 'u32', result: 's64' },
  Mount: MOUNT,
  Umount: MOUNT,
  SocketCreate: { family: 'u32', socket_type: 'u32', protocol: 'u32', result: 's64' },
  NetConnect: NET,
  NetAccept: NET,
  NetBind: NET,
  NetListen: NET,
  DnsQuery: { query: 'string', query_type: 'u16', server: SOCKET_ADDRESS },
  FdRedirect: { old_fd: 's64', new_fd: 's64', is_socket: 'bool', result: 's64' },
  DnsAnswer: {
    query: 'string', query_type: 'u16', rcode: 'u16',
    answers: list({ name: 'string', record_type: 'u16', ttl: 'u32', value: 'string' }), server: SOCKET_ADDRESS,
  },
});

const EVENT = {
  seq: 'u64',
  time_ns: 'u64',
  process: {
    pid: 'u32', tid: 'u32', ppid: 'u32', uid: 'u32', euid: 'u32', gid: 'u32', egid: 'u32',
    comm: 'string', exe: 'string', container_id: opt('string'), cgroup_id: opt('u64'),
  },
  detail: DETAIL,
  fidelity: opt({ cut: list('string'), raw: list(RAW_STRING), folded: list(RAW_STRING) }),
};

// --- conversion ---------------------------------------------------------

/** `container_id` -> `containerId`. */
const camel = (s) => s.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
/** `NamespaceChange` -> `namespace-change`, `Ipv4` -> `ipv4`. */
const kebab = (s) => s.replace(/[A-Z]/g, (c, i) => (i ? '-' : '') + c.toLowerCase());

class CaptureError extends Error {}

function describe(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'sequence';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  if (typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v))) return `integer \`${v}\``;
  if (typeof v === 'number') return `floating point \`${v}\``;
  if (typeof v === 'boolean') return `boolean \`${v}\``;
  return 'map';
}

function convert(value, type, path) {
  const bad = (expected) => new CaptureError(`${path}: invalid type: ${describe(value)}, expected ${expected}`);
  if (typeof type === 'string') {
    if (type === 'string') {
      if (typeof value !== 'string') throw bad('a string');
      return value;
    }
    if (type === 'bool') {
      if (typeof value !== 'boolean') throw bad('a boolean');
      return value;
    }
    const [min, max] = INT[type];
    const wide = type === 'u64' || type === 's64';
    let n;
    if (typeof value === 'bigint') n = value;
    else if (typeof value === 'number' && Number.isInteger(value)) n = BigInt(value);
    else if (wide && typeof value === 'string' && /^-?[0-9]+$/.test(value)) n = BigInt(value);
    else throw bad(wide ? `${type} (a number or a decimal string)` : type);
    if (n < min || n > max) throw new CaptureError(`${path}: invalid value: integer \`${n}\`, expected ${type}`);
    return wide ? n : Number(n);
  }
  if (type.opt) return value === null || value === undefined ? undefined : convert(value, type.opt, path);
  if (type.list) {
    if (!Array.isArray(value)) throw bad('a sequence');
    return value.map((v, i) => convert(v, type.list, `${path}[${i}]`));
  }
  if (type.tuple) {
    if (!Array.isArray(value)) throw bad(`a tuple of size ${type.tuple.length}`);
    if (value.length !== type.tuple.length) {
      throw new CaptureError(`${path}: invalid length ${value.length}, expected a tuple of size ${type.tuple.length}`);
    }
    return type.tuple.map((t, i) => convert(value[i], t, `${path}[${i}]`));
  }
  if (type.variant) {
    const names = value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : [];
    if (names.length !== 1) throw bad('an object with one key, the variant');
    const [name] = names;
    if (!Object.hasOwn(type.variant, name)) {
      throw new CaptureError(`${path}: unknown variant \`${name}\`, expected one of ${Object.keys(type.variant).map((n) => `\`${n}\``).join(', ')}`);
    }
    return { tag: kebab(name), val: convert(value[name], type.variant[name], `${path}.${name}`) };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad('a map');
  const out = {};
  for (const [field, t] of Object.entries(type)) {
    const v = value[field];
    if (v === undefined && !t.opt) throw new CaptureError(`${path ? `${path}: ` : ''}missing field \`${field}\``);
    out[camel(field)] = convert(v, t, path ? `${path}.${field}` : field);
  }
  return out;
}

function readableWit(version) {
  const parse = (v) => {
    const m = /^([0-9]+)\.([0-9]+)\.([0-9]+)$/.exec(v);
    return m ? m.slice(1).map(BigInt) : undefined;
  };
  const found = typeof version === 'string' ? parse(version) : undefined;
  const ours = parse(WIT_VERSION);
  if (!found) return false;
  for (let i = 0; i < 3; i++) {
    if (found[i] !== ours[i]) return found[i] < ours[i];
  }
  return true;
}

function header(text) {
  const first = text.split('\n', 1)[0].trim();
  if (first === '') throw new CaptureError('line 1: empty capture, expected a header');
  let h;
  try {
    h = parseJson(first);
  } catch (e) {
    throw new CaptureError(`line 1: bad header: ${e.message}`);
  }
  if (h === null || typeof h !== 'object' || h.harrier_capture !== CAPTURE_VERSION) {
    throw new CaptureError('line 1: not a version 1 Harrier capture header');
  }
  if (h.wit !== undefined && !readableWit(h.wit)) {
    throw new CaptureError(`line 1: events of WIT version \`${h.wit}\` cannot be read (this SDK reads captures up to ${WIT_VERSION})`);
  }
  return h;
}

/**
 * Parse one capture event line (no header) into jco's shape.
 * @param {string} line
 * @returns {object} the event
 * @throws {Error} naming the field
 */
export function parseEvent(line) {
  const raw = parseJson(line);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new CaptureError('an event must be a JSON object');
  if (typeof raw.kind !== 'string') throw new CaptureError('no `kind` field');
  const event = convert(raw, EVENT, '');
  if (raw.kind !== event.detail.tag) {
    throw new CaptureError(`kind \`${raw.kind}\` does not match its detail \`${event.detail.tag}\``);
  }
  return event;
}

/**
 * Parse a capture's text into events in jco's shape. Errors name the
 * 1-based line: a bad header, a bad event, a `kind` that does not match
 * its detail, a `seq` that does not increase.
 * @param {string} text
 * @returns {object[]}
 * @throws {Error}
 */
export function parseCapture(text) {
  header(text);
  const events = [];
  let last;
  text.split('\n').forEach((line, i) => {
    if (i === 0 || line.trim() === '') return;
    const n = i + 1;
    let event;
    try {
      event = parseEvent(line);
    } catch (e) {
      throw new CaptureError(`line ${n}: ${e.message}`);
    }
    if (last !== undefined && event.seq <= last) {
      const what = event.seq === last ? 'repeats' : 'goes back from';
      throw new CaptureError(`line ${n}: seq ${event.seq} ${what} seq ${last}: events must be in increasing seq order`);
    }
    last = event.seq;
    events.push(event);
  });
  return events;
}

/**
 * The threat-intelligence indicators a capture's header declares for the
 * fake host (`"indicators":[{"kind":"domain","value":"*.evil.example","category":"command-and-control"}]`),
 * each with `source` defaulting to `fixture`.
 * @param {string} text
 * @returns {{kind: 'domain'|'ip'|'sha256', value: string, category: string, source: string}[]}
 */
export function captureIndicators(text) {
  const h = header(text);
  if (h.indicators === undefined) return [];
  const bad = (why) => new CaptureError(`line 1: bad \`indicators\`: ${why}`);
  if (!Array.isArray(h.indicators)) throw bad(`invalid type: ${describe(h.indicators)}, expected a sequence`);
  return h.indicators.map((i) => {
    if (i === null || typeof i !== 'object' || Array.isArray(i)) throw bad(`invalid type: ${describe(i)}, expected a map`);
    for (const key of ['kind', 'value', 'category']) {
      if (i[key] === undefined) throw bad(`missing field \`${key}\``);
      if (typeof i[key] !== 'string') throw bad(`invalid type: ${describe(i[key])}, expected a string`);
    }
    if (!['domain', 'ip', 'sha256'].includes(i.kind)) throw bad(`unknown indicator kind \`${i.kind}\` (domain, ip, sha256)`);
    if (i.source !== undefined && typeof i.source !== 'string') throw bad(`invalid type: ${describe(i.source)}, expected a string`);
    return { kind: i.kind, value: i.value, category: i.category, source: i.source ?? 'fixture' };
  });
}
