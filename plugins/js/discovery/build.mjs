// Build the detector component with componentize-js (StarlingMonkey).
// Usage: node build.mjs <output.wasm>   (run from this directory)
import { componentize } from '@bytecodealliance/componentize-js';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

const out = process.argv[2];
if (!out) {
  console.error('usage: node build.mjs <output.wasm>');
  process.exit(2);
}
const { component } = await componentize({
  sourcePath: resolve('detector.js'),
  witPath: resolve('../../../wit'),
  worldName: 'detector',
  // The detector needs no clocks, randomness, stdio or HTTP from WASI.
  disableFeatures: ['stdio', 'random', 'clocks', 'http', 'fetch-event'],
});
await mkdir(dirname(resolve(out)), { recursive: true });
await writeFile(out, component);
console.error(`wrote ${out} (${component.length} bytes)`);
