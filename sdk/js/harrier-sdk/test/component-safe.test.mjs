// What the component imports (index.js and everything it imports) must not
// need Node: the component has no WASI, and the build bundles these files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

test('index.js imports no Node built-ins and only the host import', () => {
  const seen = new Set();
  const imports = [];
  const visit = (url) => {
    if (seen.has(url.href)) return;
    seen.add(url.href);
    const text = readFileSync(url, 'utf8');
    for (const [, spec] of text.matchAll(/^(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm)) {
      if (spec.startsWith('.')) visit(new URL(spec, url));
      else imports.push(spec);
    }
  };
  visit(new URL('../index.js', import.meta.url));
  assert.ok(seen.size >= 10, [...seen].join(' '));
  assert.deepEqual(imports, ['harrier:detector/host@0.2.0']);
});

test('a capture imports as its text under the register hook', async () => {
  const { default: text } = await import('./data/two-events.jsonl');
  assert.equal(text, readFileSync(new URL('data/two-events.jsonl', import.meta.url), 'utf8'));
});
