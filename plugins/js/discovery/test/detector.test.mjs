// Native tests of the JavaScript discovery detector against the shared capture fixtures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { Discovery, parseConfig, runSelfTest, init, selfTest, metadata, readPathPrefixes } from '../detector.js';

const FIXTURES = new URL('../../../fixtures/', import.meta.url);
const BIG = new Set(['seq', 'time_ns', 'dev', 'inode', 'mtime_ns', 'result', 'clone_flags', 'flags', 'fd', 'old_fd', 'new_fd']);
const camel = (s) => s.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
const kebab = (s) => s.replace(/[A-Z]/g, (c, i) => (i ? '-' : '') + c.toLowerCase());

function convert(value, key) {
  if (Array.isArray(value)) return value.map((v) => convert(v));
  if (value === null) return undefined;
  if (typeof value === 'number' && BIG.has(key)) return BigInt(value);
  if (typeof value !== 'object') return value;
  const out = {};
  for (const [k, v] of Object.entries(value)) out[camel(k)] = convert(v, k);
  return out;
}

/** Load a capture fixture into jco's shapes. */
function load(name) {
  const lines = readFileSync(new URL(name, FIXTURES), 'utf8').split('\n').filter(Boolean);
  assert.equal(JSON.parse(lines[0]).harrier_capture, 1, 'capture header');
  return lines.slice(1).map((line) => {
    const raw = JSON.parse(line);
    const [[variant, payload]] = Object.entries(raw.detail);
    return {
      seq: BigInt(raw.seq),
      timeNs: BigInt(raw.time_ns),
      process: convert(raw.process),
      detail: { tag: kebab(variant), val: convert(payload) },
    };
  });
}

test('detects reconnaissance from a container', () => {
  const found = new Discovery('{}').onEvents(load('js-discovery/detect.jsonl'));
  assert.deepEqual(found.map((f) => f.pid), [1301, 1302, 1303]);
  assert.deepEqual(found.map((f) => f.mitreTechnique), ['T1552.005', 'T1528', 'T1552.007']);
  assert.ok(found.every((f) => f.findingType === 'Discovery:Runtime/SuspiciousCommand'));
});

test('benign workload is quiet, also outside containers', () => {
  assert.deepEqual(new Discovery('{"containers_only": false}').onEvents(load('benign.jsonl')), []);
});

test('configuration is validated and applied', () => {
  assert.throws(() => parseConfig('{"nope": 1}'), /unknown field `nope`/);
  assert.throws(() => parseConfig('{"extra_patterns": "x"}'), /extra_patterns/);
  assert.throws(() => parseConfig('[1]'), /JSON object/);
  const allowed = new Discovery('{"allow_executables": ["/usr/bin/curl"]}').onEvents(load('js-discovery/detect.jsonl'));
  assert.deepEqual(allowed.map((f) => f.pid), [1302, 1303]);
  const extra = new Discovery('{"extra_patterns": ["LS /"]}').onEvents(load('js-discovery/detect.jsonl'));
  assert.deepEqual(extra.map((f) => f.pid), [1301, 1302, 1303, 1304]);
});

test('exports: metadata, init and self-test', () => {
  assert.deepEqual(metadata().subscriptions, ['exec']);
  assert.equal(readPathPrefixes(), undefined);
  init('{}');
  assert.throws(() => init('{"bad": true}'), /unknown field/);
  assert.equal(runSelfTest(), undefined);
  selfTest();
});
