// Test support under Node: everything a detector's tests need, plus reading
// captures from files. Not for the component (it uses node:fs).

import { readFileSync } from 'node:fs';

import { parseCapture } from './capture.js';

export { FakeHost, processInfo } from './fake-host.js';
export { Harness, wantsOpen } from './harness.js';
export { selfTest, checkFindings, types } from './self-test.js';
export { parseCapture, parseEvent, captureIndicators } from './capture.js';
export { withHost } from './host.js';
export { nativeHost } from './native-host.js';

/**
 * Read a capture file's text.
 * @param {string|URL} path
 * @returns {string}
 */
export function readCapture(path) {
  return readFileSync(path, 'utf8');
}

/**
 * Load a capture file into events in jco's shape; errors name the file and line.
 * @param {string|URL} path
 * @returns {object[]}
 */
export function loadCapture(path) {
  const text = readCapture(path);
  try {
    return parseCapture(text);
  } catch (e) {
    throw new Error(`${path}: ${e.message}`);
  }
}

/**
 * Findings at Medium (4.0) or worse, as "type (severity) pid evidence" lines.
 * @param {object[]} findings
 */
export function mediumOrWorse(findings) {
  return findings
    .filter((f) => f.severity >= 4.0)
    .map((f) => `${f.findingType} (${f.severity}) pid ${f.pid} ${JSON.stringify(f.evidence)}`);
}
