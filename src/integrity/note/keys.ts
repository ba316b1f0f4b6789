import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { keyInvalid } from './encoding.js';

/** Signature type bytes of c2sp.org/signed-note: Ed25519 over the note text. */
export const SIG_ED25519 = 0x01;
/** Timestamped Ed25519 witness cosignature, c2sp.org/tlog-cosignature. */
export const SIG_COSIGNATURE_V1 = 0x04;
export type NoteKeyType = typeof SIG_ED25519 | typeof SIG_COSIGNATURE_V1;

/** Checks one signature line's payload (after its 4-byte key id) against the note text. */
export interface NoteVerifier {
  readonly name: string;
  /** The uint32 key id (big-endian first four bytes of the signature). */
  readonly keyId: number;
  readonly type: NoteKeyType;
  /** The 32 raw bytes of the Ed25519 public key. */
  readonly publicKey: Buffer;
  verify(text: Buffer, signature: Buffer): boolean;
}

/** Makes one signature line's payload (after its 4-byte key id) over the note text. */
export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  readonly type: NoteKeyType;
  readonly publicKey: Buffer;
  sign(text: Buffer): Buffer;
}

const MAX_NAME_BYTES = 255;

/**
 * A key name per signed-note: non-empty, no Unicode space (Go's unicode.IsSpace is the
 * White_Space property), no '+'. Also refused: control characters, which no note may hold,
 * lone surrogates, and names over 255 UTF-8 bytes (the bound of the ML-DSA cosignature).
 */
export function isValidKeyName(name: string): boolean {
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    name.isWellFormed() &&
    Buffer.byteLength(name, 'utf8') <= MAX_NAME_BYTES &&
    !name.includes('+') &&
    // eslint-disable-next-line no-control-regex
    !/[\p{White_Space}\u0000-\u001f]/u.test(name)
  );
}

/** key ID = SHA-256(name || 0x0A || type || public key)[:4], as a big-endian uint32. */
export function noteKeyId(name: string, type: number, publicKey: Uint8Array): number {
  return createHash('sha256')
    .update(name, 'utf8')
    .update(Buffer.of(0x0a, type))
    .update(publicKey)
    .digest()
    .readUInt32BE(0);
}

export function keyIdHex(keyId: number): string {
  return keyId.toString(16).padStart(8, '0');
}

// PKCS#8 of an Ed25519 private key is this fixed prefix followed by the 32-byte seed.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** An Ed25519 public key as a KeyObject, from its 32 raw bytes or a KeyObject (checked). */
export function ed25519PublicKey(key: KeyObject | Uint8Array): KeyObject {
  if (key instanceof Uint8Array) {
    if (key.length !== 32) throw keyInvalid('an Ed25519 public key is 32 bytes');
    return createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(key).toString('base64url') },
      format: 'jwk',
    });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw keyInvalid('not an Ed25519 key');
  return key.type === 'private' ? createPublicKey(key) : key;
}

/** An Ed25519 private key as a KeyObject, from its 32-byte seed or a KeyObject (checked). */
export function ed25519PrivateKey(key: KeyObject | Uint8Array): KeyObject {
  if (key instanceof Uint8Array) {
    if (key.length !== 32) throw keyInvalid('an Ed25519 seed is 32 bytes');
    return createPrivateKey({
      key: Buffer.concat([PKCS8_PREFIX, key]),
      format: 'der',
      type: 'pkcs8',
    });
  }
  if (key.asymmetricKeyType !== 'ed25519' || key.type !== 'private')
    throw keyInvalid('not an Ed25519 private key');
  return key;
}

/** The 32 raw bytes of an Ed25519 public (or private) key. */
export function rawPublicKey(key: KeyObject): Buffer {
  const jwk = ed25519PublicKey(key).export({ format: 'jwk' });
  return Buffer.from(jwk.x ?? '', 'base64url');
}

/** The 32-byte seed of an Ed25519 private key: what a signer key text holds. */
export function rawSeed(key: KeyObject): Buffer {
  const jwk = ed25519PrivateKey(key).export({ format: 'jwk' });
  return Buffer.from(jwk.d ?? '', 'base64url');
}

/**
 * What every note key shows of itself: its name (checked), key id, type and raw public key.
 * Signers and verifiers of both types are built on it.
 */
export function keyIdentity(
  name: string,
  type: NoteKeyType,
  key: KeyObject,
): { name: string; keyId: number; type: NoteKeyType; publicKey: Buffer } {
  if (!isValidKeyName(name)) throw keyInvalid('invalid key name');
  const publicKey = rawPublicKey(key);
  return { name, keyId: noteKeyId(name, type, publicKey), type, publicKey };
}
