import { isSealedRecord } from '../crypto/body-cipher.js';
import { canonicalize } from '../event/canonical.js';
import { isLevel } from '../event/levels.js';
import { HASH_SUFFIX_BYTES } from './chain.js';
import type { DamageKind } from './damage.js';

/** Checks of one stored record's form, for verify (parsing only to explain or with --deep). */

export function tryParse(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

export function describeMalformed(bytes: Buffer): string {
  if (bytes.length === 0) return 'an empty line';
  return tryParse(bytes) === undefined
    ? 'the line is not valid JSON'
    : 'the line does not end with its hash field';
}

/** --deep: the record parses, has the fields of a record, and its bytes are its canonical form. */
export function deepCheck(
  bytes: Buffer,
  channel: string,
  seq: number,
): { kind: DamageKind; detail: string } | undefined {
  const rec = tryParse(bytes);
  if (rec === undefined) return { kind: 'invalid_record', detail: 'not a JSON object' };
  if (rec.seq !== seq)
    return { kind: 'invalid_record', detail: `seq is ${String(rec.seq)}, expected ${seq}` };
  if (rec.channel !== channel)
    return { kind: 'invalid_record', detail: `channel is ${JSON.stringify(rec.channel)}` };
  if (!isLevel(rec.level))
    return { kind: 'invalid_record', detail: 'level is not one of the seven levels' };
  if (typeof rec.ts !== 'string' || Number.isNaN(Date.parse(rec.ts)))
    return { kind: 'invalid_record', detail: 'ts is not a time' };
  if (isSealedRecord(rec)) {
    // An encrypted channel's record: its body is checked by whoever holds the key (query).
    const body = rec.body as { ct?: unknown; k?: unknown } | null;
    if (
      typeof body?.ct !== 'string' ||
      !Number.isSafeInteger(body.k) ||
      Object.keys(rec).length !== 6
    )
      return { kind: 'invalid_record', detail: 'an encrypted record without a well-formed body' };
  } else if (typeof rec.event !== 'string') {
    return { kind: 'invalid_record', detail: 'event is missing' };
  }
  const { hash: _hash, ...body } = rec;
  let canonical: string;
  try {
    canonical = canonicalize(body);
  } catch {
    return {
      kind: 'not_canonical',
      detail: 'the record holds a value JSON canonicalization refuses',
    };
  }
  const stored = bytes.subarray(0, bytes.length - HASH_SUFFIX_BYTES).toString('utf8') + '}';
  return canonical === stored
    ? undefined
    : { kind: 'not_canonical', detail: 'the stored bytes are not the RFC 8785 form of the record' };
}
