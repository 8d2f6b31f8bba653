// Finding specifications (the static facts about a finding type), their
// checks, the detector's metadata, and a builder filling a finding from the
// event that triggered it, with the same evidence as the Rust SDK's
// FindingBuilder: `exe`, `comm`, then `<field>_as_given` for each path the
// process gave with dot segments.

/**
 * @typedef {object} FindingSpec
 * @property {string} findingType `Tactic:Runtime/Name`, GuardDuty's name where one exists
 * @property {number} severity default severity, 1.0–10.0
 * @property {string} title short title
 * @property {string} description what the finding means
 * @property {string} mitre MITRE ATT&CK technique id, e.g. `T1496`
 */

/**
 * Check a severity is on GuardDuty's 1.0–10.0 scale.
 * @param {number} value
 * @returns {number} the value
 * @throws {RangeError}
 */
export function checkSeverity(value) {
  if (typeof value !== 'number' || !(value >= 1.0 && value <= 10.0)) {
    throw new RangeError(`severity ${value} is outside GuardDuty's 1.0-10.0 scale`);
  }
  return value;
}

/**
 * GuardDuty's label for a severity: Low, Medium, High or Critical.
 * @param {number} value
 */
export function severityLabel(value) {
  if (value >= 9.0) return 'Critical';
  if (value >= 7.0) return 'High';
  if (value >= 4.0) return 'Medium';
  return 'Low';
}

/**
 * Check a spec: type name shape, severity range, technique id shape, title
 * and description present (the Rust SDK's `FindingSpec::validate`).
 * @param {FindingSpec} spec
 * @throws {Error} naming the problem
 */
export function validateSpec(spec) {
  const t = String(spec.findingType);
  const colon = t.indexOf(':');
  if (colon < 0) throw new Error(`finding type \`${t}\` has no \`Tactic:\` prefix`);
  const tactic = t.slice(0, colon);
  const rest = t.slice(colon + 1);
  if (!rest.startsWith('Runtime/')) throw new Error(`finding type \`${t}\` is not \`${tactic}:Runtime/Name\``);
  const name = rest.slice('Runtime/'.length);
  if (tactic === '' || name === '' || !/^[A-Za-z]+$/.test(tactic)) {
    throw new Error(`finding type \`${t}\` is not \`Tactic:Runtime/Name\``);
  }
  try {
    checkSeverity(spec.severity);
  } catch (e) {
    throw new Error(`${t}: ${e.message}`);
  }
  if (typeof spec.mitre !== 'string' || !/^T[0-9]{4}(\.[0-9]{3})?$/.test(spec.mitre)) {
    throw new Error(`${t}: MITRE technique \`${spec.mitre}\` is not T1234 or T1234.001`);
  }
  if (!spec.title || !spec.description) throw new Error(`${t}: title and description are required`);
}

/**
 * Validate every spec, and that no finding type appears twice.
 * @param {FindingSpec[]} specs
 */
export function validateSpecs(specs) {
  specs.forEach((s, i) => {
    validateSpec(s);
    if (specs.slice(0, i).some((o) => o.findingType === s.findingType)) {
      throw new Error(`finding type \`${s.findingType}\` is listed twice`);
    }
  });
}

/**
 * A detector's metadata from its specs.
 * @param {string} name
 * @param {string} version
 * @param {string} description
 * @param {string[]} subscriptions event kinds, e.g. `['exec', 'file-open']`
 * @param {FindingSpec[]} specs
 */
export function metadata(name, version, description, subscriptions, specs) {
  return { name, version, description, subscriptions: [...subscriptions], findingTypes: specs.map((s) => s.findingType) };
}

/** Fills a finding (jco's shape) from a spec and the event that triggered it. */
export class FindingBuilder {
  /**
   * A finding of `spec`'s type about `event`'s process, citing the event,
   * with the executable and command name as evidence, and each path the
   * process gave with dot segments as it gave it (`path_as_given`: the
   * event's fields show it folded). Without an event, use `aboutPid`.
   * @param {FindingSpec} spec
   * @param {object} event an event in jco's shape
   */
  constructor(spec, event) {
    this.finding = {
      findingType: spec.findingType,
      severity: spec.severity,
      title: spec.title,
      description: spec.description,
      mitreTechnique: spec.mitre,
      pid: event ? event.process.pid : 0,
      eventSeqs: [],
      evidence: [],
    };
    if (!event) return;
    this.finding.eventSeqs.push(event.seq);
    this.evidence('exe', event.process.exe);
    this.evidence('comm', event.process.comm);
    for (const given of event.fidelity?.folded ?? []) {
      this.evidence(`${given.field.replaceAll('-', '_')}_as_given`, given.escaped);
    }
  }

  /**
   * A finding about `pid`, citing no event yet (for tick).
   * @param {FindingSpec} spec
   * @param {number} pid
   */
  static aboutPid(spec, pid) {
    const b = new FindingBuilder(spec);
    b.finding.pid = pid;
    return b;
  }

  /** Replace the title (e.g. to name the tool). @param {string} title */
  title(title) {
    this.finding.title = title;
    return this;
  }

  /** Override the severity (checked: 1.0–10.0). @param {number} severity */
  severity(severity) {
    this.finding.severity = checkSeverity(severity);
    return this;
  }

  /** Override the MITRE technique (a detector whose rules map to several). @param {string} technique */
  mitre(technique) {
    this.finding.mitreTechnique = technique;
    return this;
  }

  /**
   * Add a key/value piece of evidence; skipped when the value is empty
   * (or undefined/null). Other values are turned into strings.
   * @param {string} key
   * @param {unknown} value
   */
  evidence(key, value) {
    if (value === undefined || value === null) return this;
    const text = String(value);
    if (text !== '') this.finding.evidence.push({ key, value: text });
    return this;
  }

  /** Cite one more event. @param {bigint} seq */
  eventSeq(seq) {
    if (!this.finding.eventSeqs.includes(seq)) this.finding.eventSeqs.push(seq);
    return this;
  }

  /** The finding. */
  build() {
    const f = this.finding;
    return { ...f, eventSeqs: [...f.eventSeqs], evidence: f.evidence.map((e) => ({ ...e })) };
  }
}
