import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { LogsError } from '../errors.js';

/** An AES-256-GCM ciphertext as stored in JSON files: all parts base64. */
export interface Sealed {
  readonly alg: 'A256GCM';
  readonly iv: string;
  readonly tag: string;
  readonly ct: string;
}

/**
 * Encrypt with AES-256-GCM under a 32-byte key. `aad` binds the ciphertext to its purpose and
 * owner (for example the log id), so a wrapped key cannot be swapped in from another place.
 */
export function seal(key: Uint8Array, plaintext: Uint8Array, aad: string): Sealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return {
    alg: 'A256GCM',
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    ct: ct.toString('base64'),
  };
}

/** Decrypt what `seal` made. A wrong key, a wrong aad or any altered byte is MASTER_KEY_WRONG. */
export function open(key: Uint8Array, sealed: Sealed, aad: string): Buffer {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(sealed.ct, 'base64')), decipher.final()]);
  } catch (err) {
    throw new LogsError(
      'MASTER_KEY_WRONG',
      'the master key does not open this key (wrong key, or the key file was altered)',
      {
        cause: err,
      },
    );
  }
}

export function isSealed(value: unknown): value is Sealed {
  const v = value as Partial<Sealed> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    v.alg === 'A256GCM' &&
    typeof v.iv === 'string' &&
    typeof v.tag === 'string' &&
    typeof v.ct === 'string'
  );
}
