import type { KeyObject } from 'node:crypto';
import type { Checkpoint } from './checkpoint.js';
import {
  ed25519Signer,
  ed25519Verifier,
  formatCheckpoint,
  formatVerifierKey,
  openNote,
  rawPublicKey,
  SIG_ED25519,
  type NoteSigner,
} from './note/index.js';

/**
 * Checkpoints as C2SP signed notes. Each channel is a log of its own for witnesses and tile
 * clients: its origin is `<log name>/<channel>`, its note key is the log's Ed25519 key under
 * that name. The tree is the one verify checks (RFC 6962 over the records' chain hashes), so the
 * note commits to hashes only: publishing it, or its tiles, says nothing about any record.
 */

/** The origin of a channel's log: the configured log name, else one made of the log id. */
export function channelOrigin(logName: string | undefined, logId: string, channel: string): string {
  return `${logName ?? `dihya-logs/${logId}`}/${channel}`;
}

/** The note text a checkpoint signs: origin, size and base64 root (c2sp.org/tlog-checkpoint). */
export function checkpointNoteText(origin: string, size: number, rootHex: string): string {
  return formatCheckpoint({ origin, size, rootHash: Buffer.from(rootHex, 'hex') });
}

/** Signs each channel's note text; one signer per origin, made once. */
export class NoteSigners {
  private readonly signers = new Map<string, NoteSigner>();

  constructor(private readonly privateKey: KeyObject) {}

  /** base64 of key id (4 bytes, big-endian) and signature: the note's signature line payload. */
  sign(origin: string, text: string): string {
    let s = this.signers.get(origin);
    if (s === undefined) {
      s = ed25519Signer(origin, this.privateKey);
      this.signers.set(origin, s);
    }
    const sig = s.sign(Buffer.from(text, 'utf8'));
    const raw = Buffer.alloc(4 + sig.length);
    raw.writeUInt32BE(s.keyId, 0);
    sig.copy(raw, 4);
    return raw.toString('base64');
  }
}

/**
 * The signed note of a checkpoint (text, empty line, the log's signature line), or undefined
 * for a checkpoint written before notes were signed.
 */
export function checkpointNote(cp: Checkpoint): string | undefined {
  if (cp.origin === undefined || cp.note_sig === undefined) return undefined;
  return `${checkpointNoteText(cp.origin, cp.size, cp.root)}\n\u2014 ${cp.origin} ${cp.note_sig}\n`;
}

/** The log's verifier key (vkey) for a channel's origin: what a witness is configured with. */
export function logVerifierKey(origin: string, publicKey: KeyObject): string {
  return formatVerifierKey({ name: origin, type: SIG_ED25519, publicKey: rawPublicKey(publicKey) });
}

/** Whether the checkpoint's note signature is the log's (checked with its public key). */
export function checkpointNoteValid(cp: Checkpoint, publicKey: KeyObject): boolean {
  const note = checkpointNote(cp);
  if (note === undefined || cp.origin === undefined) return true;
  try {
    return openNote(note, [ed25519Verifier(cp.origin, publicKey)]).verified.length === 1;
  } catch {
    return false;
  }
}
