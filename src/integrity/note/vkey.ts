import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { cosignatureVerifier } from './cosignature.js';
import { ed25519Signer, ed25519Verifier } from './ed25519.js';
import { decodeBase64, keyInvalid } from './encoding.js';
import {
  SIG_COSIGNATURE_V1,
  SIG_ED25519,
  isValidKeyName,
  keyIdHex,
  noteKeyId,
  rawSeed,
  type NoteKeyType,
  type NoteSigner,
  type NoteVerifier,
} from './keys.js';

/**
 * The text forms of note keys (signed-note, "Verifier keys"; golang.org/x/mod/sumdb/note):
 *   verifier  <name>+<hex key id>+base64(type || 32-byte public key)
 *   signer    PRIVATE+KEY+<name>+<hex key id>+base64(0x01 || 32-byte Ed25519 seed)
 * The key id always covers the public key, so a signer's is checked after deriving it.
 */

const MAX_KEY_TEXT = 1024;

/** The verifier key text of a verifier (or signer): Ed25519 (0x01) or cosignature (0x04). */
export function formatVerifierKey(key: {
  readonly name: string;
  readonly type: NoteKeyType;
  readonly publicKey: Uint8Array;
}): string {
  if (!isValidKeyName(key.name)) throw keyInvalid('invalid key name');
  if (key.publicKey.length !== 32) throw keyInvalid('an Ed25519 public key is 32 bytes');
  const material = Buffer.concat([Buffer.of(key.type), key.publicKey]);
  const id = noteKeyId(key.name, key.type, key.publicKey);
  return `${key.name}+${keyIdHex(id)}+${material.toString('base64')}`;
}

/** Parse a verifier key text; its type (0x01 or 0x04) decides what the verifier checks. */
export function parseVerifierKey(text: string): NoteVerifier {
  const parts = splitKey(text, 2, 'verifier key');
  const [name, hex, b64] = parts as [string, string, string];
  const material = checkIdAndMaterial(name, hex, b64, 'verifier key');
  const type = material[0];
  const publicKey = material.subarray(1);
  if (type !== SIG_ED25519 && type !== SIG_COSIGNATURE_V1)
    throw keyInvalid(`verifier key of ${name}: unsupported signature type ${type}`);
  if (publicKey.length !== 32)
    throw keyInvalid(`verifier key of ${name}: an Ed25519 public key is 32 bytes`);
  if (noteKeyId(name, type, publicKey) !== Number.parseInt(hex, 16))
    throw keyInvalid(`verifier key of ${name}: the key id does not match the key`);
  return type === SIG_ED25519
    ? ed25519Verifier(name, publicKey)
    : cosignatureVerifier(name, publicKey);
}

/** The signer key text of an Ed25519 private key (KeyObject or 32-byte seed). */
export function formatSignerKey(name: string, privateKey: KeyObject | Uint8Array): string {
  const signer = ed25519Signer(name, privateKey);
  const seed = privateKey instanceof Uint8Array ? Buffer.from(privateKey) : rawSeed(privateKey);
  const material = Buffer.concat([Buffer.of(SIG_ED25519), seed]);
  return `PRIVATE+KEY+${name}+${keyIdHex(signer.keyId)}+${material.toString('base64')}`;
}

/** A parsed signer key: its Ed25519 signer, and the seed to make a cosigner of the same key. */
export interface ParsedSignerKey {
  readonly name: string;
  readonly seed: Buffer;
  readonly signer: NoteSigner;
}

/** Parse a `PRIVATE+KEY+...` text (Ed25519, type 0x01, as Go's note.NewSigner). */
export function parseSignerKey(text: string): ParsedSignerKey {
  // Never echo any of it in an error: it is a secret.
  const parts = splitKey(text, 4, 'signer key');
  const [p1, p2, name, hex, b64] = parts as [string, string, string, string, string];
  if (p1 !== 'PRIVATE' || p2 !== 'KEY') throw keyInvalid('signer key: expected PRIVATE+KEY+');
  const material = checkIdAndMaterial(name, hex, b64, 'signer key');
  if (material[0] !== SIG_ED25519) throw keyInvalid('signer key: unsupported signature type');
  const seed = material.subarray(1);
  if (seed.length !== 32) throw keyInvalid('signer key: an Ed25519 seed is 32 bytes');
  const signer = ed25519Signer(name, seed);
  if (signer.keyId !== Number.parseInt(hex, 16))
    throw keyInvalid('signer key: the key id does not match the key');
  return Object.freeze({ name, seed: Buffer.from(seed), signer });
}

/** A new Ed25519 key: its signer key text (secret) and verifier key text (0x01). */
export function generateNoteKey(name: string): { readonly skey: string; readonly vkey: string } {
  if (!isValidKeyName(name)) throw keyInvalid('invalid key name');
  const { privateKey } = generateKeyPairSync('ed25519');
  const skey = formatSignerKey(name, privateKey);
  const { signer } = parseSignerKey(skey);
  return { skey, vkey: formatVerifierKey(signer) };
}

/** Split at the first `n` pluses (base64 may hold more). */
function splitKey(text: string, n: number, what: string): string[] {
  if (typeof text !== 'string' || text.length > MAX_KEY_TEXT) throw keyInvalid(`${what}: too long`);
  const parts: string[] = [];
  let rest = text;
  for (let i = 0; i < n; i++) {
    const plus = rest.indexOf('+');
    if (plus < 0) throw keyInvalid(`${what}: expected ${n + 1} parts separated by "+"`);
    parts.push(rest.slice(0, plus));
    rest = rest.slice(plus + 1);
  }
  parts.push(rest);
  return parts;
}

function checkIdAndMaterial(name: string, hex: string, b64: string, what: string): Buffer {
  if (!isValidKeyName(name)) throw keyInvalid(`${what}: invalid key name`);
  if (!/^[0-9a-f]{8}$/i.test(hex)) throw keyInvalid(`${what}: the key id is not 8 hex digits`);
  const material = decodeBase64(b64);
  if (material === undefined || material.length < 2) throw keyInvalid(`${what}: bad base64`);
  return material;
}
