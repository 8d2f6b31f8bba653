import { test } from 'node:test';
import assert from 'node:assert/strict';

import { parseJson } from '../index.js';

test('19-digit integers keep every digit', () => {
  assert.equal(JSON.parse('1764000000001000001'), 1764000000001000000); // what JSON.parse loses
  assert.equal(parseJson('1764000000001000001'), 1764000000001000001n);
  assert.deepEqual(parseJson('{"t":[18446744073709551615,-9223372036854775808]}'), { t: [18446744073709551615n, -9223372036854775808n] });
  assert.equal(parseJson(String(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
  assert.equal(parseJson(String(Number.MAX_SAFE_INTEGER + 1)), BigInt(Number.MAX_SAFE_INTEGER) + 1n);
  assert.equal(parseJson('1.5e3'), 1500);
  assert.equal(parseJson('17640000000010000011.0'), 17640000000010000011.0, 'non-integers stay numbers');
});

test('everything else reads as JSON.parse reads it', () => {
  const texts = [
    '{"a":"x\\u00e9\\n\\"\\\\","b":[true,false,null,{}],"c":[],"d":-0.25}',
    ' [ 1 , "two" , { "three" : [ 3 ] } ] ',
    '"\\ud83d\\ude00 emoji"',
    '{"__proto__": {"polluted": 1}}',
    '{"dup": 1, "dup": 2}',
  ];
  for (const t of texts) assert.deepEqual(parseJson(t), JSON.parse(t), t);
  assert.equal({}.polluted, undefined);
});

test('errors name the line and column', () => {
  assert.throws(() => parseJson('{\n"names": ['), /EOF while parsing a list at line 2 column 11/);
  assert.throws(() => parseJson('[1 2]'), /expected `,` or `]` at line 1 column 4/);
  assert.throws(() => parseJson('{"a" 1}'), /expected `:` at line 1 column 6/);
  assert.throws(() => parseJson('{"a": 1} x'), /trailing characters at line 1 column 10/);
  assert.throws(() => parseJson('{1: 2}'), /key must be a string/);
  assert.throws(() => parseJson('"a\tb"'), /control character/);
  assert.throws(() => parseJson('"\\x"'), /invalid escape/);
  assert.throws(() => parseJson('nul'), /expected value/);
  assert.throws(() => parseJson(''), /EOF while parsing a value/);
  assert.throws(() => parseJson('['.repeat(200) + ']'.repeat(200)), /recursion limit/);
});
