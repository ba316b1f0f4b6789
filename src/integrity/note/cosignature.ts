import { sign, type KeyObject } from 'node:crypto';
import { LogsError } from '../../errors.js';
import { verifyEd25519 } from './ed25519.js';
import { keyInvalid, malformed } from './encoding.js';
import {
  SIG_COSIGNATURE_V1,
  ed25519PrivateKey,
  ed25519PublicKey,
  keyIdentity,
  type NoteSigner,
  type NoteVerifier,
} from './keys.js';
import { formatSignatureLine, parseSignatureLine } from './note.js';

/**
 * c2sp.org/tlog-cosignature, the Ed25519 type (0x04). The signature payload is
 * timestamp (u64, big-endian) || Ed25519 signature over
 * "cosignature/v1\ntime <timestamp>\n" || the checkpoint's note text.
 */

/** Where a timestamp must stay: JavaScript integers are exact to 2^53 - 1 (spec: 2^63 - 1). */
const MAX_TIMESTAMP = Number.MAX_SAFE_INTEGER;

export function cosignatureMessage(text: string | Buffer, timestamp: number): Buffer {
  checkTimestamp(timestamp);
  return Buffer.concat([
    Buffer.from(`cosignature/v1\ntime ${timestamp}\n`, 'utf8'),
    typeof text === 'string' ? Buffer.from(text, 'utf8') : text,
  ]);
}

/** The timestamp of a cosignature payload (12 + 64 bytes after the key id), or undefined. */
export function cosignatureTimestamp(signature: Buffer): number | undefined {
  if (signature.length !== 72) return undefined;
  const ts = signature.readBigUInt64BE(0);
  return ts > BigInt(MAX_TIMESTAMP) ? undefined : Number(ts);
}

/** A verifier of cosignatures (type 0x04) from the cosigner's name and Ed25519 public key. */
export function cosignatureVerifier(name: string, publicKey: KeyObject | Uint8Array): NoteVerifier {
  const key = ed25519PublicKey(publicKey);
  return Object.freeze({
    ...keyIdentity(name, SIG_COSIGNATURE_V1, key),
    verify: (text: Buffer, signature: Buffer): boolean => {
      const ts = cosignatureTimestamp(signature);
      return (
        ts !== undefined && verifyEd25519(key, cosignatureMessage(text, ts), signature.subarray(8))
      );
    },
  });
}

/** A cosignature signer: `sign` stamps the clock's time, `signAt` a given one (seconds). */
export interface Cosigner extends NoteSigner {
  signAt(text: Buffer, timestamp: number): Buffer;
}

/**
 * A cosigner (type 0x04) from its name and Ed25519 private key (or seed). Its `sign` stamps the
 * time of `clock` (milliseconds, default Date.now) in whole seconds; `signAt` takes one.
 */
export function cosigner(
  name: string,
  privateKey: KeyObject | Uint8Array,
  clock: () => number = Date.now,
): Cosigner {
  const key = ed25519PrivateKey(privateKey);
  const signAt = (text: Buffer, timestamp: number): Buffer => {
    const ts = Buffer.alloc(8);
    ts.writeBigUInt64BE(BigInt(timestamp));
    return Buffer.concat([ts, sign(null, cosignatureMessage(text, timestamp), key)]);
  };
  return Object.freeze({
    ...keyIdentity(name, SIG_COSIGNATURE_V1, key),
    sign: (text: Buffer): Buffer => signAt(text, Math.floor(clock() / 1000)),
    signAt,
  });
}

/** The signature line (with its newline) of a cosignature over a checkpoint's note text. */
export function signCosignature(
  signer: Cosigner,
  checkpointText: string,
  timestamp: number,
): string {
  if (signer.type !== SIG_COSIGNATURE_V1) throw keyInvalid('not a cosignature (0x04) key');
  const payload = signer.signAt(Buffer.from(checkpointText, 'utf8'), timestamp);
  return formatSignatureLine(signer.name, signer.keyId, payload);
}

/**
 * Check one cosignature line (`— name base64`, newline optional) on a checkpoint's note text
 * with the cosigner's verifier and return its timestamp. A line of another key, a malformed
 * line or a bad signature throws.
 */
export function verifyCosignature(
  verifier: NoteVerifier,
  checkpointText: string,
  line: string,
): number {
  if (verifier.type !== SIG_COSIGNATURE_V1) throw keyInvalid('not a cosignature (0x04) key');
  const sig = parseSignatureLine(line.endsWith('\n') ? line.slice(0, -1) : line);
  if (sig.name !== verifier.name || sig.keyId !== verifier.keyId)
    throw new LogsError('NOTE_SIGNATURE', 'the cosignature is not from this key');
  const ts = cosignatureTimestamp(sig.signature);
  if (ts === undefined) throw malformed('a cosignature is a timestamp and 64 signature bytes');
  if (!verifier.verify(Buffer.from(checkpointText, 'utf8'), sig.signature))
    throw new LogsError('NOTE_SIGNATURE', `invalid cosignature from ${sig.name}`);
  return ts;
}

function checkTimestamp(timestamp: number): void {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0 || timestamp > MAX_TIMESTAMP)
    throw malformed('a cosignature timestamp is a whole number of seconds from 0');
}
