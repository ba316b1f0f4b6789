import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { LogsError } from '../errors.js';
import type { PiiPlan } from '../redact/pii.js';

/**
 * Encryption of a record's personal data: for each person, AES-256-GCM under their key, with
 * the log id, channel, seq and pseudonym as additional data, so a ciphertext cannot be moved
 * to another record or another person. Stored as base64 of nonce (12) || ciphertext || tag (16).
 */

function aad(logId: string, channel: string, seq: number, pseudonym: string): Buffer {
  return Buffer.from(`dihya-logs/pii/v1\0${logId}\0${channel}\0${seq}\0${pseudonym}`, 'utf8');
}

// Nonces come from a pool refilled in bulk: one randomBytes call per record costs more than the
// encryption itself. 96 random bits per nonce, as GCM recommends for random nonces.
const POOL = Buffer.alloc(12 * 1024);
let poolAt = POOL.length;

function nonce(): Buffer {
  if (poolAt === POOL.length) {
    randomFillSync(POOL);
    poolAt = 0;
  }
  const n = Buffer.from(POOL.subarray(poolAt, poolAt + 12));
  poolAt += 12;
  return n;
}

/** The `pii` object of a record, as canonical JSON text: { pseudonym: ciphertext, ... }. */
export function encryptPii(
  plans: readonly PiiPlan[],
  logId: string,
  channel: string,
  seq: number,
): string {
  let out = '{';
  plans.forEach((p, i) => {
    const iv = nonce();
    const cipher = createCipheriv('aes-256-gcm', p.key, iv);
    cipher.setAAD(aad(logId, channel, seq, p.pseudonym));
    const ct = Buffer.concat([
      iv,
      cipher.update(p.plain, 'utf8'),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    // Plans are sorted by pseudonym, and pseudonyms and base64 need no escaping: canonical JSON.
    out += `${i > 0 ? ',' : ''}"${p.pseudonym}":"${ct.toString('base64')}"`;
  });
  return `${out}}`;
}

/** One person's values from a record; throws when the key or the record does not match. */
export function decryptPii(
  ciphertext: string,
  key: Uint8Array,
  logId: string,
  channel: string,
  seq: number,
  pseudonym: string,
): Record<string, string> {
  const raw = Buffer.from(ciphertext, 'base64');
  if (raw.length < 28) throw new LogsError('INTEGRITY_STATE', 'a pii ciphertext is too short');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAAD(aad(logId, channel, seq, pseudonym));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    const plain = Buffer.concat([
      decipher.update(raw.subarray(12, raw.length - 16)),
      decipher.final(),
    ]);
    return JSON.parse(plain.toString('utf8')) as Record<string, string>;
  } catch (err) {
    throw new LogsError(
      'INTEGRITY_STATE',
      `the personal data of ${pseudonym} in ${channel} #${seq} does not decrypt`,
      { cause: err },
    );
  }
}
