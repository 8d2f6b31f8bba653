import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness } from 'harrier-sdk/testing';
import fixture from '../fixtures/detect.jsonl';
import { {{pascal}}, selfTest } from '../detector.js';

test('reports the watched program with its command line', () => {
  const found = new Harness({{pascal}}, '{}').runCapture(fixture);
  assert.equal(found.length, 1);
  const evidence = found[0].evidence.map((e) => [e.key, e.value]);
  assert.deepEqual(evidence, [['exe', '/usr/local/bin/kubectl'], ['comm', 'kubectl'], ['filename', '/usr/local/bin/kubectl'], ['cmdline', 'kubectl exec -it web-0 -- sh']]);
});

test('programs replaces the default and unknown keys are refused', () => {
  const found = new Harness({{pascal}}, '{"programs":["ls"]}').runCapture(fixture);
  assert.equal(found[0].evidence[0].value, '/usr/bin/ls');
  assert.throws(() => new {{pascal}}('{"program":["ls"]}'), /unknown field `program`/);
});

test('self-test passes', () => {
  selfTest();
});
