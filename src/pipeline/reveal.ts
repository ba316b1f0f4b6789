import { decryptPii } from '../crypto/pii-cipher.js';
import { LogsError } from '../errors.js';
import type { SubjectLookup } from '../crypto/subjects.js';

export interface Revealed {
  /** The record with personal values put back, without `pii`; `subject` is the real subject id. */
  readonly record: Record<string, unknown>;
  /** Pseudonyms of erased people: their values stay placeholders, their ids stay pseudonyms. */
  readonly erased: string[];
}

const PLACEHOLDER = /\[[a-z_]{1,32}#\d{1,6}\]|sub_[\da-f]{24}/g;
const PSEUDONYM = /^sub_[\da-f]{24}$/;

/**
 * Put a record's personal values back in place of their placeholders and pseudonyms, for a
 * reader allowed to see them. Each person's values decrypt only with that person's key, and a
 * pseudonym turns back into an id only through the keystore: an erased person stays a
 * pseudonym and placeholders. Throws INTEGRITY_STATE if a ciphertext was altered.
 */
export function reveal(
  record: Record<string, unknown>,
  keys: SubjectLookup,
  logId: string,
): Revealed {
  const { pii, ...rest } = record;
  const erased = new Set<string>();
  const values = new Map<string, string>();
  if (typeof pii === 'object' && pii !== null) {
    for (const [pseudonym, ciphertext] of Object.entries(pii as Record<string, unknown>)) {
      const key = keys.keyOf(pseudonym);
      if (key === undefined || typeof ciphertext !== 'string') {
        erased.add(pseudonym);
        continue;
      }
      const plain = decryptPii(ciphertext, key, logId, pseudonym);
      for (const [k, v] of Object.entries(plain)) values.set(k, v);
    }
  }
  const idOf = (pseudonym: string): string => {
    const known = values.get(pseudonym);
    if (known !== undefined) return known;
    const id = keys.idOf(pseudonym);
    if (id === undefined) {
      erased.add(pseudonym);
      return pseudonym;
    }
    values.set(pseudonym, id);
    return id;
  };
  const put = (s: string): string => {
    if (PSEUDONYM.test(s)) return idOf(s);
    return s.replace(PLACEHOLDER, (m) => (m.startsWith('sub_') ? idOf(m) : (values.get(m) ?? m)));
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return put(v);
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'object' && v !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        // defineProperty: a key named __proto__ stays a plain key.
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
    const subject = idOf(rest.sub);
    if (subject !== rest.sub) revealed.subject = subject;
  }
  return { record: revealed, erased: [...erased] };
}

/**
 * The record as a reader sees it: revealed, or as stored when a ciphertext does not open. An
 * altered ciphertext in a record whose chain hash holds cannot happen unless the hash was forged
 * too (verify says so); a listing shows the stored form rather than fail as a whole.
 */
export function revealOrStored(
  record: Record<string, unknown>,
  keys: SubjectLookup,
  logId: string,
): Record<string, unknown> {
  try {
    return reveal(record, keys, logId).record;
  } catch (err) {
    if (!(err instanceof LogsError)) throw err;
    return record;
  }
}
