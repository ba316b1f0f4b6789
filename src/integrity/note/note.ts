import { LogsError } from '../../errors.js';
import { decodeBase64, hasControl, keyInvalid, malformed } from './encoding.js';
import { isValidKeyName, keyIdHex, type NoteSigner, type NoteVerifier } from './keys.js';

/**
 * c2sp.org/signed-note. A note is its text (ending in a newline), an empty line, then one or
 * more lines `— <key name> base64(key id (4 bytes, big-endian) || signature)`. The input is
 * hostile: it is bounded, decoded strictly, and anything off is NOTE_MALFORMED.
 */

/** One signature line of a note. */
export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  /** The payload after the 4-byte key id. */
  readonly signature: Buffer;
  /** base64 of key id || payload, as on the line. */
  readonly base64: string;
}

export interface Note {
  /** The signed text, final newline included, separating empty line excluded. */
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

export interface VerifiedNote {
  readonly text: string;
  /** Signatures of known keys, each verified, one per key (repeats dropped). */
  readonly verified: ReadonlyArray<NoteSignature & { readonly verifier: NoteVerifier }>;
  /** Signatures of keys not given, not checked, one per distinct line. */
  readonly unverified: readonly NoteSignature[];
}

export interface NoteLimits {
  /** Whole note, in bytes. Default 1 MiB. */
  readonly maxBytes?: number;
  /** Signature lines. Default 100 (the spec asks for at least 16; Go stops past 100). */
  readonly maxSignatures?: number;
}

export const DEFAULT_MAX_NOTE_BYTES = 1024 * 1024;
export const DEFAULT_MAX_SIGNATURES = 100;

const SIG_PREFIX = '\u2014 ';
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Parse a note without checking any signature (see verifyNote). */
export function parseNote(input: Uint8Array | string, limits: NoteLimits = {}): Note {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_NOTE_BYTES;
  const maxSignatures = limits.maxSignatures ?? DEFAULT_MAX_SIGNATURES;
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.length;
  if (size > maxBytes) throw malformed(`the note is over ${maxBytes} bytes`);
  let msg: string;
  if (typeof input === 'string') {
    if (!input.isWellFormed()) throw malformed('the note is not valid UTF-8');
    msg = input;
  } else {
    try {
      msg = decoder.decode(input);
    } catch {
      throw malformed('the note is not valid UTF-8');
    }
  }
  if (hasControl(msg)) throw malformed('the note holds a control character other than newline');
  // The text ends at the last empty line: no signature line can hold one.
  const split = msg.lastIndexOf('\n\n');
  if (split < 0) throw malformed('the note has no empty line before its signatures');
  const text = msg.slice(0, split + 1);
  const block = msg.slice(split + 2);
  if (block.length === 0 || !block.endsWith('\n'))
    throw malformed('the signature lines must end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > maxSignatures)
    throw malformed(`the note has over ${maxSignatures} signatures`);
  return Object.freeze({ text, signatures: Object.freeze(lines.map(parseSignatureLine)) });
}

/** Parse one signature line, without its newline. */
export function parseSignatureLine(line: string): NoteSignature {
  if (!line.startsWith(SIG_PREFIX)) throw malformed('a signature line must start with "— "');
  const rest = line.slice(SIG_PREFIX.length);
  const space = rest.indexOf(' ');
  const name = space < 0 ? rest : rest.slice(0, space);
  const b64 = space < 0 ? '' : rest.slice(space + 1);
  if (!isValidKeyName(name)) throw malformed('a signature line has an invalid key name');
  const raw = b64 === '' ? undefined : decodeBase64(b64);
  if (raw === undefined || raw.length < 5)
    throw malformed(`the signature of ${name} is not base64 of a key id and a signature`);
  return Object.freeze({
    name,
    keyId: raw.readUInt32BE(0),
    signature: raw.subarray(4),
    base64: b64,
  });
}

/**
 * Check a note's signatures against known keys (golang.org/x/mod/sumdb/note Open). A line whose
 * name and key id match no key is listed as unverified; one that matches a key must verify or
 * the whole note is refused (NOTE_SIGNATURE); a note no known key signed is refused too.
 * Two given keys with the same name and id are NOTE_KEY_INVALID when a line names them.
 */
export function verifyNote(note: Note, verifiers: readonly NoteVerifier[]): VerifiedNote {
  const text = Buffer.from(note.text, 'utf8');
  const verified: Array<NoteSignature & { verifier: NoteVerifier }> = [];
  const unverified: NoteSignature[] = [];
  const seen = new Set<string>();
  for (const sig of note.signatures) {
    const matches = verifiers.filter((v) => v.name === sig.name && v.keyId === sig.keyId);
    const id = `${sig.name}+${keyIdHex(sig.keyId)}`;
    if (matches.length > 1) throw keyInvalid(`ambiguous key ${id}`);
    const verifier = matches[0];
    if (verifier === undefined) {
      const line = `${id} ${sig.base64}`;
      if (!seen.has(line)) unverified.push(sig);
      seen.add(line);
      continue;
    }
    // Every line of a known key is checked, repeats too (signed-note: "MUST verify").
    if (!verifier.verify(text, sig.signature))
      throw new LogsError('NOTE_SIGNATURE', `invalid signature for key ${id}`, {
        details: { name: sig.name, keyId: keyIdHex(sig.keyId) },
      });
    if (!seen.has(id)) verified.push(Object.freeze({ ...sig, verifier }));
    seen.add(id);
  }
  if (verified.length === 0)
    throw new LogsError('NOTE_SIGNATURE', 'the note has no signature from a trusted key', {
      details: { unverified: unverified.length },
    });
  return Object.freeze({
    text: note.text,
    verified: Object.freeze(verified),
    unverified: Object.freeze(unverified),
  });
}

/** parseNote then verifyNote. */
export function openNote(
  input: Uint8Array | string,
  verifiers: readonly NoteVerifier[],
  limits?: NoteLimits,
): VerifiedNote {
  return verifyNote(parseNote(input, limits), verifiers);
}

/**
 * Sign a text: the text, an empty line, the signatures kept from `existing` (those of a key that
 * signs again are dropped), then one line per signer.
 */
export function signNote(
  text: string,
  signers: readonly NoteSigner[],
  existing: readonly NoteSignature[] = [],
): string {
  if (!text.endsWith('\n')) throw malformed('a note text must end with a newline');
  if (!text.isWellFormed() || hasControl(text))
    throw malformed('a note text must be UTF-8 with no control character but newline');
  const bytes = Buffer.from(text, 'utf8');
  const fresh = new Set(signers.map((s) => `${s.name}+${s.keyId}`));
  let out = `${text}\n`;
  for (const sig of existing) {
    if (!fresh.has(`${sig.name}+${sig.keyId}`))
      out += formatSignatureLine(sig.name, sig.keyId, sig.signature);
  }
  for (const s of signers) out += formatSignatureLine(s.name, s.keyId, s.sign(bytes));
  return out;
}

/** `— <name> base64(key id || payload)\n`. */
export function formatSignatureLine(name: string, keyId: number, payload: Uint8Array): string {
  if (!isValidKeyName(name)) throw keyInvalid('invalid key name');
  if (!Number.isInteger(keyId) || keyId < 0 || keyId > 0xffffffff)
    throw keyInvalid('a key id is a uint32');
  const raw = Buffer.alloc(4 + payload.length);
  raw.writeUInt32BE(keyId, 0);
  raw.set(payload, 4);
  return `${SIG_PREFIX}${name} ${raw.toString('base64')}\n`;
}
