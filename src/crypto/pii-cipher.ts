import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { LogsError } from '../errors.js';

/** One person's personal values in one record, to be encrypted under their key. */
export interface PiiPlan {
  readonly pseudonym: string;
  readonly key: Buffer;
  /** JSON of { placeholder: value }, keys sorted. */
  readonly plain: string;
}

/**
 * Encryption of a record's personal data: for each person, AES-256-GCM under their key, with the
 * log id and the pseudonym as additional data, so a ciphertext cannot be moved to another log or
 * another person. Stored as base64 of nonce (12) || ciphertext || tag (16).
 *
 * Moving a ciphertext to another record of the same person is not bound here: the hash chain
 * covers every stored byte, so any such edit is caught by verify. That lets identical values of
 * one person (a user and the address they connect from, record after record) reuse one
 * ciphertext, which saves an encryption per record at the cost of showing that two records of
 * that person hold the same values (their pseudonym already links them).
 */

function aad(logId: string, pseudonym: string): Buffer {
  return Buffer.from(`dihya-logs/pii/v1\0${logId}\0${pseudonym}`, 'utf8');
}

// Nonces come from a pool refilled in bulk: one randomBytes call per record costs more than the
// encryption itself. 96 random bits per nonce, as GCM recommends for random nonces.
const POOL = Buffer.alloc(12 * 1024);
let poolAt = POOL.length;

export function nonce(): Buffer {
  if (poolAt === POOL.length) {
    randomFillSync(POOL);
    poolAt = 0;
  }
  const n = Buffer.from(POOL.subarray(poolAt, poolAt + 12));
  poolAt += 12;
  return n;
}

/** One person's values, encrypted: base64 of nonce || ciphertext || tag. */
export function encryptOne(
  key: Uint8Array,
  plain: string,
  logId: string,
  pseudonym: string,
): string {
  const iv = nonce();
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad(logId, pseudonym));
  return Buffer.concat([
    iv,
    cipher.update(plain, 'utf8'),
    cipher.final(),
    cipher.getAuthTag(),
  ]).toString('base64');
}

const CACHE_MAX = 65_536;

/**
 * Encrypts records' personal data, reusing the ciphertext of a person's identical values
 * (bounded cache, oldest first out). One per writer thread.
 */
export class PiiSealer {
  private readonly cache = new Map<string, string>();

  constructor(private readonly logId: string) {}

  /** The `pii` object of a record, as canonical JSON text: { pseudonym: ciphertext, ... }. */
  seal(plans: readonly PiiPlan[]): string {
    let out = '{';
    for (let i = 0; i < plans.length; i++) {
      const p = plans[i] as PiiPlan;
      const key = `${p.pseudonym}\0${p.plain}`;
      let ct = this.cache.get(key);
      if (ct === undefined) {
        ct = encryptOne(p.key, p.plain, this.logId, p.pseudonym);
        if (this.cache.size >= CACHE_MAX)
          this.cache.delete(this.cache.keys().next().value as string);
        this.cache.set(key, ct);
      }
      // Plans are sorted by pseudonym; pseudonyms and base64 need no escaping: canonical JSON.
      out += `${i > 0 ? ',' : ''}"${p.pseudonym}":"${ct}"`;
    }
    return `${out}}`;
  }

  /** Forget a person's ciphertexts (erasure). */
  forget(pseudonym: string): void {
    for (const k of this.cache.keys()) if (k.startsWith(`${pseudonym}\0`)) this.cache.delete(k);
  }
}

/** One person's values from a record; throws when the key or the log does not match. */
export function decryptPii(
  ciphertext: string,
  key: Uint8Array,
  logId: string,
  pseudonym: string,
): Record<string, string> {
  const raw = Buffer.from(ciphertext, 'base64');
  if (raw.length < 28) throw new LogsError('INTEGRITY_STATE', 'a pii ciphertext is too short');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAAD(aad(logId, pseudonym));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    const plain = Buffer.concat([
      decipher.update(raw.subarray(12, raw.length - 16)),
      decipher.final(),
    ]);
    return JSON.parse(plain.toString('utf8')) as Record<string, string>;
  } catch (err) {
    throw new LogsError('INTEGRITY_STATE', `the personal data of ${pseudonym} does not decrypt`, {
      cause: err,
    });
  }
}
