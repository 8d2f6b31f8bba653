// The component's exports for a detector class: exportDetector turns a
// class (constructor(config) throwing on a bad configuration, onEvent or
// onEvents, and optionally readPathPrefixes, tick, snapshot, restore) into
// the functions componentize-js exports for the `detector` world, like the
// Rust SDK's export_detector!. One instance lives between calls: `init`
// builds it, the other calls use it (built from "{}" if init never ran).

import { metadata as metadataOf, validateSpecs } from './finding.js';
import { feed } from './harness.js';
import { host } from './host.js';
import { selfTest as runSelfTest } from './self-test.js';

const message = (e) => (e instanceof Error ? e.message : String(e));

/**
 * @typedef {object} DetectorInfo
 * @property {string} name
 * @property {string} version
 * @property {string} description
 * @property {string[]} subscriptions event kinds, e.g. `['exec']`
 * @property {import('./finding.js').FindingSpec[]} specs every finding type it may emit
 * @property {{fixture: string, expected: string[], config?: string, prepare?: Function} | (() => void)} [selfTest]
 *   the self-test: a capture's text embedded at build time and the finding
 *   types it must yield (see selfTest), or a function throwing on failure
 */

/**
 * The world's exports for `Detector`. Export them by name from the
 * component's module:
 *
 *     export const { metadata, init, readPathPrefixes, onEvents, tick, selfTest, snapshot, restore } =
 *       exportDetector(MyDetector, { name, version, description, subscriptions, specs, selfTest });
 *
 * Errors reach the host as strings (`init` refusing a configuration,
 * `selfTest`, `restore`), as componentize-js expects for `result<_, string>`.
 * The specs are checked when this is called, so a bad one fails the build.
 * @param {new (config: string) => object} Detector
 * @param {DetectorInfo} info
 */
export function exportDetector(Detector, info) {
  validateSpecs(info.specs);
  const meta = metadataOf(info.name, info.version, info.description, info.subscriptions, info.specs);
  let current;

  /** Run `f` on the detector, building it from "{}" if init never ran. */
  const withDetector = (fallback, f) => {
    if (!current) {
      try {
        current = new Detector('{}');
      } catch (e) {
        host.log('error', `called before init and the default configuration fails: ${message(e)}`);
        return fallback;
      }
    }
    return f(current);
  };

  return {
    metadata: () => ({ ...meta, subscriptions: [...meta.subscriptions], findingTypes: [...meta.findingTypes] }),
    init(config) {
      try {
        current = new Detector(config);
      } catch (e) {
        throw message(e);
      }
    },
    readPathPrefixes: () => withDetector(undefined, (d) => d.readPathPrefixes?.() ?? undefined),
    onEvents: (events) =>
      withDetector([], (d) => {
        const out = [];
        feed(d, events, out);
        return out;
      }),
    tick: (nowNs) =>
      withDetector([], (d) => {
        const out = [];
        d.tick?.(nowNs, out);
        return out;
      }),
    selfTest() {
      const test = info.selfTest;
      if (!test) return;
      try {
        if (typeof test === 'function') test();
        else runSelfTest(Detector, { ...test, findingTypes: meta.findingTypes });
      } catch (e) {
        throw message(e);
      }
    },
    snapshot: () => withDetector(new Uint8Array(0), (d) => d.snapshot?.() ?? new Uint8Array(0)),
    restore(state) {
      const error = withDetector('the detector could not be built from its default configuration', (d) => {
        try {
          d.restore?.(state);
          return undefined;
        } catch (e) {
          return message(e);
        }
      });
      if (error !== undefined) throw error;
    },
  };
}
