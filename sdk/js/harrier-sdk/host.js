// The host a detector talks to: the component's `harrier:detector/host`
// import, or a fake host while one is installed (a self-test, a test
// harness). Detectors call `host.*` rather than the import itself, so the
// same code answers from the fake in tests and in the self-test.

import * as live from 'harrier:detector/host@0.2.0';

let current = live;

/**
 * The host imports, in jco's shapes: `log(level, message)`, `nowNs()`,
 * `process(pid)`, `ancestry(pid, maxDepth)`, `recentWrite(path)`,
 * `intelMatch(kind, value)`.
 */
export const host = {
  /** @param {'trace'|'debug'|'info'|'warn'|'error'} level @param {string} message */
  log: (level, message) => current.log(level, message),
  /** @returns {bigint} nanoseconds since the Unix epoch */
  nowNs: () => current.nowNs(),
  /** @param {number} pid */
  process: (pid) => current.process(pid),
  /** @param {number} pid @param {number} maxDepth */
  ancestry: (pid, maxDepth) => current.ancestry(pid, maxDepth),
  /** @param {string} path */
  recentWrite: (path) => current.recentWrite(path),
  /** @param {'domain'|'ip'|'sha256'} kind @param {string} value */
  intelMatch: (kind, value) => current.intelMatch(kind, value),
};

/**
 * Run `fn` with `fake` (an object with the host functions, e.g. a
 * FakeHost) answering every `host.*` call, then put the previous host back.
 * @template T
 * @param {object} fake
 * @param {() => T} fn
 * @returns {T}
 */
export function withHost(fake, fn) {
  const previous = current;
  current = fake;
  try {
    return fn();
  } finally {
    current = previous;
  }
}
