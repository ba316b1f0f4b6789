import { LogsError } from '../errors.js';
import {
  SIG_COSIGNATURE_V1,
  parseSignatureLine,
  parseVerifierKey,
  verifyCosignature,
  type NoteVerifier,
} from '../integrity/note/index.js';
import type { Cosignature } from '../store/file/index.js';
import type { QuorumTracker } from './client-quorum.js';

/**
 * What the witness client knows of each witness between rounds: per origin, the size the
 * witness last accepted, and when to try again after failures.
 */

/** Cosignature lines considered in one answer. */
export const MAX_COSIGNATURE_LINES = 16;
const HEX32 = /^[0-9a-f]{64}$/;

export interface Backoff {
  failures: number;
  retryAt: number;
}

/** One witness and one origin: the size the witness last accepted, as far as we know. */
export interface Lane extends Backoff {
  size: number;
  root: string | undefined;
  /** The witness answered this process about `size`: nothing to send until the log grows. */
  confirmed: boolean;
  /** The newest size whose cosignature is kept. */
  held: number;
}

export interface Peer extends Backoff {
  /** The configured URL, without any user:password, for events and status. */
  readonly url: string;
  readonly endpoint: string;
  /** The witness's key name. */
  readonly witness: string;
  readonly verifier: NoteVerifier;
  readonly lanes: Map<string, Lane>;
  unreachable: boolean;
  error: string | undefined;
}

/** A configured witness; CONFIG_INVALID for a URL or key that is not one. */
export function peerOf(url: string, key: string): Peer {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new LogsError('CONFIG_INVALID', `witness URL ${JSON.stringify(url)} is not a URL`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    throw new LogsError('CONFIG_INVALID', `witness URL ${base.origin}: http or https only`);
  const shown = `${base.origin}${trimSlashes(base.pathname)}`;
  let verifier: NoteVerifier;
  try {
    verifier = parseVerifierKey(key);
  } catch (err) {
    throw new LogsError('CONFIG_INVALID', `witness key of ${shown}: not a verifier key`, {
      cause: err,
    });
  }
  if (verifier.type !== SIG_COSIGNATURE_V1)
    throw new LogsError('CONFIG_INVALID', `witness key of ${shown}: not a cosignature (0x04) key`);
  return {
    url: shown,
    endpoint: `${trimSlashes(url)}/add-checkpoint`,
    witness: verifier.name,
    verifier,
    lanes: new Map(),
    unreachable: false,
    error: undefined,
    failures: 0,
    retryAt: 0,
  };
}

export function laneOf(p: Peer, origin: string): Lane {
  let lane = p.lanes.get(origin);
  if (lane === undefined) {
    lane = { size: 0, root: undefined, confirmed: false, held: 0, failures: 0, retryAt: 0 };
    p.lanes.set(origin, lane);
  }
  return lane;
}

/**
 * Set each witness's sizes from the cosignatures kept. They are not verified again (the store
 * is the log's own file), but one whose key id is not the configured key's (a replaced witness
 * key under the same name) says nothing of this witness.
 */
export function loadLanes(
  peers: readonly Peer[],
  kept: readonly Cosignature[],
  quorum: QuorumTracker,
): void {
  const byName = new Map(peers.map((p) => [p.witness, p]));
  for (const c of kept) {
    const p = byName.get(c.witness);
    if (p === undefined || !HEX32.test(c.root)) continue;
    try {
      if (parseSignatureLine(c.line).keyId !== p.verifier.keyId) continue;
    } catch {
      continue;
    }
    const lane = laneOf(p, c.origin);
    if (c.size >= lane.size) {
      lane.size = c.size;
      lane.root = c.root;
    }
    lane.held = Math.max(lane.held, c.size);
    quorum.add(c.origin, { size: c.size, root: c.root }, p.witness);
  }
}

/** The first of a 200 body's lines that is this witness's valid cosignature of `text`. */
export function pickCosignature(
  verifier: NoteVerifier,
  text: string,
  body: string,
): string | undefined {
  return body.split('\n', MAX_COSIGNATURE_LINES).find((line) => {
    try {
      verifyCosignature(verifier, text, line);
      return true;
    } catch {
      return false;
    }
  });
}

/** A proof we can send: at most 63 hashes of 32 bytes (hex). */
export function isProof(hashes: readonly string[]): boolean {
  return hashes.length <= 63 && hashes.every((h) => HEX32.test(h));
}

/**
 * Count one more failure and set when to try again: from `intervalMs`, doubling, up to
 * `maxMs`, jittered down by up to half so that many logs do not retry in step.
 */
export function backOff(
  b: Backoff,
  now: number,
  intervalMs: number,
  maxMs: number,
  random: () => number,
): void {
  b.failures = Math.min(b.failures + 1, 30);
  const full = Math.min(maxMs, intervalMs * 2 ** (b.failures - 1));
  b.retryAt = now + Math.round(full * (1 - random() / 2));
}

function trimSlashes(s: string): string {
  let end = s.length;
  while (end > 0 && s[end - 1] === '/') end--;
  return s.slice(0, end);
}
