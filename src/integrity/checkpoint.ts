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
  /** Ed25519 signature (base64) over CHECKPOINT_DOMAIN + JCS of every other field. */
  readonly sig: string;
}

export type CheckpointBody = Omit<Checkpoint, 'sig'>;

const CHECKPOINT_DOMAIN = 'dihya-logs/checkpoint/v1\n';

/** `prev` of the first checkpoint of a log. */
export function checkpointGenesis(logId: string): string {
  return sha256Hex(`dihya-logs/checkpoints/v1\0${logId}`);
}

function signedText(body: CheckpointBody): string {
  const { v, log_id, channel, size, head, root, ts, prev, kid, final } = body;
  const fields = { v, log_id, channel, size, head, root, ts, prev, kid };
  return CHECKPOINT_DOMAIN + canonicalize(final === true ? { ...fields, final } : fields);
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
    (c.final === undefined || c.final === true);
  return ok ? (c as Checkpoint) : undefined;
}
