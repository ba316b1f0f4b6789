import { DETECTORS } from './detectors.js';
import { BUILT_IN_KEYS, SECRET_SUFFIXES, type Mode } from './keys.js';
import type { Classifier } from './classifier.js';

/** One line of the classification policy, for `dihya-logs policy` and the docs. */
export interface RuleDescription {
  readonly kind: 'key' | 'key-suffix' | 'detector' | 'pattern';
  /** What it matches: a normalized key name, a suffix, a detector's or a pattern's name. */
  readonly match: string;
  readonly mode: Mode | 'mask' | 'remove' | 'encrypt';
  readonly source: 'built-in' | 'config';
  readonly description?: string;
}

/**
 * Every rule a classifier applies, configured ones first (they win): the classification is
 * configuration, and it must be possible to say exactly what it does.
 */
export function describeClassification(c: Classifier): RuleDescription[] {
  const out: RuleDescription[] = [];
  for (const [key, rule] of c.rules.keys)
    out.push({ kind: 'key', match: key, mode: rule.mode, source: 'config' });
  for (const p of c.rules.patterns)
    out.push({
      kind: 'pattern',
      match: `${p.name}: /${p.regex.source}/`,
      mode: p.mode,
      source: 'config',
    });
  for (const [key, rule] of BUILT_IN_KEYS)
    out.push({
      kind: 'key',
      match: key,
      mode: rule.mode,
      source: 'built-in',
      description: rule.name,
    });
  for (const suffix of SECRET_SUFFIXES)
    out.push({ kind: 'key-suffix', match: `*${suffix}`, mode: 'remove', source: 'built-in' });
  for (const d of DETECTORS) {
    out.push({
      kind: 'detector',
      match: d.name,
      mode:
        d.name === 'card'
          ? 'mask'
          : d.secret
            ? 'remove'
            : d.name.startsWith('ip') && c.rules.ip === 'truncate'
              ? 'keep'
              : 'encrypt',
      source: 'built-in',
      description: d.description,
    });
  }
  return out;
}
