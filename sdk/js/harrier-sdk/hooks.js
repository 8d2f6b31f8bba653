// Module hooks for running a detector under Node (installed by register.js):
// the component's host import resolves to native-host.js, and a capture
// (`*.jsonl`) imports as its text, as the build embeds it:
//   import fixture from './fixtures/detect.jsonl';

import { readFile } from 'node:fs/promises';

const HOST = 'harrier:detector/host@0.2.0';

export async function resolve(specifier, context, next) {
  if (specifier === HOST) {
    return { url: new URL('./native-host.js', import.meta.url).href, shortCircuit: true };
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (url.startsWith('file:') && url.endsWith('.jsonl')) {
    const text = await readFile(new URL(url), 'utf8');
    return { format: 'module', source: `export default ${JSON.stringify(text)};`, shortCircuit: true };
  }
  return next(url, context);
}
