// Harrier detector in JavaScript: Discovery:Runtime/SuspiciousCommand.
//
// Reports cluster and cloud reconnaissance from inside containers:
// reading the Kubernetes service-account token, listing secrets or probing
// RBAC with kubectl, and asking the cloud metadata service for credentials.
//
// Configuration (JSON object, unknown keys refused): the shared keys
// (allow_executables, allow_parents, allow_paths, containers_only — default
// true here —, disabled_types) and extra_patterns (list of substrings of the
// command line, compared ignoring case).
//
// Built on the JavaScript SDK (sdk/js/harrier-sdk): events arrive in jco's
// shapes (camelCase fields, variants { tag, val }, u64/s64 as BigInt).

import { exportDetector, FindingBuilder, host, parseConfig } from 'harrier-sdk';
import fixture from '../../fixtures/js-discovery/detect.jsonl';

export const SPEC = {
  findingType: 'Discovery:Runtime/SuspiciousCommand',
  severity: 5.0,
  title: 'Suspicious discovery command',
  description: 'A process in a container read the service-account token, listed secrets, probed RBAC or asked the cloud metadata service for credentials.',
  mitre: 'T1082',
};

// [rule, MITRE technique, substrings that must all appear in the command line]
const RULES = [
  ['service account token read', 'T1528', ['/var/run/secrets/kubernetes.io/serviceaccount']],
  ['kubernetes secrets listed', 'T1552.007', ['kubectl', 'get', 'secret']],
  ['kubernetes permissions probed', 'T1069', ['kubectl', 'auth', 'can-i']],
  ['cloud credentials requested', 'T1552.005', ['169.254.169.254', 'security-credentials']],
  ['cloud credentials requested', 'T1552.005', ['metadata.google.internal', 'service-accounts']],
  ['cloud metadata probed', 'T1580', ['169.254.169.254', 'meta-data']],
  ['container runtime probed', 'T1613', ['docker.sock', 'containers/json']],
];

/** The detection logic for one configuration. */
export class Discovery {
  constructor(config) {
    [this.policy, this.own] = parseConfig(config, { containers_only: true, extra_patterns: [] });
    this.extraPatterns = this.own.extra_patterns.map((p) => p.toLowerCase());
    host.log('info', `configured (containers_only=${this.policy.containersOnly})`);
  }

  /** The rule an exec's command line matches: [rule, technique], or undefined. */
  match(cmdline) {
    const line = cmdline.toLowerCase();
    const rule = RULES.find(([, , needles]) => needles.every((n) => line.includes(n)));
    if (rule) return rule;
    return this.extraPatterns.some((n) => line.includes(n)) ? ['configured pattern', 'T1082'] : undefined;
  }

  onEvent(event, out) {
    if (event.detail.tag !== 'exec') return;
    const cmdline = event.detail.val.args.join(' ');
    const match = this.match(cmdline);
    if (!match || !this.policy.permits(SPEC.findingType, event.process)) return;
    const [rule, technique] = match;
    out.push(
      new FindingBuilder(SPEC, event)
        .title(`Suspicious discovery command: ${rule}`)
        .mitre(technique)
        .evidence('rule', rule)
        .evidence('cmdline', cmdline)
        .evidence('container_id', event.process.containerId)
        .build(),
    );
  }
}

export const { metadata, init, readPathPrefixes, onEvents, tick, selfTest, snapshot, restore } = exportDetector(Discovery, {
  name: 'discovery-js',
  version: '0.1.0',
  description: 'Cluster and cloud reconnaissance from containers (service-account token, kubectl secrets/RBAC, metadata credentials). Written in JavaScript.',
  subscriptions: ['exec'],
  specs: [SPEC],
  // The capture's three reconnaissance commands, each one finding.
  selfTest: { config: '{}', fixture, expected: [SPEC.findingType, SPEC.findingType, SPEC.findingType] },
});
