import { sign, verify, type KeyObject } from 'node:crypto';
import { keyInvalid } from './encoding.js';
import {
  SIG_ED25519,
  ed25519PrivateKey,
  ed25519PublicKey,
  isValidKeyName,
  noteKeyId,
  rawPublicKey,
  type NoteSigner,
  type NoteVerifier,
} from './keys.js';

/** A verifier of plain Ed25519 note signatures (type 0x01) from a name and a public key. */
export function ed25519Verifier(name: string, publicKey: KeyObject | Uint8Array): NoteVerifier {
  if (!isValidKeyName(name)) throw keyInvalid('invalid key name');
  const key = ed25519PublicKey(publicKey);
  const raw = rawPublicKey(key);
  return Object.freeze({
    name,
    keyId: noteKeyId(name, SIG_ED25519, raw),
    type: SIG_ED25519,
    publicKey: raw,
    verify: (text: Buffer, signature: Buffer): boolean => verifyEd25519(key, text, signature),
  });
}

/** A signer of plain Ed25519 note signatures from a name and a private key (or its seed). */
export function ed25519Signer(name: string, privateKey: KeyObject | Uint8Array): NoteSigner {
  if (!isValidKeyName(name)) throw keyInvalid('invalid key name');
  const key = ed25519PrivateKey(privateKey);
  const raw = rawPublicKey(key);
  return Object.freeze({
    name,
    keyId: noteKeyId(name, SIG_ED25519, raw),
    type: SIG_ED25519,
    publicKey: raw,
    sign: (text: Buffer): Buffer => sign(null, text, key),
  });
}

/** Ed25519 verification that is false, never a throw, for a signature of the wrong length. */
export function verifyEd25519(key: KeyObject, message: Buffer, signature: Buffer): boolean {
  if (signature.length !== 64) return false;
  try {
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}
