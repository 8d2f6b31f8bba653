// Build a detector component: bundle its module with the SDK and the
// self-test's capture (esbuild; componentize-js resolves relative imports
// only inside the directory it runs in), then componentize-js with every
// WASI feature disabled, so the component imports only
// harrier:detector/host. The detector's package supplies both tools (its
// devDependencies), so their versions are pinned where they are installed.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/**
 * Build `source` into the component `out`.
 * @param {object} options
 * @param {Function} options.componentize componentize-js's `componentize`.
 * @param {Function} options.bundle esbuild's `build`.
 * @param {string} options.wit The contract's folder.
 * @param {string} options.out Where to write the component.
 * @param {string} [options.source] The detector module (default `detector.js`).
 * @returns {Promise<number>} The component's size in bytes.
 */
export async function buildComponent({ componentize, bundle, wit, out, source = 'detector.js' }) {
  const work = await mkdtemp(join(tmpdir(), 'harrier-js-'));
  try {
    const bundled = join(work, 'detector.js');
    await bundle({
      entryPoints: [source],
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      outfile: bundled,
      external: ['harrier:detector/host@0.2.0'],
      loader: { '.jsonl': 'text' },
      logLevel: 'warning',
    });
    const { component } = await componentize({
      sourcePath: bundled,
      witPath: resolve(wit),
      worldName: 'detector',
      // A detector needs no clocks, randomness, stdio or HTTP from WASI.
      disableFeatures: ['stdio', 'random', 'clocks', 'http', 'fetch-event'],
    });
    await mkdir(dirname(resolve(out)), { recursive: true });
    await writeFile(out, component);
    return component.length;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
