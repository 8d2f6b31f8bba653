// Native tests of the JavaScript discovery detector against the shared capture fixtures.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Harness } from 'harrier-sdk/testing';
import detect from '../../../fixtures/js-discovery/detect.jsonl';
import benign from '../../../fixtures/benign.jsonl';
import { Discovery, SPEC, init, metadata, readPathPrefixes, selfTest } from '../detector.js';

const run = (config, capture = detect) => new Harness(Discovery, config).runCapture(capture);

test('detects reconnaissance from a container', () => {
  const found = run('{}');
  assert.deepEqual(found.map((f) => f.pid), [1301, 1302, 1303]);
  assert.deepEqual(found.map((f) => f.mitreTechnique), ['T1552.005', 'T1528', 'T1552.007']);
  assert.ok(found.every((f) => f.findingType === 'Discovery:Runtime/SuspiciousCommand'));
  assert.equal(found[0].title, 'Suspicious discovery command: cloud credentials requested');
  assert.deepEqual(found[0].eventSeqs, [1n]);
  assert.deepEqual(found[0].evidence, [
    { key: 'exe', value: '/usr/bin/curl' },
    { key: 'comm', value: 'curl' },
    { key: 'rule', value: 'cloud credentials requested' },
    { key: 'cmdline', value: 'curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/' },
    { key: 'container_id', value: 'pod-c' },
  ]);
});

test('benign workload is quiet, also outside containers', () => {
  assert.deepEqual(run('{"containers_only": false}', benign), []);
});

test('outside containers only with containers_only false', () => {
  const host = detect.replaceAll('"container_id":"pod-c"', '"container_id":null');
  assert.deepEqual(run('{}', host), []);
  assert.deepEqual(run('{"containers_only": false}', host).map((f) => f.pid), [1301, 1302, 1303]);
});

test('configuration is validated and applied', () => {
  assert.throws(() => new Discovery('{"nope": 1}'), /unknown field `nope`/);
  assert.throws(() => new Discovery('{"extra_patterns": "x"}'), /extra_patterns/);
  assert.throws(() => new Discovery('[1]'), /JSON object/);
  assert.deepEqual(run('{"allow_executables": ["/usr/bin/curl"]}').map((f) => f.pid), [1302, 1303]);
  assert.deepEqual(run('{"allow_executables": ["/usr/bin/*"]}').map((f) => f.pid), [1303], 'globs');
  assert.deepEqual(run('{"extra_patterns": ["LS /"]}').map((f) => f.pid), [1301, 1302, 1303, 1304]);
  assert.deepEqual(run(`{"disabled_types": ["${SPEC.findingType}"]}`), []);
});

test('exports: metadata, init and self-test', () => {
  assert.deepEqual(metadata().subscriptions, ['exec']);
  assert.deepEqual(metadata().findingTypes, [SPEC.findingType]);
  assert.equal(readPathPrefixes(), undefined);
  init('{}');
  assert.throws(() => init('{"bad": true}'), /unknown field/);
  selfTest();
});
