import { test } from 'node:test';
import assert from 'node:assert/strict';

import { FindingBuilder, Harness, exportDetector, host, parseConfig, selfTest, wantsOpen } from '../index.js';
import { nativeHost } from '../testing.js';
import fixture from './data/two-events.jsonl';

const SPEC = { findingType: 'Execution:Runtime/TrueRan', severity: 3.0, title: 'true ran', description: 'The program true ran.', mitre: 'T1059' };
const OPEN = { findingType: 'CredentialAccess:Runtime/ShadowRead', severity: 6.0, title: 'read', description: 'Opened a file.', mitre: 'T1003.008' };

/** Reports exec of `programs`, file opens, logs, ticks, keeps a count across reloads. */
class Sample {
  constructor(config) {
    [this.policy, this.own] = parseConfig(config, { programs: ['/usr/bin/true'], prefixes: null });
    this.seen = 0;
    host.log('info', 'configured');
  }

  readPathPrefixes() {
    return this.own.prefixes ?? undefined;
  }

  onEvent(event, out) {
    this.seen += 1;
    const { tag, val } = event.detail;
    if (tag === 'exec' && this.own.programs.includes(val.filename) && this.policy.permits(SPEC.findingType, event.process)) {
      const parent = host.process(event.process.ppid);
      out.push(new FindingBuilder(SPEC, event).evidence('filename', val.filename).evidence('parent', parent?.exe).build());
    }
    if (tag === 'file-open' && this.policy.permits(OPEN.findingType, event.process, val.path)) {
      out.push(new FindingBuilder(OPEN, event).evidence('path', val.path).build());
    }
  }

  tick(nowNs, out) {
    if (nowNs === 100n) out.push(FindingBuilder.aboutPid(SPEC, 1).title(`tick at ${host.nowNs()}`).build());
  }

  snapshot() {
    return new TextEncoder().encode(String(this.seen));
  }

  restore(bytes) {
    if (bytes.length > 0 && !/^[0-9]+$/.test(new TextDecoder().decode(bytes))) throw new Error('bad snapshot');
    if (bytes.length > 0) this.seen = Number(new TextDecoder().decode(bytes));
  }
}

const OPENS = [
  '{"harrier_capture":1,"wit":"0.2.0"}',
  ...[
    ['/etc/shadow', 0],
    ['/usr/lib/libc.so', 0],
    ['/usr/lib/written', 0o1],
    ['relative', 0],
  ].map(([path, flags], i) => `{"kind":"file-open","pid":10,"seq":${i + 1},"time_ns":5,"process":{"pid":10,"tid":10,"ppid":1,"uid":0,"euid":0,"gid":0,"egid":0,"comm":"cat","exe":"/usr/bin/cat","container_id":null},"detail":{"FileOpen":{"path":"${path}","flags":${flags},"mode":0,"result":3}}}`),
].join('\n');

test('the harness runs captures under its fake host', () => {
  const h = new Harness(Sample, '{}');
  assert.deepEqual(h.host.logs, [{ level: 'info', message: 'configured' }], 'the constructor ran under the harness host');
  h.host.addProcess({ pid: 1, ppid: 0, exe: '/sbin/init' });
  const found = h.runCapture(fixture);
  assert.equal(found.length, 1);
  assert.deepEqual(found[0].evidence, [
    { key: 'exe', value: '/bin/sh' },
    { key: 'comm', value: 'sh' },
    { key: 'filename', value: '/usr/bin/true' },
    { key: 'parent', value: '/sbin/init' },
  ]);
  assert.equal(h.host.process(10).exe, '/usr/bin/true', 'the host learned from the capture');
  const ticked = h.tick(100n);
  assert.equal(ticked[0].title, 'tick at 100');
  assert.deepEqual(h.tick(5n), []);
  assert.throws(() => new Harness(Sample, '{"program": []}'), /unknown field `program`, expected `programs` or `prefixes`/);
  assert.deepEqual(nativeHost.logs, [], 'harness calls never reach the native fake host');
});

test('file opens are held back by readPathPrefixes, like the host', () => {
  const paths = (config) => new Harness(Sample, config).runCapture(OPENS).map((f) => f.evidence.at(-1).value);
  assert.deepEqual(paths('{}'), ['/etc/shadow', '/usr/lib/libc.so', '/usr/lib/written', 'relative']);
  assert.deepEqual(paths('{"prefixes": ["/etc/"]}'), ['/etc/shadow', '/usr/lib/written', 'relative']);
  assert.deepEqual(paths('{"prefixes": ["/etc/"], "allow_paths": ["/etc/*"]}'), ['/usr/lib/written', 'relative']);
  assert.equal(wantsOpen(undefined, '/x', 0), true);
  assert.equal(wantsOpen([], '/x', 0o100), true);
  assert.equal(wantsOpen(['/etc/shadow'], '/etc//shadow', 0), false);
});

