import type { SubjectKeys } from '../crypto/subjects.js';
import type { Classifier } from './classifier.js';
import type { KeyRule } from './keys.js';

/** Classification as configured (compiled into rules by `redact/compile.ts`). */
export interface ClassificationConfig {
  readonly subjectFields: readonly string[];
  readonly personalFields: readonly string[];
  readonly personTypes: readonly string[];
  readonly ipAddresses: 'encrypt' | 'truncate';
  readonly keys: Readonly<Record<string, 'remove' | 'mask' | 'encrypt' | 'identifier' | 'keep'>>;
  readonly patterns: ReadonlyArray<{
    readonly name: string;
    readonly pattern: string;
    readonly mode: 'remove' | 'mask' | 'encrypt' | 'keep';
    readonly ignoreCase: boolean;
  }>;
}

export const DEFAULT_CLASSIFICATION: ClassificationConfig = {
  subjectFields: ['subject', 'actor.id'],
  personalFields: [
    'actor.id',
    'actor.email',
    'actor.ip',
    'actor.name',
    'actor.phone',
    'target.id',
    'target.email',
    'target.ip',
    'target.name',
    'target.phone',
  ],
  personTypes: ['user', 'person', 'customer', 'member', 'account', 'employee', 'contact'],
  ipAddresses: 'encrypt',
  keys: {},
  patterns: [],
};

/** How events are classified: compiled once from the configuration. */
export interface ClassificationSettings {
  readonly classifier: Classifier;
  readonly keys: SubjectKeys;
  /** Where the record's subject comes from, first found wins: `subject`, `actor.id`, ... */
  readonly subjectFields: ReadonlyArray<readonly [string, string]>;
  /** Rules for the fields of an actor (`id` → identifier, `email` → personal, ...). */
  readonly actorRules: ReadonlyMap<string, KeyRule>;
  /** Rules for the fields of a target that is a person. */
  readonly personRules: ReadonlyMap<string, KeyRule>;
  /** Target types that make a target a person. */
  readonly personTypes: ReadonlySet<string>;
}
