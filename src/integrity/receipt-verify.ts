import type { KeyObject } from 'node:crypto';
import { parsePublicKey } from '../crypto/sign.js';
import { LogsError } from '../errors.js';
import { verifyInclusion } from './merkle.js';
import {
  SIG_ED25519,
  ed25519Verifier,
  keyIdHex,
  parseCheckpoint,
  parseNote,
  parseVerifierKey,
  verifyNote,
  type NoteVerifier,
} from './note/index.js';
import { leafOfLine, parseReceipt, type Receipt } from './receipt-format.js';

/** Offline receipts, their check: with public keys only (docs/receipts.md). */

export interface VerifyReceiptOptions {
  /**
   * The log's key, from a trusted source (never the receipt): its verifier key for the
   * channel's origin (`<origin>+<id>+<base64>`), its public key (`ed25519:<base64>`) or a key
   * object. With a public key, the origin is `origin` if given, else any ending in `/<channel>`.
   */
  readonly logKey: string | KeyObject;
  readonly origin?: string;
  /** Witnesses' verifier keys; a cosignature counts once per witness (name and key). */
  readonly witnessKeys?: readonly string[];
  /** Distinct witnesses that must have cosigned: default 1 when witness keys are given, else 0. */
  readonly quorum?: number;
  /** The record's stored line, when the auditor has it: it must give the leaf. */
  readonly line?: string | Uint8Array;
}

/** What verifyReceipt found; `checked` says what a valid receipt proves. */
export interface ReceiptCheck {
  readonly ok: boolean;
  readonly reason?: string;
  /** Names of the trusted witnesses whose cosignatures verified. */
  readonly cosignedBy: readonly string[];
  readonly checked?: {
    readonly channel: string;
    readonly seq: number;
    readonly origin: string;
    readonly treeSize: number;
    /** The signed root (hex). */
    readonly root: string;
    readonly leafHash: string;
    readonly pathLength: number;
    /** Whether a record line (the receipt's or the one given) was checked against the leaf. */
    readonly line: boolean;
    readonly quorum: number;
  };
}

/**
 * Check a receipt with public keys only: the log's signature on the checkpoint, the
 * cosignatures of the trusted witnesses (against the quorum), that the checkpoint is of the
 * receipt's channel, the audit path from the leaf to the signed root (RFC 9162 section
 * 2.1.3.2), and the record line(s) against the leaf. A bad receipt is `{ ok: false }`; only
 * bad keys or options throw (NOTE_KEY_INVALID, PUBLIC_KEY_INVALID, USAGE).
 */
export function verifyReceipt(
  receipt: string | Uint8Array | Receipt,
  options: VerifyReceiptOptions,
): ReceiptCheck {
  const logKey = resolveLogKey(options.logKey, options.origin);
  const witnesses = witnessVerifiers(options.witnessKeys ?? []);
  const quorum = options.quorum ?? Math.min(1, witnesses.distinct);
  if (!Number.isSafeInteger(quorum) || quorum < 0 || quorum > witnesses.distinct)
    throw new LogsError(
      'USAGE',
      `quorum: expected a whole number from 0 to ${witnesses.distinct} (the distinct witness keys given)`,
    );
  let cosignedBy: string[] = [];
  const fail = (reason: string): ReceiptCheck => ({ ok: false, reason, cosignedBy });
  try {
    const r =
      typeof receipt === 'string' || receipt instanceof Uint8Array
        ? parseReceipt(receipt)
        : receipt;
    const note = parseNote(r.note);
    const cp = parseCheckpoint(note.text);
    const origin = logKey.origin ?? cp.origin;
    if (cp.origin !== origin) return fail('the checkpoint is of another origin than the key');
    if (!origin.endsWith(`/${r.channel}`)) return fail('the checkpoint is of another channel');
    const log = logKey.verifierFor(origin);
    const opened = verifyNote(note, [log, ...witnesses.list]);
    if (!opened.verified.some((s) => s.verifier === log))
      return fail('the checkpoint is not signed by the log key');
    cosignedBy = distinctWitnesses(opened.verified.filter((s) => s.verifier !== log));
    const root = cp.rootHash.toString('hex');
    if (r.index >= cp.size) return fail('the record is past the checkpoint');
    if (!verifyInclusion(r.leafHash, r.index, cp.size, r.hashes, root))
      return fail('the audit path does not lead from the leaf to the signed root');
    const lines = [r.line, options.line].filter((l) => l !== undefined);
    for (const l of lines) {
      if (leafOfLine(r.prevHash, l) !== r.leafHash)
        return fail('the record line is not the record whose hash is the leaf');
    }
    if (cosignedBy.length < quorum)
      return fail(
        `cosigned by ${cosignedBy.length} trusted witness(es), fewer than the quorum of ${quorum}`,
      );
    return {
      ok: true,
      cosignedBy,
      checked: {
        channel: r.channel,
        seq: r.seq,
        origin,
        treeSize: cp.size,
        root,
        leafHash: r.leafHash,
        pathLength: r.hashes.length,
        line: lines.length > 0,
        quorum,
      },
    };
  } catch (err) {
    // Whatever the receipt holds, the answer is a verdict: no parser error escapes.
    return fail(err instanceof LogsError ? err.message : 'the receipt could not be read');
  }
}

/** The log's key: its origin when pinned, and the verifier of the note signature for an origin. */
interface LogKey {
  readonly origin: string | undefined;
  verifierFor(origin: string): NoteVerifier;
}

function resolveLogKey(key: string | KeyObject, origin: string | undefined): LogKey {
  if (typeof key === 'string' && !key.trim().startsWith('ed25519:')) {
    const verifier = parseVerifierKey(key.trim());
    if (verifier.type !== SIG_ED25519)
      throw new LogsError('NOTE_KEY_INVALID', 'the log key must be an Ed25519 (type 1) key');
    if (origin !== undefined && origin !== verifier.name)
      throw new LogsError('USAGE', 'the origin given is not the name of the log key');
    return { origin: verifier.name, verifierFor: () => verifier };
  }
  const k = typeof key === 'string' ? parsePublicKey(key) : key;
  // Checked now, so a wrong key object is the caller's error, not a bad receipt.
  ed25519Verifier(origin ?? 'origin', k);
  return { origin, verifierFor: (o) => ed25519Verifier(o, k) };
}

function witnessVerifiers(keys: readonly string[]): { list: NoteVerifier[]; distinct: number } {
  const byId = new Map<string, NoteVerifier>();
  for (const text of keys) {
    const v = parseVerifierKey(text.trim());
    const id = `${v.name}+${keyIdHex(v.keyId)}`;
    const seen = byId.get(id);
    if (seen !== undefined && !seen.publicKey.equals(v.publicKey))
      throw new LogsError('NOTE_KEY_INVALID', `two witness keys are named ${id}`);
    byId.set(id, v);
  }
  const list = [...byId.values()];
  return { list, distinct: countDistinct(list) };
}

/** Witness names, one per witness: a second key of the same name, or the same key, is not a second witness. */
function distinctWitnesses(verified: ReadonlyArray<{ readonly verifier: NoteVerifier }>): string[] {
  const names = new Set<string>();
  const keys = new Set<string>();
  for (const { verifier } of verified) {
    const key = verifier.publicKey.toString('hex');
    if (names.has(verifier.name) || keys.has(key)) continue;
    names.add(verifier.name);
    keys.add(key);
  }
  return [...names];
}

function countDistinct(list: readonly NoteVerifier[]): number {
  return distinctWitnesses(list.map((verifier) => ({ verifier }))).length;
}
