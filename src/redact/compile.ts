import { RegExpParser } from '@eslint-community/regexpp';
import { analyse } from 'scslre';
import { LogsError } from '../errors.js';
import type { ClassificationConfig, ClassificationSettings } from './settings.js';
import { Classifier, type PatternRule } from './classifier.js';
import { normalizeKey, type KeyRule } from './keys.js';
import type { SubjectKeys } from '../crypto/subjects.js';

// Compiled rules per configuration object (a resolved configuration is frozen): the config's
// validation, the writer, the policy document and doctor share one compilation.
const compiled = new WeakMap<ClassificationConfig, Classifier>();

/**
 * Compile the configured classification into rules, once per configuration: later calls with
 * the same (frozen) configuration get the same rules. A user pattern must run in linear time
 * like the built-in ones: one that can backtrack super-linearly (checked with scslre) is refused
 * with the rule's name.
 */
export function compileClassifier(c: ClassificationConfig): Classifier {
  let classifier = compiled.get(c);
  if (classifier === undefined) {
    classifier = compileRules(c);
    if (Object.isFrozen(c)) compiled.set(c, classifier);
  }
  return classifier;
}

function compileRules(c: ClassificationConfig): Classifier {
  const keys = new Map<string, KeyRule>();
  for (const [key, mode] of Object.entries(c.keys)) {
    keys.set(normalizeKey(key), { mode, name: normalizeKey(key), source: 'config' });
  }
  const patterns: PatternRule[] = c.patterns.map((p) => ({
    name: p.name,
    mode: p.mode,
    regex: compilePattern(p.name, p.pattern, p.ignoreCase),
  }));
  return new Classifier({ keys, patterns, ip: c.ipAddresses });
}

function compilePattern(name: string, source: string, ignoreCase: boolean): RegExp {
  const flags = ignoreCase ? 'gi' : 'g';
  let regex: RegExp;
  try {
    regex = new RegExp(source, flags);
  } catch (err) {
    throw new LogsError(
      'CONFIG_INVALID',
      `classification.patterns.${name}: not a valid regular expression (${(err as Error).message})`,
    );
  }
  const literal = new RegExpParser().parseLiteral(`/${source}/${flags}`);
  const report = analyse(literal);
  if (report.reports.length > 0) {
    throw new LogsError(
      'CONFIG_INVALID',
      `classification.patterns.${name}: the pattern can backtrack super-linearly on hostile input; bound its quantifiers ({1,64}) and anchor its start with a lookbehind`,
    );
  }
  if (regex.test(''))
    throw new LogsError(
      'CONFIG_INVALID',
      `classification.patterns.${name}: the pattern matches the empty string`,
    );
  return regex;
}

/** Everything prepareEvent needs to classify, from the configuration and a keystore. */
export function classificationSettings(
  c: ClassificationConfig,
  classifier: Classifier,
  keys: SubjectKeys,
): ClassificationSettings {
  const rulesFor = (party: 'actor' | 'target'): Map<string, KeyRule> => {
    const rules = new Map<string, KeyRule>();
    for (const path of c.personalFields) {
      const [head, field] = path.split('.', 2);
      if (head !== party || field === undefined) continue;
      rules.set(field, {
        mode: field === 'id' ? 'identifier' : 'encrypt',
        name: field === 'id' ? 'id' : (PLACEHOLDER_NAMES[field] ?? field),
        source: 'config',
      });
    }
    return rules;
  };
  return {
    classifier,
    keys,
    subjectFields: c.subjectFields.map((f) => {
      const [head = 'subject', leaf = 'id'] = f.split('.', 2);
      return [head, leaf] as const;
    }),
    actorRules: rulesFor('actor'),
    personRules: rulesFor('target'),
    personTypes: new Set(c.personTypes),
  };
}

const PLACEHOLDER_NAMES: Readonly<Record<string, string>> = {
  mail: 'email',
  tel: 'phone',
  ip_address: 'ip',
};
