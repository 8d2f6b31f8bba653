// Harrier detector in JavaScript: Discovery:Runtime/SuspiciousCommand.
//
// Reports cluster and cloud reconnaissance from inside containers:
// reading the Kubernetes service-account token, listing secrets or probing
// RBAC with kubectl, and asking the cloud metadata service for credentials.
//
// Configuration (JSON object, unknown keys refused):
//   containers_only (bool, default true), allow_executables (list of paths),
//   extra_patterns (list of lower-case substrings of the command line),
//   disabled_types (list of finding types).
//
// Types follow jco's mapping of the WIT: records are objects with camelCase
// fields, variants are { tag, val }, enums are strings, u64/s64 are BigInt.

import { log } from 'harrier:detector/host@0.2.0';

const NAME = 'discovery-js';
const VERSION = '0.1.0';
const FINDING_TYPE = 'Discovery:Runtime/SuspiciousCommand';
const SEVERITY = 5.0;
const KNOWN_KEYS = ['containers_only', 'allow_executables', 'extra_patterns', 'disabled_types'];

// [rule, MITRE technique, substrings that must all appear in the command line]
const RULES = [
  ['service account token read', 'T1528', ['/var/run/secrets/kubernetes.io/serviceaccount']],
  ['kubernetes secrets listed', 'T1552.007', ['kubectl', 'get', 'secret']],
  ['kubernetes permissions probed', 'T1069', ['kubectl', 'auth', 'can-i']],
  ['cloud credentials requested', 'T1552.005', ['169.254.169.254', 'security-credentials']],
  ['cloud credentials requested', 'T1552.005', ['metadata.google.internal', 'service-accounts']],
  ['cloud metadata probed', 'T1580', ['169.254.169.254', 'meta-data']],
  ['container runtime probed', 'T1613', ['docker.sock', 'containers/json']],
];

/** Parse the JSON configuration; throws a message naming the bad key. */
export function parseConfig(text) {
  let config;
  try {
    config = JSON.parse(text && text.trim() ? text : '{}');
  } catch (e) {
    throw `invalid configuration: not valid JSON: ${e.message}`;
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw 'invalid configuration: the configuration must be a JSON object';
  }
  for (const key of Object.keys(config)) {
    if (!KNOWN_KEYS.includes(key)) {
      throw `invalid configuration: unknown field \`${key}\`, expected one of ${KNOWN_KEYS.join(', ')}`;
    }
  }
  for (const key of ['allow_executables', 'extra_patterns', 'disabled_types']) {
    const v = config[key] ?? [];
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) {
      throw `invalid configuration: \`${key}\` must be a list of strings`;
    }
  }
  if (config.containers_only !== undefined && typeof config.containers_only !== 'boolean') {
    throw 'invalid configuration: `containers_only` must be true or false';
  }
  return {
    containersOnly: config.containers_only ?? true,
    allowExecutables: config.allow_executables ?? [],
    extraPatterns: (config.extra_patterns ?? []).map((p) => p.toLowerCase()),
    disabled: (config.disabled_types ?? []).includes(FINDING_TYPE),
  };
}

/** The detection logic for one configuration. */
export class Discovery {
  constructor(configText) {
    this.config = parseConfig(configText);
  }

  /** The finding for one event, or undefined. */
  onEvent(event) {
    const c = this.config;
    if (c.disabled || event.detail.tag !== 'exec') return undefined;
    const p = event.process;
    if (c.containersOnly && !p.containerId) return undefined;
    if (c.allowExecutables.includes(p.exe)) return undefined;
    const exec = event.detail.val;
    const line = exec.args.join(' ').toLowerCase();
    let match = RULES.find(([, , needles]) => needles.every((n) => line.includes(n)));
    if (!match) {
      const extra = c.extraPatterns.find((n) => line.includes(n));
      if (extra) match = ['configured pattern', 'T1082', [extra]];
    }
    if (!match) return undefined;
    const [rule, technique] = match;
    const evidence = [
      { key: 'rule', value: rule },
      { key: 'exe', value: exec.filename },
      { key: 'cmdline', value: exec.args.join(' ') },
    ];
    if (p.containerId) evidence.push({ key: 'container_id', value: p.containerId });
    return {
      findingType: FINDING_TYPE,
      severity: SEVERITY,
      title: `Suspicious discovery command: ${rule}`,
      description: 'A process in a container read the service-account token, listed secrets, probed RBAC or asked the cloud metadata service for credentials.',
      mitreTechnique: technique,
      pid: p.pid,
      eventSeqs: [event.seq],
      evidence,
    };
  }

  /** Findings for a batch. */
  onEvents(events) {
    const out = [];
    for (const e of events) {
      const f = this.onEvent(e);
      if (f) out.push(f);
    }
    return out;
  }
}

function selfTestEvent(seq, args, containerId) {
  return {
    seq: BigInt(seq),
    timeNs: BigInt(seq),
    process: { pid: seq, tid: seq, ppid: 1, uid: 0, euid: 0, gid: 0, egid: 0, comm: args[0], exe: `/usr/bin/${args[0]}`, containerId },
    detail: {
      tag: 'exec',
      val: { filename: `/usr/bin/${args[0]}`, args, argsTruncated: false, cwd: '/', ldPreload: undefined, ldLibraryPath: undefined, fileMode: 0o100755, dev: 1n, inode: 2n, mtimeNs: 3n },
    },
  };
}

/** Run the built-in cases; returns an error message or undefined. */
export function runSelfTest() {
  const d = new Discovery('{}');
  const found = d.onEvents([
    selfTestEvent(1, ['cat', '/var/run/secrets/kubernetes.io/serviceaccount/token'], 'c1'),
    selfTestEvent(2, ['kubectl', 'get', 'secrets', '-A'], 'c1'),
    selfTestEvent(3, ['kubectl', 'get', 'secrets'], undefined),
    selfTestEvent(4, ['ls', '/'], 'c1'),
  ]);
  const pids = found.map((f) => f.pid).join(',');
  return pids === '1,2' ? undefined : `self-test: expected findings for pids 1,2, got ${pids}`;
}

// --- the component's exports ----------------------------------------------

let detector;

export function metadata() {
  return {
    name: NAME,
    version: VERSION,
    description: 'Cluster and cloud reconnaissance from containers (service-account token, kubectl secrets/RBAC, metadata credentials). Written in JavaScript.',
    subscriptions: ['exec'],
    findingTypes: [FINDING_TYPE],
  };
}

export function init(config) {
  detector = new Discovery(config);
  log('info', `configured (containers_only=${detector.config.containersOnly})`);
}

// Not subscribed to file opens: nothing to narrow.
export function readPathPrefixes() {
  return undefined;
}

export function onEvents(events) {
  if (!detector) detector = new Discovery('{}');
  return detector.onEvents(events);
}

export function tick(_nowNs) {
  return [];
}

export function selfTest() {
  const error = runSelfTest();
  if (error) throw error;
}

export function snapshot() {
  return new Uint8Array(0);
}

export function restore(_state) {}
