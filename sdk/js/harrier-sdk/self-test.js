// A detector's self-test, like the Rust SDK's testing::self_test: a fresh
// detector over an embedded capture under a fake host must report exactly
// the expected finding types, each declared, citing an event, with a
// severity on the 1.0–10.0 scale. The agent runs it at every load.

import { captureIndicators, parseCapture } from './capture.js';
import { checkSeverity } from './finding.js';
import { Harness } from './harness.js';

const message = (e) => (e instanceof Error ? e.message : String(e));
const debugList = (list) => `[${list.map((s) => JSON.stringify(s)).join(', ')}]`;

/**
 * Check findings against what the host is promised: a valid severity, a
 * declared type, at least one cited event.
 * @param {string[]} declared the finding types of metadata()
 * @param {object[]} findings
 * @throws {Error}
 */
export function checkFindings(declared, findings) {
  for (const f of findings) {
    try {
      checkSeverity(f.severity);
    } catch (e) {
      throw new Error(`${f.findingType}: ${e.message}`);
    }
    if (!declared.includes(f.findingType)) throw new Error(`finding type \`${f.findingType}\` is not declared in metadata()`);
    if (f.eventSeqs.length === 0) throw new Error(`${f.findingType} cites no event`);
  }
}

/**
 * The finding types of `findings`, sorted.
 * @param {object[]} findings
 */
export function types(findings) {
  return findings.map((f) => f.findingType).sort();
}

/**
 * Run a fresh detector (built from `config`) over `fixture` (a capture's
 * text, embedded at build time) under a fake host that learned from the
 * fixture and its header's indicators, then prepared by `prepare`; tick it
 * once after the last event; check the findings (see checkFindings) and
 * that their types are exactly `expected` (order ignored).
 * @param {new (config: string) => object} Detector
 * @param {object} options
 * @param {string} options.fixture
 * @param {string[]} options.expected
 * @param {string} [options.config] default "{}"
 * @param {(host: import('./fake-host.js').FakeHost) => void} [options.prepare]
 * @param {string[]} [options.findingTypes] declared types (default: expected)
 * @throws {Error} saying what failed
 */
export function selfTest(Detector, { fixture, expected, config = '{}', prepare, findingTypes = expected }) {
  let events;
  let indicators;
  try {
    events = parseCapture(fixture);
    indicators = captureIndicators(fixture);
  } catch (e) {
    throw new Error(`self-test fixture: ${message(e)}`);
  }
  let h;
  try {
    h = new Harness(Detector, config);
  } catch (e) {
    throw new Error(`self-test config: ${message(e)}`);
  }
  for (const e of events) h.host.observe(e);
  h.host.indicators = indicators;
  prepare?.(h.host);
  h.observe = false;
  const findings = h.run(events);
  const last = events.length > 0 ? events[events.length - 1].timeNs : 0n;
  findings.push(...h.tick(last + 1n));
  checkFindings(findingTypes, findings);
  const got = types(findings);
  const want = [...expected].sort();
  if (got.length !== want.length || got.some((t, i) => t !== want[i])) {
    throw new Error(`self-test: expected findings ${debugList(want)}, got ${debugList(got)}`);
  }
}
