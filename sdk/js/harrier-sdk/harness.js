// A detector under test with its fake host, like the Rust SDK's
// testing::Harness: it builds the detector from a configuration, feeds it
// events (the fake host learning from them first, as the host's enrichment
// runs before detectors) and ticks it, with every `host.*` call answered by
// the harness's FakeHost.

import { captureIndicators, parseCapture } from './capture.js';
import { FakeHost } from './fake-host.js';
import { withHost } from './host.js';

/** `O_WRONLY | O_RDWR | O_CREAT | O_TRUNC`: such opens reach every file-open subscriber. */
export const OPEN_WRITE_FLAGS = 0o1 | 0o2 | 0o100 | 0o1000;

/**
 * Whether a detector whose `readPathPrefixes()` answered `prefixes` gets an
 * open of `path` with `flags` (the contract's rule, wit/read-path-filter.rs):
 * every open when undefined; otherwise writing opens, relative paths, and
 * paths under one of the prefixes.
 * @param {string[]|undefined} prefixes
 * @param {string} path
 * @param {number} flags
 */
export function wantsOpen(prefixes, path, flags) {
  if (prefixes === undefined || prefixes === null) return true;
  return (flags & OPEN_WRITE_FLAGS) !== 0 || !path.startsWith('/') || prefixes.some((p) => path.startsWith(p));
}

/**
 * Feed `events` to a detector object: its `onEvents(events, out)` if it has
 * one, else `onEvent(event, out)` for each.
 * @param {object} detector
 * @param {object[]} events
 * @param {object[]} out
 */
export function feed(detector, events, out) {
  if (typeof detector.onEvents === 'function') {
    detector.onEvents(events, out);
  } else {
    for (const e of events) detector.onEvent(e, out);
  }
}

/** A detector under test with its fake host. */
export class Harness {
  /**
   * Build the detector (`new Detector(config)`) with an empty fake host.
   * Throws what the constructor throws (a refused configuration).
   * @param {new (config: string) => object} Detector
   * @param {string} [config]
   */
  constructor(Detector, config = '{}') {
    /** The fake host: add processes, recent writes, hashes, indicators. */
    this.host = new FakeHost();
    /** Whether the fake host learns from the events fed (default true). */
    this.observe = true;
    this.detector = withHost(this.host, () => new Detector(config));
  }

  /**
   * Feed a batch and return the findings. Like the host, it holds back the
   * file opens the detector's `readPathPrefixes()` does not want.
   * @param {object[]} events events in jco's shape
   * @returns {object[]}
   */
  run(events) {
    if (this.observe) for (const e of events) this.host.observe(e);
    return withHost(this.host, () => {
      const prefixes = this.detector.readPathPrefixes?.();
      const wanted = events.filter((e) => e.detail.tag !== 'file-open' || wantsOpen(prefixes, e.detail.val.path, e.detail.val.flags));
      const out = [];
      feed(this.detector, wanted, out);
      return out;
    });
  }

  /**
   * Feed a capture's text as one batch, after adding the indicators its
   * header declares to the fake host.
   * @param {string} text
   * @returns {object[]}
   */
  runCapture(text) {
    const events = parseCapture(text);
    this.host.indicators.push(...captureIndicators(text));
    return this.run(events);
  }

  /**
   * Call tick at `nowNs` (also the fake clock).
   * @param {bigint} nowNs
   * @returns {object[]}
   */
  tick(nowNs) {
    this.host.now = BigInt(nowNs);
    return withHost(this.host, () => {
      const out = [];
      this.detector.tick?.(this.host.now, out);
      return out;
    });
  }
}
