import { test } from 'node:test';
import assert from 'node:assert/strict';

import { ConfigError, FakeHost, globMatches, parseConfig, processInfo, withHost } from '../index.js';

const proc = (exe, containerId) => ({ pid: 7, tid: 7, ppid: 1, uid: 0, euid: 0, gid: 0, egid: 0, comm: 'x', exe, containerId, cgroupId: undefined });

test('splits the policy from the own keys', () => {
  const [policy, own] = parseConfig('{"names":["a"],"allow_executables":["/opt/*"],"containers_only":true}', { names: [] });
  assert.deepEqual(own, { names: ['a'] });
  assert.equal(policy.containersOnly, true);
  assert.equal(policy.permits('T', proc('/bin/x', undefined)), false);
  assert.equal(policy.permits('T', proc('/opt/x', 'c')), false);
  assert.equal(policy.permits('T', proc('/bin/x', 'c')), true);
});

test('defaults fill in and are copied; a shared key default can be replaced', () => {
  const defaults = { programs: ['kubectl'], limit: 3, name: 'n', strict: false };
  const [policy, own] = parseConfig('', defaults);
  assert.deepEqual(own, defaults);
  own.programs.push('x');
  assert.deepEqual(defaults.programs, ['kubectl']);
  assert.equal(policy.containersOnly, false);
  assert.equal(parseConfig('{}', { containers_only: true })[0].containersOnly, true);
  assert.equal(parseConfig('{"containers_only": false}', { containers_only: true })[0].containersOnly, false);
  assert.deepEqual(parseConfig('  ')[1], {});
});

test('errors name the field, as the Rust SDK words them', () => {
  const err = (text, defaults = { names: [] }) => {
    try {
      parseConfig(text, defaults);
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      return e.message;
    }
    assert.fail(`${text} was accepted`);
  };
  assert.equal(err('{"names":["a", 3]}'), 'invalid configuration: `names[1]`: invalid type: integer `3`, expected a string');
  assert.equal(err('{"nmes":[]}'), 'invalid configuration: unknown field `nmes`, expected `names`');
  assert.equal(err('{"x":1}', { a: [], b: true }), 'invalid configuration: unknown field `x`, expected `a` or `b`');
  assert.equal(err('{"x":1}', { a: [], b: true, c: '' }), 'invalid configuration: unknown field `x`, expected one of `a`, `b`, `c`');
  assert.equal(err('{"x":1}', {}), 'invalid configuration: unknown field `x`, there are no fields');
  assert.equal(err('{"containers_only":"yes"}'), 'invalid configuration: `containers_only`: invalid type: string "yes", expected a boolean');
  assert.equal(err('{"allow_paths":null}'), 'invalid configuration: `allow_paths`: invalid type: null, expected a sequence');
  assert.equal(err('{"names":"x"}'), 'invalid configuration: `names`: invalid type: string "x", expected a sequence');
  assert.equal(err('{"n": 1.5}', { n: 'a' }), 'invalid configuration: `n`: invalid type: floating point `1.5`, expected a string');
  assert.match(err('{\n"names": ['), /^invalid configuration: not valid JSON: .* at line 2/);
  assert.equal(err('[]'), 'invalid configuration: the configuration must be a JSON object');
  assert.equal(err('null'), 'invalid configuration: the configuration must be a JSON object');
  // serde_json's map is sorted: the first bad key in key order is reported.
  assert.match(err('{"zz": 1, "aa": 2}'), /unknown field `aa`/);
  assert.match(err('{"__proto__": {}}'), /unknown field `__proto__`/);
});

test('paths and disabled types', () => {
  const [policy] = parseConfig('{"allow_paths":["/tmp/ok/*"],"disabled_types":["A"]}');
  const p = proc('/bin/x', undefined);
  assert.equal(policy.permits('A', p), false);
  assert.equal(policy.permits('B', p, '/tmp/ok/file'), false);
  assert.equal(policy.permits('B', p, '/tmp/other'), true);
  assert.equal(policy.permits('B', p), true);
});

test('allow_parents asks the host for 4 ancestors', () => {
  const host = new FakeHost()
    .addProcess(processInfo(1, 0, '/sbin/init'))
    .addProcess(processInfo(2, 1, '/usr/bin/containerd-shim'))
    .addProcess(processInfo(3, 2, '/bin/sh'))
    .addProcess(processInfo(4, 3, '/bin/sh'))
    .addProcess(processInfo(5, 4, '/bin/sh'))
    .addProcess(processInfo(6, 5, '/bin/sh'))
    .addProcess(processInfo(7, 6, '/bin/x'));
  const [policy] = parseConfig('{"allow_parents":["*/containerd-shim"]}');
  withHost(host, () => {
    assert.equal(policy.permits('T', { ...proc('/bin/x'), pid: 6 }), false, 'shim is 4 up');
    assert.equal(policy.permits('T', proc('/bin/x')), true, 'shim is 5 up');
  });
  const [none] = parseConfig('{}');
  assert.equal(withHost({ ancestry: () => assert.fail('asked the host') }, () => none.permits('T', proc('/bin/x'))), true);
});

test('globs match like the Rust SDK (wildmatch)', () => {
  const cases = [
    ['/usr/bin/*', '/usr/bin/curl', true],
    ['/usr/*', '/usr/local/bin/kubectl', true], // `*` crosses `/`
    ['*/kubectl', '/usr/local/bin/kubectl', true],
    ['/bin/?h', '/bin/sh', true],
    ['/bin/?h', '/bin/bash', false],
    ['/bin/??', '/bin/é!', true], // one character, not one byte
    ['a*b*c', 'aXbYbZc', true],
    ['a*b', 'aXbYc', false],
    ['**', '', true],
    ['*', '', true],
    ['', '', true],
    ['', 'x', false],
    ['/bin/sh', '/bin/sh', true],
    ['/bin/sh', '/bin/shx', false],
  ];
  for (const [pattern, text, want] of cases) assert.equal(globMatches(pattern, text), want, `${pattern} ~ ${text}`);
});
