// A detector's configuration: one flat JSON object. The keys every detector
// shares go into a Policy; the detector's own keys are checked against
// their defaults (type and name) and filled in. Errors read like the Rust
// SDK's: "invalid configuration: `programs[1]`: invalid type: integer `3`,
// expected a string".

import { GlobList } from './glob.js';
import { host } from './host.js';
import { parseJson } from './json.js';

/** Why a configuration was refused; the message starts "invalid configuration: ". */
export class ConfigError extends Error {
  /** @param {string} reason */
  constructor(reason) {
    super(`invalid configuration: ${reason}`);
    this.name = 'ConfigError';
    this.reason = reason;
  }
}

/** How far up the ancestry `allow_parents` looks. */
const PARENT_DEPTH = 4;

/** The allow-lists and switches every detector shares. */
export class Policy {
  constructor({
    allow_executables = [],
    allow_parents = [],
    allow_paths = [],
    containers_only = false,
    disabled_types = [],
  } = {}) {
    /** Executables never reported. */
    this.allowExecutables = new GlobList(allow_executables);
    /** Ancestor executables whose descendants are never reported. */
    this.allowParents = new GlobList(allow_parents);
    /** File paths never reported. */
    this.allowPaths = new GlobList(allow_paths);
    /** Only report processes in containers. */
    this.containersOnly = containers_only;
    /** Finding types not to report. */
    this.disabledTypes = [...disabled_types];
  }

  /**
   * Whether findings of `findingType` about `process` (and optionally a file
   * `path`) should be reported. The cheap rules first; the host's ancestry
   * is asked only when `allow_parents` is set.
   * @param {string} findingType
   * @param {{pid: number, exe: string, containerId?: string}} process
   * @param {string} [path]
   * @returns {boolean}
   */
  permits(findingType, process, path) {
    if (this.containersOnly && (process.containerId === undefined || process.containerId === null)) return false;
    if (this.disabledTypes.includes(findingType)) return false;
    if (this.allowExecutables.matches(process.exe)) return false;
    if (path !== undefined && path !== null && this.allowPaths.matches(path)) return false;
    if (!this.allowParents.isEmpty()) {
      const ancestors = host.ancestry(process.pid, PARENT_DEPTH);
      if (ancestors.some((a) => this.allowParents.matches(a.exe))) return false;
    }
    return true;
  }
}

/** The shared keys with their defaults, in the Rust SDK's order. */
export const POLICY_DEFAULTS = Object.freeze({
  allow_executables: [],
  allow_parents: [],
  allow_paths: [],
  containers_only: false,
  disabled_types: [],
});

/**
 * Parse a configuration into the shared Policy and the detector's own keys.
 *
 * `defaults` names every own key with its default value, whose type is the
 * key's type: a list (of strings, unless the default's first element says
 * otherwise), a boolean, a string, a number, or null (anything). A default
 * for a shared key replaces the shared default (e.g. `containers_only: true`).
 * Unknown keys and wrong types are refused, naming the key.
 *
 * @template {Record<string, unknown>} T
 * @param {string} text the JSON object ("" or "{}" when none)
 * @param {T} [defaults]
 * @returns {[Policy, T]} the policy, and the own keys with defaults filled in
 * @throws {ConfigError}
 */
export function parseConfig(text, defaults = /** @type {T} */ ({})) {
  const source = typeof text === 'string' && text.trim() !== '' ? text : '{}';
  let value;
  try {
    value = parseJson(source);
  } catch (e) {
    throw new ConfigError(`not valid JSON: ${e.message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError('the configuration must be a JSON object');
  }
  const shared = Object.create(null);
  const own = Object.create(null);
  for (const key of Object.keys(value)) {
    (Object.hasOwn(POLICY_DEFAULTS, key) ? shared : own)[key] = value[key];
  }
  const policyDefaults = { ...POLICY_DEFAULTS };
  const ownDefaults = {};
  for (const [key, v] of Object.entries(defaults)) {
    (Object.hasOwn(POLICY_DEFAULTS, key) ? policyDefaults : ownDefaults)[key] = v;
  }
  const policy = new Policy(fields(shared, policyDefaults));
  return [policy, /** @type {T} */ (fields(own, ownDefaults))];
}

/** Check `given` against `defaults` like serde(default, deny_unknown_fields). */
function fields(given, defaults) {
  const names = Object.keys(defaults);
  const out = {};
  for (const key of names) out[key] = copy(defaults[key]);
  // serde_json's maps are sorted by key: the first bad key in that order is reported.
  for (const key of Object.keys(given).sort()) {
    if (!Object.hasOwn(defaults, key)) throw new ConfigError(unknownField(key, names));
    out[key] = checked(given[key], defaults[key], `\`${key}\``);
  }
  return out;
}

function unknownField(key, names) {
  if (names.length === 0) return `unknown field \`${key}\`, there are no fields`;
  const q = names.map((n) => `\`${n}\``);
  const expected = q.length === 1 ? q[0] : q.length === 2 ? `${q[0]} or ${q[1]}` : `one of ${q.join(', ')}`;
  return `unknown field \`${key}\`, expected ${expected}`;
}

function checked(value, model, path) {
  if (model === null || model === undefined) return value;
  const bad = (expected) => new ConfigError(`${path}: invalid type: ${unexpected(value)}, expected ${expected}`);
  if (Array.isArray(model)) {
    if (!Array.isArray(value)) throw bad('a sequence');
    const element = model.length > 0 ? model[0] : '';
    const inner = path.slice(0, -1);
    return value.map((v, i) => checked(v, element, `${inner}[${i}]\``));
  }
  switch (typeof model) {
    case 'boolean':
      if (typeof value !== 'boolean') throw bad('a boolean');
      return value;
    case 'string':
      if (typeof value !== 'string') throw bad('a string');
      return value;
    case 'number':
    case 'bigint':
      if (typeof value !== 'number' && typeof value !== 'bigint') throw bad('a number');
      return value;
    default:
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad('a map');
      return value;
  }
}

/** A JSON value as serde_json names it in an error. */
function unexpected(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'sequence';
  switch (typeof value) {
    case 'boolean':
      return `boolean \`${value}\``;
    case 'bigint':
      return `integer \`${value}\``;
    case 'number':
      return Number.isInteger(value) ? `integer \`${value}\`` : `floating point \`${value}\``;
    case 'string':
      return `string ${JSON.stringify(value)}`;
    default:
      return 'map';
  }
}

function copy(v) {
  if (Array.isArray(v)) return v.map(copy);
  if (v !== null && typeof v === 'object') return { ...v };
  return v;
}
