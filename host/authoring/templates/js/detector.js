import { basename, exportDetector, FindingBuilder, parseConfig } from 'harrier-sdk';
import fixture from './fixtures/detect.jsonl';

const SPEC = {
  findingType: 'Execution:Runtime/{{pascal}}', severity: 5.0, title: 'Watched program executed',
  description: "A process ran a program named in the detector's configuration (key programs, default kubectl).", mitre: 'T1609',
};

export class {{pascal}} {
  constructor(config) {
    [this.policy, this.own] = parseConfig(config, { programs: ['kubectl'] });
  }

  onEvent(event, out) {
    if (event.detail.tag !== 'exec') return;
    const exec = event.detail.val;
    if (this.own.programs.includes(basename(exec.filename)) && this.policy.permits(SPEC.findingType, event.process)) {
      out.push(new FindingBuilder(SPEC, event).evidence('filename', exec.filename).evidence('cmdline', exec.args.join(' ')).build());
    }
  }
}

export const { metadata, init, readPathPrefixes, onEvents, tick, selfTest, snapshot, restore } = exportDetector({{pascal}}, {
  name: '{{name}}', version: '0.1.0', description: 'Reports a run of a program named in the configuration key programs.',
  subscriptions: ['exec'], specs: [SPEC], selfTest: { config: '{}', fixture, expected: [SPEC.findingType] },
});