test('selfTest checks the exact set of types, declared, citing events', () => {
  selfTest(Sample, { fixture, expected: [SPEC.findingType] });
  assert.throws(() => selfTest(Sample, { fixture, expected: [], findingTypes: [SPEC.findingType] }), /^Error: self-test: expected findings \[\], got \["Execution:Runtime\/TrueRan"\]$/);
  assert.throws(() => selfTest(Sample, { fixture, expected: [SPEC.findingType], config: '{"x":1}' }), /^Error: self-test config: invalid configuration: unknown field `x`/);
  assert.throws(() => selfTest(Sample, { fixture: '{}', expected: [] }), /^Error: self-test fixture: line 1: /);
  assert.throws(() => selfTest(Sample, { fixture, expected: [SPEC.findingType], findingTypes: ['Other:Runtime/X'] }), /finding type `Execution:Runtime\/TrueRan` is not declared in metadata\(\)/);
  let prepared;
  selfTest(Sample, { fixture, expected: [], config: '{"allow_parents": ["/sbin/*"]}', prepare: (h) => { prepared = h; h.addProcess({ pid: 1, ppid: 0, exe: '/sbin/init' }); } });
  assert.equal(prepared.process(10).exe, '/usr/bin/true', 'prepare sees what the host learned from the fixture');
  class Bad extends Sample {
    onEvent(event, out) {
      out.push({ ...new FindingBuilder(SPEC, event).build(), severity: 0.5 });
    }
  }
  assert.throws(() => selfTest(Bad, { fixture, expected: [SPEC.findingType] }), /Execution:Runtime\/TrueRan: severity 0.5 is outside/);
  class NoEvent extends Sample {
    onEvent(_event, out) {
      out.push(FindingBuilder.aboutPid(SPEC, 1).build());
    }
  }
  assert.throws(() => selfTest(NoEvent, { fixture, expected: [SPEC.findingType, SPEC.findingType] }), /cites no event/);
});

test('exportDetector gives the world exports', () => {
  const info = { name: 'sample', version: '1.2.3', description: 'A sample.', subscriptions: ['exec', 'file-open'], specs: [SPEC, OPEN], selfTest: { fixture, expected: [SPEC.findingType] } };
  const x = exportDetector(Sample, info);
  assert.deepEqual(Object.keys(x).sort(), ['init', 'metadata', 'onEvents', 'readPathPrefixes', 'restore', 'selfTest', 'snapshot', 'tick']);
  assert.deepEqual(x.metadata(), { name: 'sample', version: '1.2.3', description: 'A sample.', subscriptions: ['exec', 'file-open'], findingTypes: [SPEC.findingType, OPEN.findingType] });
  // Before init: built from "{}".
  assert.equal(x.readPathPrefixes(), undefined);
  assert.equal(new TextDecoder().decode(x.snapshot()), '0');
  x.init('{"prefixes": ["/etc/"]}');
  assert.deepEqual(x.readPathPrefixes(), ['/etc/']);
  let thrown;
  try {
    x.init('{"programs": "true"}');
  } catch (e) {
    thrown = e;
  }
  assert.equal(thrown, 'invalid configuration: `programs`: invalid type: string "true", expected a sequence', 'init throws a string');
  assert.deepEqual(x.readPathPrefixes(), ['/etc/'], 'a refused configuration keeps the detector');
  x.init('{}');
  x.selfTest();
  assert.equal(x.onEvents([]).length, 0);
  assert.equal(new TextDecoder().decode(x.snapshot()), '0', 'the self-test ran on its own instance');
  x.restore(new TextEncoder().encode('41'));
  assert.equal(new TextDecoder().decode(x.snapshot()), '41');
  assert.throws(() => x.restore(new TextEncoder().encode('x')), (e) => e === 'bad snapshot');
  assert.deepEqual(x.tick(100n).map((f) => f.pid), [1]);
  const failing = exportDetector(Sample, { ...info, selfTest: { fixture, expected: [] } });
  assert.throws(() => failing.selfTest(), (e) => typeof e === 'string' && e.startsWith('self-test: expected findings []'));
  assert.throws(() => exportDetector(Sample, { ...info, specs: [{ ...SPEC, mitre: 'x' }] }), /MITRE technique `x`/);
  assert.equal(exportDetector(Sample, { ...info, selfTest: undefined }).selfTest(), undefined);
  class Minimal {
    constructor(config) {
      parseConfig(config);
    }
    onEvent() {}
  }
  const m = exportDetector(Minimal, { ...info, selfTest: () => {} });
  assert.equal(m.readPathPrefixes(), undefined);
  assert.deepEqual(m.tick(1n), []);
  assert.deepEqual(m.snapshot(), new Uint8Array(0));
  m.restore(new Uint8Array(0));
  class Broken extends Minimal {
    constructor() {
      throw new Error('never');
    }
  }
  nativeHost.logs.length = 0;
  assert.deepEqual(exportDetector(Broken, info).onEvents([]), []);
  assert.match(nativeHost.logs[0].message, /called before init and the default configuration fails: never/);
});
