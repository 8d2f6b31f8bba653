// Glob patterns of the shared configuration keys, matched as the Rust SDK
// matches them (the wildmatch crate): `*` matches any run of characters,
// `/` included, `?` exactly one character; everything else itself. A
// pattern matches the whole text; the empty pattern only the empty text.

/**
 * Whether `pattern` matches all of `text`.
 * @param {string} pattern
 * @param {string} text
 * @returns {boolean}
 */
export function globMatches(pattern, text) {
  return compile(pattern)(text);
}

/** A list of glob patterns; matches when any of them does. */
export class GlobList {
  /** @param {string[]} patterns */
  constructor(patterns = []) {
    this.patterns = [...patterns];
    this.matchers = this.patterns.map(compile);
  }

  /**
   * Whether any pattern matches `text`.
   * @param {string} text
   * @returns {boolean}
   */
  matches(text) {
    return this.matchers.some((m) => m(text));
  }

  /** Whether the list has no patterns. */
  isEmpty() {
    return this.matchers.length === 0;
  }
}

function compile(pattern) {
  // Code points, with runs of `*` folded into one.
  const p = Array.from(pattern).filter((c, i, all) => !(c === '*' && all[i - 1] === '*'));
  if (p.length === 0) return (text) => text.length === 0;
  return (text) => {
    const s = Array.from(text);
    let pi = 0;
    let si = 0;
    let star = -1;
    let mark = 0;
    while (si < s.length) {
      if (pi < p.length && p[pi] === '*') {
        star = pi;
        pi += 1;
        mark = si;
      } else if (pi < p.length && (p[pi] === '?' || p[pi] === s[si])) {
        pi += 1;
        si += 1;
      } else if (star !== -1) {
        pi = star + 1;
        mark += 1;
        si = mark;
      } else {
        return false;
      }
    }
    while (pi < p.length && p[pi] === '*') pi += 1;
    return pi === p.length;
  };
}
