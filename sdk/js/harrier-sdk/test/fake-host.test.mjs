import { test } from 'node:test';
import assert from 'node:assert/strict';

import { FakeHost, parseCapture, parseIp, processInfo } from '../index.js';
import fixtureText from './data/two-events.jsonl';

const HEADER = '{"harrier_capture":1,"wit":"0.2.0"}';
const event = (seq, pid, ppid, exe, detail, time = seq) =>
  `{"kind":"${Object.keys(detail)[0].replace(/[A-Z]/g, (c, i) => (i ? '-' : '') + c.toLowerCase())}","pid":${pid},"seq":${seq},"time_ns":${time},"process":{"pid":${pid},"tid":${pid},"ppid":${ppid},"uid":1000,"euid":1000,"gid":0,"egid":0,"comm":"c${pid}","exe":"${exe}","container_id":"ctr"},"detail":${JSON.stringify(detail)}}`;

test('observe learns processes and the clock, like FakeHost::observe', () => {
  const host = new FakeHost();
  for (const e of parseCapture(fixtureText)) host.observe(e);
  assert.equal(host.processes.get(10).exe, '/usr/bin/true');
  assert.equal(host.processes.get(10).cmdline, 'true');
  assert.equal(host.processes.get(10).startTimeNs, 5n);
  assert.equal(host.nowNs(), 6n);
});

test('observe: fork children, creating opens, writes and renames', () => {
  const text = [
    HEADER,
    event(1, 20, 1, '/bin/bash', { Fork: { child_pid: 21, clone_flags: 0 } }),
    event(2, 21, 20, '/bin/bash', { Exec: { filename: '/usr/bin/curl', args: ['curl', '-o', 'x'], args_truncated: false, cwd: '/tmp', ld_preload: null, ld_library_path: null, file_mode: 33261, dev: 1, inode: 2, mtime_ns: 3 } }),
    event(3, 21, 20, '/usr/bin/curl', { FileOpen: { path: '/tmp/x', flags: 0o1101, mode: 0o644, result: 3 } }),
    event(4, 21, 20, '/usr/bin/curl', { FileWrite: { path: '/tmp/x', bytes: 10 } }),
    event(5, 21, 20, '/usr/bin/curl', { FileOpen: { path: '/tmp/failed', flags: 0o1101, mode: 0o644, result: -13 } }),
    event(6, 21, 20, '/usr/bin/curl', { FileOpen: { path: '/etc/hosts', flags: 0, mode: 0, result: 4 } }),
    event(7, 21, 20, '/usr/bin/curl', { FileRename: { old_path: '/tmp/x', new_path: '/tmp/y', result: 0 } }),
  ].join('\n');
  const host = new FakeHost();
  for (const e of parseCapture(text)) host.observe(e);
  const child = host.process(21);
  assert.equal(child.exe, '/usr/bin/curl');
  assert.equal(child.ppid, 20);
  assert.equal(child.cwd, '/tmp');
  assert.equal(child.containerId, 'ctr');
  assert.equal(child.userName, undefined, 'uid 1000 has no name in the fake');
  assert.equal(host.process(20).cmdline, 'c20');
  assert.deepEqual(host.recentWrite('/tmp/x'), { path: '/tmp/x', writerPid: 21, writerExe: '/usr/bin/curl', timeNs: 4n, created: true });
  assert.equal(host.recentWrite('/tmp/failed'), undefined);
  assert.equal(host.recentWrite('/etc/hosts'), undefined);
  assert.equal(host.recentWrite('/tmp/y').created, true);
  host.process(21).exe = 'changed';
  assert.equal(host.process(21).exe, '/usr/bin/curl', 'answers are copies');
});

test('ancestry, recent writes, hashes and logs', () => {
  const host = new FakeHost()
    .addProcess(processInfo(1, 0, '/sbin/init'))
    .addProcess(processInfo(2, 1, '/usr/sbin/sshd'))
    .addProcess(processInfo(3, 2, '/bin/bash'))
    .addRecentWrite('/tmp/x', 3, 9n, true)
    .setExeSha256(3, 'ab'.repeat(32))
    .setExeSha256(99, 'cd');
  assert.deepEqual(host.ancestry(3, 8).map((p) => p.pid), [2, 1]);
  assert.equal(host.ancestry(3, 1).length, 1);
  assert.deepEqual(host.ancestry(99, 8), []);
  assert.equal(host.recentWrite('/tmp/x').writerExe, '/bin/bash');
  assert.equal(host.process(3).exeSha256, 'ab'.repeat(32));
  assert.equal(host.process(99), undefined);
  const loop = new FakeHost().addProcess(processInfo(5, 6, '/a')).addProcess(processInfo(6, 5, '/b'));
  assert.deepEqual(loop.ancestry(5, 8).map((p) => p.pid), [6, 5], 'a cycle ends');
  host.log('info', 'hello');
  assert.deepEqual(host.logs, [{ level: 'info', message: 'hello' }]);
});

test('indicators answer like the host: the most specific entry', () => {
  const host = new FakeHost()
    .addIndicator('domain', '*.evil.example', 'command-and-control')
    .addIndicator('domain', '*.example', 'suspicious')
    .addIndicator('ip', '198.51.100.0/24', 'tor-relay', 'list')
    .addIndicator('ip', '198.51.100.7', 'drop-point')
    .addIndicator('ip', '2001:db8::/32', 'blackhole')
    .addIndicator('sha256', 'AB'.repeat(32), 'malicious-file');
  assert.deepEqual(host.intelMatch('domain', 'A.Evil.Example.'), { category: 'command-and-control', source: 'fixture', indicator: 'evil.example' });
  assert.equal(host.intelMatch('domain', 'other.example').category, 'suspicious');
  assert.equal(host.intelMatch('domain', 'notevil.com'), undefined);
  assert.equal(host.intelMatch('ip', '198.51.100.7').category, 'drop-point');
  assert.equal(host.intelMatch('ip', '198.51.100.9').source, 'list');
  assert.equal(host.intelMatch('ip', '198.51.101.9'), undefined);
  assert.equal(host.intelMatch('ip', '2001:db8:1::5').category, 'blackhole');
  assert.equal(host.intelMatch('ip', '2001:db9::5'), undefined);
  assert.equal(host.intelMatch('sha256', 'ab'.repeat(32)).category, 'malicious-file');
  assert.equal(host.intelMatch('sha256', '198.51.100.7'), undefined);
});

test('addresses parse like Rust std::net', () => {
  assert.deepEqual(parseIp('10.0.0.1'), { width: 32, n: 0x0a000001n });
  assert.equal(parseIp('::1').n, 1n);
  assert.equal(parseIp('::ffff:192.0.2.1').n, 0xffffc0000201n);
  assert.equal(parseIp('1:2:3:4:5:6:7:8').n, 0x00010002000300040005000600070008n);
  for (const bad of ['256.0.0.1', '01.2.3.4', '1.2.3', '1:2:3:4:5:6:7:8:9', '1::2::3', '1:2:3:4:5:6:7::8', 'x', '1.2.3.4::']) {
    assert.equal(parseIp(bad), undefined, bad);
  }
});
