import { sign, verify, type KeyObject } from 'node:crypto';
import {
  SIG_ED25519,
  ed25519PrivateKey,
  ed25519PublicKey,
  keyIdentity,
  type NoteSigner,
  type NoteVerifier,
} from './keys.js';

/** A verifier of plain Ed25519 note signatures (type 0x01) from a name and a public key. */
export function ed25519Verifier(name: string, publicKey: KeyObject | Uint8Array): NoteVerifier {
  const key = ed25519PublicKey(publicKey);
  return Object.freeze({
    ...keyIdentity(name, SIG_ED25519, key),
    verify: (text: Buffer, signature: Buffer): boolean => verifyEd25519(key, text, signature),
  });
}

/** A signer of plain Ed25519 note signatures from a name and a private key (or its seed). */
export function ed25519Signer(name: string, privateKey: KeyObject | Uint8Array): NoteSigner {
  const key = ed25519PrivateKey(privateKey);
  return Object.freeze({
    ...keyIdentity(name, SIG_ED25519, key),
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
