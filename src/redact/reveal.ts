import { decryptPii } from '../crypto/pii-cipher.js';

/** Where reveal() gets data keys: the keystore, for callers allowed to see personal data. */
export interface RevealKeys {
  keyOf(pseudonym: string): Buffer | undefined;
}

export interface Revealed {
  /** The record with personal values put back, without `pii`; `subject` is the real subject id. */
  readonly record: Record<string, unknown>;
  /** Pseudonyms whose key is gone (erased): their values stay placeholders. */
  readonly erased: string[];
}

const PLACEHOLDER = /\[[a-z_]{1,32}#\d{1,6}\]|sub_[\da-f]{24}/g;

/**
 * Put a record's personal values back in place of their placeholders and pseudonyms, for a
 * reader allowed to see them. Each person's values decrypt only with that person's key: an
 * erased person's placeholders stay. Throws INTEGRITY_STATE if a ciphertext was altered.
 */
export function reveal(record: Record<string, unknown>, keys: RevealKeys, logId: string): Revealed {
  const { pii, ...rest } = record;
  const erased: string[] = [];
  if (typeof pii !== 'object' || pii === null) return { record: rest, erased };
  const values = new Map<string, string>();
  for (const [pseudonym, ciphertext] of Object.entries(pii as Record<string, unknown>)) {
    const key = keys.keyOf(pseudonym);
    if (key === undefined || typeof ciphertext !== 'string') {
      erased.push(pseudonym);
      continue;
    }
    const plain = decryptPii(
      ciphertext,
      key,
      logId,
      String(rest.channel),
      Number(rest.seq),
      pseudonym,
    );
    for (const [k, v] of Object.entries(plain)) values.set(k, v);
  }
  const put = (s: string): string =>
    values.get(s) ?? s.replace(PLACEHOLDER, (m) => values.get(m) ?? m);
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return put(v);
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'object' && v !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        Object.defineProperty(out, put(k), {
          value: walk(x),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    return v;
  };
  const revealed = walk(rest) as Record<string, unknown>;
  // `sub` stays the pseudonym (it is how the record is found); `subject` says who it is.
  if (typeof rest.sub === 'string') {
    revealed.sub = rest.sub;
    const subject = values.get(rest.sub);
    if (subject !== undefined) revealed.subject = subject;
  }
  return { record: revealed, erased };
}
