import { test } from 'node:test';
import assert from 'node:assert/strict';

import { FindingBuilder, checkSeverity, metadata, parseEvent, severityLabel, validateSpec, validateSpecs } from '../index.js';

const GOOD = { findingType: 'Impact:Runtime/CryptoMinerExecuted', severity: 8.0, title: 't', description: 'd', mitre: 'T1496' };

const LINE = '{"kind":"file-open","pid":10,"seq":7,"time_ns":5,"process":{"pid":10,"tid":11,"ppid":1,"uid":0,"euid":0,"gid":0,"egid":0,"comm":"cat","exe":"/usr/bin/cat","container_id":null},"detail":{"FileOpen":{"path":"/etc/shadow","flags":0,"mode":0,"result":3}},"fidelity":{"cut":[],"raw":[],"folded":[{"field":"path","escaped":"/tmp/../etc/shadow"},{"field":"old-path","escaped":"a/./b"}]}}';

test('the severity scale is enforced', () => {
  assert.throws(() => checkSeverity(0.5), /outside GuardDuty's 1.0-10.0 scale/);
  assert.throws(() => checkSeverity(10.5));
  assert.throws(() => checkSeverity(NaN));
  assert.equal(severityLabel(9.0), 'Critical');
  assert.equal(severityLabel(7.0), 'High');
  assert.equal(severityLabel(4.0), 'Medium');
  assert.equal(severityLabel(3.9), 'Low');
});

test('specs are validated like FindingSpec::validate', () => {
  validateSpec(GOOD);
  validateSpec({ ...GOOD, mitre: 'T1055.008' });
  assert.throws(() => validateSpec({ ...GOOD, findingType: 'CryptoMinerExecuted' }), /has no `Tactic:` prefix/);
  assert.throws(() => validateSpec({ ...GOOD, findingType: 'Impact:CryptoMinerExecuted' }), /is not `Impact:Runtime\/Name`/);
  assert.throws(() => validateSpec({ ...GOOD, findingType: 'Imp4ct:Runtime/X' }), /is not `Tactic:Runtime\/Name`/);
  assert.throws(() => validateSpec({ ...GOOD, findingType: 'Impact:Runtime/' }), /is not `Tactic:Runtime\/Name`/);
  assert.throws(() => validateSpec({ ...GOOD, severity: 11.0 }), /^Error: Impact:Runtime\/CryptoMinerExecuted: severity 11 is outside GuardDuty's 1.0-10.0 scale$/);
  assert.throws(() => validateSpec({ ...GOOD, mitre: '1496' }), /MITRE technique `1496` is not T1234 or T1234.001/);
  assert.throws(() => validateSpec({ ...GOOD, mitre: 'T1496.1' }), /MITRE/);
  assert.throws(() => validateSpec({ ...GOOD, title: '' }), /title and description are required/);
  assert.throws(() => validateSpecs([GOOD, GOOD]), /listed twice/);
  assert.deepEqual(metadata('n', '1.0.0', 'd', ['exec'], [GOOD]), { name: 'n', version: '1.0.0', description: 'd', subscriptions: ['exec'], findingTypes: [GOOD.findingType] });
});

test('the builder gives the Rust evidence: exe, comm, then <field>_as_given', () => {
  const event = parseEvent(LINE);
  const f = new FindingBuilder(GOOD, event).evidence('path', event.detail.val.path).evidence('empty', '').evidence('none', undefined).evidence('n', 3).build();
  assert.deepEqual(f, {
    findingType: GOOD.findingType,
    severity: 8.0,
    title: 't',
    description: 'd',
    mitreTechnique: 'T1496',
    pid: 10,
    eventSeqs: [7n],
    evidence: [
      { key: 'exe', value: '/usr/bin/cat' },
      { key: 'comm', value: 'cat' },
      { key: 'path_as_given', value: '/tmp/../etc/shadow' },
      { key: 'old_path_as_given', value: 'a/./b' },
      { key: 'path', value: '/etc/shadow' },
      { key: 'n', value: '3' },
    ],
  });
  const noExe = parseEvent(LINE.replace('"exe":"/usr/bin/cat"', '"exe":""').replace(',"fidelity":{"cut":[],"raw":[],"folded":[{"field":"path","escaped":"/tmp/../etc/shadow"},{"field":"old-path","escaped":"a/./b"}]}', ''));
  assert.deepEqual(new FindingBuilder(GOOD, noExe).build().evidence, [{ key: 'comm', value: 'cat' }]);
});

test('title, severity, mitre, more events, about a pid', () => {
  const event = parseEvent(LINE);
  const b = new FindingBuilder(GOOD, event).title('other').severity(9.5).mitre('T1059.004').eventSeq(7n).eventSeq(9n);
  const f = b.build();
  const before = f.evidence.length;
  assert.equal(f.title, 'other');
  assert.equal(f.severity, 9.5);
  assert.equal(f.mitreTechnique, 'T1059.004');
  assert.deepEqual(f.eventSeqs, [7n, 9n]);
  assert.throws(() => b.severity(0), /1.0-10.0/);
  b.evidence('later', 'x');
  assert.equal(f.evidence.length, before, 'a built finding does not change with the builder');
  const t = FindingBuilder.aboutPid(GOOD, 42).build();
  assert.equal(t.pid, 42);
  assert.deepEqual(t.eventSeqs, []);
  assert.deepEqual(t.evidence, []);
});
