// Build the detector component (see harrier-sdk/build.js).
// Usage: node build.mjs <output.wasm>   (run from this directory)
import { componentize } from '@bytecodealliance/componentize-js';
import { build } from 'esbuild';
import { buildComponent } from 'harrier-sdk/build';

const out = process.argv[2];
if (!out) {
  console.error('usage: node build.mjs <output.wasm>');
  process.exit(2);
}
const bytes = await buildComponent({ componentize, bundle: build, wit: '../../../wit', out });
console.error(`wrote ${out} (${bytes} bytes)`);
