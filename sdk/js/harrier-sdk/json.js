// JSON text to values, keeping integers exact: an integer literal that a
// JavaScript number cannot hold exactly (beyond 2^53) becomes a BigInt, so
// 1764000000001000001 stays 1764000000001000001n where JSON.parse would
// return 1764000000001000000. Errors name the line and column, like
// serde_json's, in every engine.

const MAX_DEPTH = 128;
const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

/**
 * Parse JSON text. Objects, arrays, strings, booleans and null as JSON.parse
 * gives them; numbers as numbers, except integers outside the safe range
 * (|n| > 2^53 - 1), which are BigInts.
 * @param {string} text
 * @returns {unknown}
 * @throws {SyntaxError} naming what is wrong, with line and column
 */
export function parseJson(text) {
  const p = new Parser(String(text));
  p.space();
  const value = p.value(0);
  p.space();
  if (p.i < p.text.length) p.fail('trailing characters');
  return value;
}

class Parser {
  constructor(text) {
    this.text = text;
    this.i = 0;
  }

  fail(what, at = this.i) {
    let line = 1;
    let start = 0;
    for (let k = 0; k < at && k < this.text.length; k++) {
      if (this.text.charCodeAt(k) === 10) {
        line += 1;
        start = k + 1;
      }
    }
    throw new SyntaxError(`${what} at line ${line} column ${at - start + 1}`);
  }

  space() {
    const t = this.text;
    while (this.i < t.length) {
      const c = t.charCodeAt(this.i);
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
      this.i += 1;
    }
  }

  value(depth) {
    if (depth > MAX_DEPTH) this.fail('recursion limit exceeded');
    const t = this.text;
    if (this.i >= t.length) this.fail('EOF while parsing a value');
    const c = t[this.i];
    if (c === '{') return this.object(depth + 1);
    if (c === '[') return this.array(depth + 1);
    if (c === '"') return this.string();
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]]) {
      if (t.startsWith(word, this.i)) {
        this.i += word.length;
        return v;
      }
    }
    return this.fail('expected value');
  }

  object(depth) {
    const out = {};
    this.i += 1;
    this.space();
    if (this.text[this.i] === '}') {
      this.i += 1;
      return out;
    }
    for (;;) {
      this.space();
      if (this.i >= this.text.length) this.fail('EOF while parsing an object');
      if (this.text[this.i] !== '"') this.fail('key must be a string');
      const key = this.string();
      this.space();
      if (this.text[this.i] !== ':') this.fail(this.i >= this.text.length ? 'EOF while parsing an object' : 'expected `:`');
      this.i += 1;
      this.space();
      const v = this.value(depth);
      Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      this.space();
      const c = this.text[this.i];
      this.i += 1;
      if (c === '}') return out;
      if (c !== ',') this.fail(c === undefined ? 'EOF while parsing an object' : 'expected `,` or `}`', this.i - 1);
    }
  }

  array(depth) {
    const out = [];
    this.i += 1;
    this.space();
    if (this.text[this.i] === ']') {
      this.i += 1;
      return out;
    }
    for (;;) {
      this.space();
      if (this.i >= this.text.length) this.fail('EOF while parsing a list');
      out.push(this.value(depth));
      this.space();
      const c = this.text[this.i];
      this.i += 1;
      if (c === ']') return out;
      if (c !== ',') this.fail(c === undefined ? 'EOF while parsing a list' : 'expected `,` or `]`', this.i - 1);
    }
  }

  string() {
    const t = this.text;
    const start = this.i;
    let escaped = false;
    for (let k = start + 1; k < t.length; k++) {
      const c = t.charCodeAt(k);
      if (c === 34) {
        this.i = k + 1;
        if (!escaped) return t.slice(start + 1, k);
        try {
          return JSON.parse(t.slice(start, k + 1));
        } catch {
          return this.fail('invalid escape', start);
        }
      }
      if (c === 92) {
        escaped = true;
        k += 1;
      } else if (c < 32) {
        this.fail('control character (\\u0000-\\u001F) found while parsing a string', k);
      }
    }
    return this.fail('EOF while parsing a string', t.length);
  }

  number() {
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.text);
    if (!m) this.fail('invalid number');
    this.i += m[0].length;
    const n = Number(m[0]);
    if (m[1] === undefined && m[2] === undefined && !Number.isSafeInteger(n)) return BigInt(m[0]);
    return n;
  }
}
