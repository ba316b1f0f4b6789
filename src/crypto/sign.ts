import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { LogsError } from '../errors.js';
import { sha256Hex } from './hash.js';

/** The published form of a public key: `ed25519:<base64 of the 32 raw bytes>`. */
export type PublicKeyText = string;

export interface SigningKeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function generateSigningKeyPair(): SigningKeyPair {
  return generateKeyPairSync('ed25519');
}

/** PKCS#8 DER of the private key, the form that gets wrapped by the master key. */
export function exportPrivateKey(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'pkcs8' });
}

export function importPrivateKey(der: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
}

// An Ed25519 SubjectPublicKeyInfo is this fixed 12-byte header followed by the 32-byte key.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function publicKeyText(key: KeyObject): PublicKeyText {
  const spki = key.export({ format: 'der', type: 'spki' });
  return `ed25519:${spki.subarray(SPKI_PREFIX.length).toString('base64')}`;
}

/** Parse `ed25519:<base64>`; anything else is PUBLIC_KEY_INVALID. */
export function parsePublicKey(text: string): KeyObject {
  const match = /^ed25519:([a-z\d+/]{43}=)$/i.exec(text.trim());
  const raw = match?.[1] === undefined ? undefined : Buffer.from(match[1], 'base64');
  if (raw?.length !== 32) {
    throw new LogsError(
      'PUBLIC_KEY_INVALID',
      'public key: expected "ed25519:" followed by base64 of 32 bytes',
    );
  }
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** Short, stable name of a public key: the first 16 hex digits of SHA-256 of its text form. */
export function keyId(text: PublicKeyText): string {
  return sha256Hex(text).slice(0, 16);
}

export function signBytes(privateKey: KeyObject, data: string | Uint8Array): string {
  return sign(
    null,
    typeof data === 'string' ? Buffer.from(data, 'utf8') : data,
    privateKey,
  ).toString('base64');
}

export function verifyBytes(
  publicKey: KeyObject,
  data: string | Uint8Array,
  signature: string,
): boolean {
  try {
    const sig = Buffer.from(signature, 'base64');
    if (sig.length !== 64) return false;
    return verify(
      null,
      typeof data === 'string' ? Buffer.from(data, 'utf8') : data,
      publicKey,
      sig,
    );
  } catch {
    return false; // a malformed signature is simply not valid
  }
}
