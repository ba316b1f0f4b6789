import { randomBytes } from 'node:crypto';
import { prepareEvent } from '../../src/pipeline/prepare.js';
import {
  DEFAULT_CLASSIFICATION,
  type ClassificationConfig,
  type ClassificationSettings,
} from '../../src/redact/settings.js';
import { classificationSettings, compileClassifier } from '../../src/redact/compile.js';
import { resolveConfig } from '../../src/config/resolve.js';
import type { SubjectEntry, SubjectKeys } from '../../src/crypto/subjects.js';
import { sealEvent } from '../../src/pipeline/prepare.js';
import { PiiSealer } from '../../src/crypto/pii-cipher.js';
import { reveal } from '../../src/pipeline/reveal.js';

/** An in-memory keystore: the same id always gets the same pseudonym and key. */
export class MemoryKeys implements SubjectKeys {
  readonly entries = new Map<string, SubjectEntry>();

  subject(id: string): SubjectEntry {
    let e = this.entries.get(id);
    if (e === undefined) {
      e = { pseudonym: `sub_${randomBytes(12).toString('hex')}`, key: randomBytes(32) };
      this.entries.set(id, e);
    }
    return e;
  }

  keyOf(pseudonym: string): Buffer | undefined {
    for (const e of this.entries.values()) if (e.pseudonym === pseudonym) return e.key;
    return undefined;
  }

  idOf(pseudonym: string): string | undefined {
    for (const [id, e] of this.entries) if (e.pseudonym === pseudonym) return id;
    return undefined;
  }

  /** Erase a person: their key and mapping are gone. */
  erase(id: string): void {
    this.entries.delete(id);
  }
}

export function settings(
  keys: SubjectKeys,
  config: Record<string, unknown> = {},
): ClassificationSettings {
  const c: ClassificationConfig =
    Object.keys(config).length === 0
      ? DEFAULT_CLASSIFICATION
      : resolveConfig({ classification: config }, process.cwd()).classification;
  return classificationSettings(c, compileClassifier(c), keys);
}

export const LIMITS = { maxRecordBytes: 64 * 1024, maxDepth: 32 };
const LOG_ID = '0123456789abcdef0123456789abcdef';

/** Classify and seal an event as the writer would (seq 1), returning the stored record. */
export function store(input: unknown, s: ClassificationSettings): Record<string, unknown> {
  const p = prepareEvent(input, { ...LIMITS, classification: s });
  const pii = p.pii === undefined ? undefined : new PiiSealer(LOG_ID).seal(p.pii);
  return JSON.parse(sealEvent(p, 1, '2026-01-01T00:00:00.000Z', 0, pii)) as Record<string, unknown>;
}

/** The stored record with personal values put back, as an allowed reader sees it. */
export function revealed(
  record: Record<string, unknown>,
  keys: MemoryKeys,
): Record<string, unknown> {
  return reveal(record, keys, LOG_ID).record;
}
