import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';

import { captureIndicators, parseCapture, parseEvent } from '../index.js';
import { loadCapture } from '../testing.js';
import fixtureText from './data/two-events.jsonl';

const HEADER = '{"harrier_capture":1,"wit":"0.2.0"}';
const PROCESS = '"process":{"pid":10,"tid":10,"ppid":1,"uid":0,"euid":0,"gid":0,"egid":0,"comm":"sh","exe":"/bin/sh","container_id":null}';
const EXEC = `{"kind":"exec","pid":10,"seq":1,"time_ns":5,${PROCESS},"detail":{"Exec":{"filename":"/usr/bin/true","args":["true"],"args_truncated":false,"cwd":"/","ld_preload":null,"ld_library_path":null,"file_mode":33261,"dev":1,"inode":2,"mtime_ns":3}}}`;
const capture = (...lines) => `${[HEADER, ...lines].join('\n')}\n`;

test('a capture reads into jco shapes', () => {
  const events = parseCapture(fixtureText);
  assert.equal(events.length, 2);
  const [exec, connect] = events;
  assert.deepEqual(exec.process, { pid: 10, tid: 10, ppid: 1, uid: 0, euid: 0, gid: 0, egid: 0, comm: 'sh', exe: '/bin/sh', containerId: undefined, cgroupId: undefined });
  assert.equal(exec.seq, 1n);
  assert.equal(exec.timeNs, 5n);
  assert.equal(exec.detail.tag, 'exec');
  assert.deepEqual(exec.detail.val, {
    filename: '/usr/bin/true', args: ['true'], argsTruncated: false, cwd: '/', ldPreload: undefined, ldLibraryPath: undefined,
    fileMode: 33261, dev: 1n, inode: 2n, mtimeNs: 3n, argsGap: undefined,
  });
  assert.equal(exec.fidelity, undefined);
  assert.deepEqual(connect.detail, { tag: 'net-connect', val: { fd: 3n, address: { tag: 'ipv4', val: ['127.0.0.1', 80] }, result: 0n } });
  assert.equal(connect.process.containerId, 'abc');
  assert.equal(connect.process.cgroupId, 4026531835n);
});

test('64-bit fields: exact 19-digit numbers, and decimal strings', () => {
  const big = EXEC.replace('"time_ns":5', '"time_ns":1764000000001000001').replace('"dev":1', '"dev":"18446744073709551615"').replace('"mtime_ns":3', '"mtime_ns":"1764000000001000001"');
  const [e] = parseCapture(capture(big));
  assert.equal(e.timeNs, 1764000000001000001n);
  assert.equal(e.detail.val.mtimeNs, 1764000000001000001n);
  assert.equal(e.detail.val.dev, 18446744073709551615n);
  assert.throws(() => parseCapture(capture(EXEC.replace('"dev":1', '"dev":18446744073709551616'))), /line 2: detail.Exec.dev: invalid value: integer `18446744073709551616`, expected u64/);
  assert.throws(() => parseCapture(capture(EXEC.replace('"dev":1', '"dev":"0x10"'))), /expected u64 \(a number or a decimal string\)/);
  assert.throws(() => parseCapture(capture(EXEC.replace('"file_mode":33261', '"file_mode":"33261"'))), /detail.Exec.file_mode: invalid type: string "33261", expected u32/);
  assert.throws(() => parseCapture(capture(EXEC.replace('"pid":10,"tid"', '"pid":-1,"tid"'))), /process.pid: invalid value: integer `-1`, expected u32/);
});

test('every variant, option and fidelity', () => {
  const line = (kind, detail, extra = '') => `{"kind":"${kind}","pid":10,"seq":1,"time_ns":5,${PROCESS},"detail":${detail}${extra}}`;
  const one = (kind, detail, extra) => parseEvent(line(kind, detail, extra));
  assert.deepEqual(one('dns-answer', '{"DnsAnswer":{"query":"a.example","query_type":1,"rcode":0,"answers":[{"name":"a.example","record_type":1,"ttl":60,"value":"192.0.2.1"}],"server":{"Ipv6":["::1",53]}}}').detail, {
    tag: 'dns-answer',
    val: { query: 'a.example', queryType: 1, rcode: 0, answers: [{ name: 'a.example', recordType: 1, ttl: 60, value: '192.0.2.1' }], server: { tag: 'ipv6', val: ['::1', 53] } },
  });
  assert.deepEqual(one('net-bind', '{"NetBind":{"fd":-1,"address":{"Unix":"/run/x.sock"},"result":-98}}').detail.val, { fd: -1n, address: { tag: 'unix', val: '/run/x.sock' }, result: -98n });
  assert.deepEqual(one('net-listen', '{"NetListen":{"fd":3,"address":{"Other":16},"result":0}}').detail.val.address, { tag: 'other', val: 16 });
  assert.deepEqual(one('namespace-change', '{"NamespaceChange":{"syscall":"unshare","flags":268435456,"result":0}}').detail, { tag: 'namespace-change', val: { syscall: 'unshare', flags: 268435456n, result: 0n } });
  assert.deepEqual(one('exit', '{"Exit":{"code":-1,"signal":9}}').detail.val, { code: -1, signal: 9 });
  const gap = `${EXEC.replace('"mtime_ns":3', '"mtime_ns":3,"args_gap":{"index":2,"omitted_bytes":4096}').slice(0, -1)},"fidelity":{"cut":["args[1]"],"raw":[{"field":"cwd","escaped":"/\\\\xff"}],"folded":[]}}`;
  const e = parseEvent(gap);
  assert.deepEqual(e.detail.val.argsGap, { index: 2, omittedBytes: 4096n });
  assert.deepEqual(e.fidelity, { cut: ['args[1]'], raw: [{ field: 'cwd', escaped: '/\\xff' }], folded: [] });
});

