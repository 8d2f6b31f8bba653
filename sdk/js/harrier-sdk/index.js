// Write Harrier detectors in JavaScript (componentize-js). Everything here
// runs inside the component as well as in Node: no Node built-ins.
//
//   config     parseConfig(text, defaults) -> [Policy, own keys]; Policy.permits
//   findings   FindingSpec checks, FindingBuilder (exe, comm, *_as_given evidence)
//   capture    parseCapture(text): a Harrier capture into jco's event shapes
//   fake host  FakeHost (processes, ancestry, recent writes, hashes, intel, logs)
//   host       host.* (the import, or the fake host while one is installed)
//   harness    Harness(Detector, config): run events and ticks natively
//   self-test  selfTest(Detector, {fixture, expected}) like the Rust SDK's
//   export     exportDetector(Detector, info): the world's exports

export { parseJson } from './json.js';
export { globMatches, GlobList } from './glob.js';
export { ConfigError, Policy, POLICY_DEFAULTS, parseConfig } from './config.js';
export { checkSeverity, severityLabel, validateSpec, validateSpecs, metadata, FindingBuilder } from './finding.js';
export { CAPTURE_VERSION, WIT_VERSION, parseCapture, parseEvent, captureIndicators } from './capture.js';
export { FakeHost, processInfo, parseIp } from './fake-host.js';
export { host, withHost } from './host.js';
export { Harness, wantsOpen, feed, OPEN_WRITE_FLAGS } from './harness.js';
export { selfTest, checkFindings, types } from './self-test.js';
export { exportDetector } from './export.js';
export { basename } from './paths.js';
