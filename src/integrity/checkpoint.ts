import type { KeyObject } from 'node:crypto';
import { LogsError } from '../errors.js';
import { isHex64, sha256Hex } from '../crypto/hash.js';
import { signBytes, verifyBytes } from '../crypto/sign.js';
import { canonicalize } from '../event/canonical.js';

/**
 * A signed statement about one channel: after `size` records its chain head is `head` and its
 * Merkle root is `root`. Checkpoints of all channels form one chain of their own (`prev` is the
 * SHA-256 of the previous checkpoint line), so removing or reordering one is visible too.
 */
export interface Checkpoint {
  readonly v: 1;
  readonly log_id: string;
  readonly channel: string;
  readonly size: number;
  readonly head: string;
  readonly root: string;
  readonly ts: string;
  readonly prev: string;
  /** Id of the signing key (first 16 hex digits of SHA-256 of its public key text). */
  readonly kid: string;
  /**
   * Set by a clean close: nothing may follow in this channel until the writer reopens (which
   * first signs a checkpoint without it). Records found after a final checkpoint were added
   * by someone else.
   */
  readonly final?: true;
  /**
   * Set by an open that found records it could not prove (not covered by a signed checkpoint
   * and not explained by a crash): the writer signs them only as found, so writing goes on, and
   * says so here, so `verify` keeps naming them as damage (`unsigned_records`) from `first` on.
   */
  readonly unproven?: Unproven;
  /**
   * The checkpoint as a C2SP signed note (c2sp.org/tlog-checkpoint): its origin (the log name
   * and the channel) and the base64 of key id and Ed25519 signature of the note text
   * `<origin>\n<size>\n<base64 root>\n`, made with the same key, so witnesses can cosign it.
   */
  readonly origin?: string;
  readonly note_sig?: string;
  /** Ed25519 signature (base64) over CHECKPOINT_DOMAIN + JCS of every other field. */
  readonly sig: string;
}

export type CheckpointBody = Omit<Checkpoint, 'sig'>;

/** Records an open found unproven: `first` to `last` of the channel, and why. */
export interface Unproven {
  readonly first: number;
  readonly last: number;
  readonly reason: string;
}

const CHECKPOINT_DOMAIN = 'dihya-logs/checkpoint/v1\n';

/** `prev` of the first checkpoint of a log. */
export function checkpointGenesis(logId: string): string {
  return sha256Hex(`dihya-logs/checkpoints/v1\0${logId}`);
}

/** What the signature covers: every field but `sig` (absent ones left out), in JCS form. */
function signedText(body: CheckpointBody | Checkpoint): string {
  const fields = Object.fromEntries(
    Object.entries(body).filter(([k, v]) => k !== 'sig' && v !== undefined),
  );
  return CHECKPOINT_DOMAIN + canonicalize(fields);
}

export function signCheckpoint(body: CheckpointBody, privateKey: KeyObject): Checkpoint {
  return { ...body, sig: signBytes(privateKey, signedText(body)) };
}

export function checkpointSignatureValid(cp: Checkpoint, publicKey: KeyObject): boolean {
  return verifyBytes(publicKey, signedText(cp), cp.sig);
}

/** The stored line (canonical JSON, no newline). */
export function encodeCheckpoint(cp: Checkpoint): string {
  return canonicalize(cp);
}

/** What the next checkpoint's `prev` must be. */
export function checkpointLinkHash(line: string): string {
  return sha256Hex(line);
}

/** Parse a checkpoint line defensively: it comes from a file an attacker may have edited. */
export function parseCheckpoint(line: string): Checkpoint {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new LogsError('INTEGRITY_STATE', 'checkpoint line is not JSON');
  }
  const cp = asCheckpoint(value);
  if (cp === undefined)
    throw new LogsError(
      'INTEGRITY_STATE',
      'checkpoint line lacks a field or has a field of the wrong type',
    );
  return cp;
}

/** The value as a checkpoint when it has every field with the right type (signature unchecked). */
export function asCheckpoint(value: unknown): Checkpoint | undefined {
  const c = value as Partial<Record<keyof Checkpoint, unknown>> | null;
  const ok =
    typeof c === 'object' &&
    c !== null &&
    c.v === 1 &&
    typeof c.log_id === 'string' &&
    typeof c.channel === 'string' &&
    Number.isSafeInteger(c.size) &&
    (c.size as number) >= 0 &&
    isHex64(c.head) &&
    isHex64(c.root) &&
    isHex64(c.prev) &&
    typeof c.ts === 'string' &&
    typeof c.kid === 'string' &&
    typeof c.sig === 'string' &&
    (c.final === undefined || c.final === true) &&
    (c.unproven === undefined || isUnproven(c.unproven, c.size as number)) &&
    (c.origin === undefined || (typeof c.origin === 'string' && NOTE_NAME.test(c.origin))) &&
    (c.note_sig === undefined || (typeof c.note_sig === 'string' && NOTE_SIG.test(c.note_sig))) &&
    (c.origin === undefined) === (c.note_sig === undefined);
  return ok ? (c as Checkpoint) : undefined;
}

// A note key name (no space, no plus, printable) and base64 of a 4-byte key id + 64-byte signature.
const NOTE_NAME = /^[\x21-\x2a\x2c-\x7e]{1,255}$/;
const NOTE_SIG = /^[a-z0-9+/]{91}=$/i;

function isUnproven(value: unknown, size: number): boolean {
  const u = value as Partial<Record<keyof Unproven, unknown>> | null;
  return (
    typeof u === 'object' &&
    u !== null &&
    Number.isSafeInteger(u.first) &&
    Number.isSafeInteger(u.last) &&
    (u.first as number) >= 1 &&
    (u.last as number) >= (u.first as number) &&
    (u.last as number) <= size &&
    typeof u.reason === 'string' &&
    u.reason.length <= 1000
  );
}