test('errors name the line', () => {
  assert.throws(() => parseCapture(capture(EXEC.replace('"kind":"exec"', '"kind":"exit"'))), /^Error: line 2: kind `exit` does not match its detail `exec`$/);
  assert.throws(() => parseCapture(capture(EXEC, EXEC.replace('"seq":1', '"seq":"x"'))), /^Error: line 3: seq: invalid type: string "x"/);
  assert.throws(() => parseCapture(capture(EXEC, EXEC)), /line 3: seq 1 repeats seq 1/);
  assert.throws(() => parseCapture(capture(EXEC.replace('"seq":1', '"seq":2'), EXEC)), /line 3: seq 1 goes back from seq 2/);
  assert.throws(() => parseCapture(capture(EXEC.replace('"kind":"exec",', ''))), /line 2: no `kind` field/);
  assert.throws(() => parseCapture(capture(EXEC.replace('"cwd":"/",', ''))), /line 2: detail.Exec: missing field `cwd`/);
  assert.throws(() => parseCapture(capture(EXEC.replace('{"Exec":', '{"Exek":'))), /line 2: detail: unknown variant `Exek`, expected one of `Exec`, `Exit`/);
  assert.throws(() => parseCapture(capture(EXEC.slice(0, -3))), /line 2: EOF while parsing an object/);
  assert.throws(() => parseCapture('{}\n'), /^Error: line 1: not a version 1 Harrier capture header$/);
  assert.throws(() => parseCapture(''), /line 1: empty capture/);
  assert.throws(() => parseCapture('{"harrier_capture":1,"wit":"0.3.0"}\n'), /line 1: events of WIT version `0.3.0` cannot be read/);
  assert.deepEqual(parseCapture('{"harrier_capture":1,"wit":"0.1.0"}\n\n\r\n'), []);
});

test('headers declare indicators for the fake host', () => {
  const header = '{"harrier_capture":1,"wit":"0.2.0","indicators":[{"kind":"domain","value":"*.evil.example","category":"command-and-control"},{"kind":"ip","value":"198.51.100.0/24","category":"tor-relay","source":"list"}]}';
  assert.deepEqual(captureIndicators(header), [
    { kind: 'domain', value: '*.evil.example', category: 'command-and-control', source: 'fixture' },
    { kind: 'ip', value: '198.51.100.0/24', category: 'tor-relay', source: 'list' },
  ]);
  assert.throws(() => captureIndicators(header.replace('"kind":"domain"', '"kind":"url"')), /line 1: bad `indicators`: unknown indicator kind `url` \(domain, ip, sha256\)/);
  assert.throws(() => captureIndicators(header.replace(',"category":"tor-relay"', '')), /missing field `category`/);
  assert.deepEqual(captureIndicators(HEADER), []);
});

test('every shared fixture of the repository reads, and loadCapture names the file', () => {
  const dir = new URL('../../../../plugins/fixtures/', import.meta.url);
  const files = readdirSync(dir, { recursive: true }).filter((f) => f.endsWith('.jsonl'));
  assert.ok(files.length >= 10, `fixtures found: ${files}`);
  for (const f of files) {
    const text = readFileSync(new URL(f, dir), 'utf8');
    const events = parseCapture(text);
    assert.equal(events.length, text.trim().split('\n').length - 1, f);
    captureIndicators(text);
  }
  assert.equal(loadCapture(new URL('data/two-events.jsonl', import.meta.url)).length, 2);
  assert.throws(() => loadCapture(new URL('data/bad.jsonl', import.meta.url)), /bad\.jsonl: line 2: /);
});
