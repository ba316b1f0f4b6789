import type { KeyObject } from 'node:crypto';
import { isHex64, sha256Hex } from '../crypto/hash.js';
import { parsePublicKey } from '../crypto/sign.js';
import { HASH_SUFFIX_BYTES, lineHash } from './chain.js';
import { asCheckpoint, checkpointSignatureValid, type Checkpoint } from './checkpoint.js';
import { verifyConsistency, verifyInclusion } from './merkle.js';

/**
 * Proofs as JSON, and the auditor's side: checking one needs only the proof, the signed
 * checkpoint(s) and the log's published public key. Everything given here may come from an
 * attacker (a proof served over HTTP, a checkpoint copied from a file): it is parsed
 * defensively, and whatever is malformed is simply not a valid proof.
 */

/** RFC 9162 inclusion proof of record `seq` of `channel` in the channel's tree of `tree_size`. */
export interface InclusionProof {
  readonly channel: string;
  readonly seq: number;
  /** seq - 1. */
  readonly leaf_index: number;
  readonly tree_size: number;
  /** The record's chain hash (hex): its RFC 9162 leaf hash. */
  readonly leaf_hash: string;
  /** The chain hash before it (hash_0 for seq 1): with the stored line, it gives leaf_hash. */
  readonly prev_hash: string;
  /** The audit path (hex), leaf side first. */
  readonly hashes: readonly string[];
  /** The tree's root (hex): a checkpoint of this size signs the same. */
  readonly root: string;
}

/** RFC 9162 consistency proof: the channel's tree of `first` leaves is a prefix of `second`'s. */
export interface ConsistencyProof {
  readonly channel: string;
  readonly first: number;
  readonly second: number;
  readonly hashes: readonly string[];
  readonly first_root: string;
  readonly second_root: string;
}

/** What a check found: valid, or the first reason it is not. */
export type ProofCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const OK: ProofCheck = Object.freeze({ ok: true });
const fail = (reason: string): ProofCheck => ({ ok: false, reason });

// A tree of 2^53 leaves has paths of 53 hashes; consistency proofs one more.
const MAX_PATH = 64;

/**
 * Check an inclusion proof against a signed checkpoint of the same channel and size: the
 * checkpoint's signature (by `publicKey`, `ed25519:<base64>` or a key object), then the audit
 * path from `leaf_hash` to the checkpoint's root (RFC 9162 section 2.1.3.2). With `line` (the
 * record's stored line, without its newline), also that the line carries `leaf_hash` and
 * that the hash follows from the line's bytes and `prev_hash`: the record itself is in the log.
 */
export function verifyInclusionProof(
  proof: unknown,
  checkpoint: unknown,
  publicKey: KeyObject | string,
  options: { readonly line?: string | Uint8Array } = {},
): ProofCheck {
  const p = asInclusionProof(proof);
  if (p === undefined) return fail('the proof is malformed');
  const signed = signedCheckpoint(checkpoint, publicKey);
  if (typeof signed === 'string') return fail(signed);
  if (signed.channel !== p.channel) return fail('the checkpoint is of another channel');
  if (signed.size !== p.tree_size) return fail('the checkpoint is of another size');
  if (p.root !== signed.root) return fail("the proof's root is not the checkpoint's");
  if (!verifyInclusion(p.leaf_hash, p.leaf_index, p.tree_size, p.hashes, signed.root))
    return fail('the audit path does not lead from the leaf to the root');
  if (options.line !== undefined) {
    const line = Buffer.from(options.line);
    if (lineHash(line) !== p.leaf_hash) return fail('the line does not carry the leaf hash');
    if (recordLeaf(p.prev_hash, line) !== p.leaf_hash)
      return fail("the line's hash does not follow from its bytes and prev_hash");
  }
  return OK;
}

/**
 * Check a consistency proof between two signed checkpoints of one channel: both signatures,
 * that the proof names their sizes and roots, then the proof itself (RFC 9162 section 2.1.4.2).
 */
export function verifyConsistencyProof(
  proof: unknown,
  first: unknown,
  second: unknown,
  publicKey: KeyObject | string,
): ProofCheck {
  const p = asConsistencyProof(proof);
  if (p === undefined) return fail('the proof is malformed');
  const a = signedCheckpoint(first, publicKey);
  if (typeof a === 'string') return fail(`first checkpoint: ${a}`);
  const b = signedCheckpoint(second, publicKey);
  if (typeof b === 'string') return fail(`second checkpoint: ${b}`);
  if (a.log_id !== b.log_id) return fail('the checkpoints are of two logs');
  if (a.channel !== p.channel || b.channel !== p.channel)
    return fail('a checkpoint is of another channel');
  if (a.size !== p.first || b.size !== p.second) return fail('a checkpoint is of another size');
  if (a.root !== p.first_root || b.root !== p.second_root)
    return fail("the proof's roots are not the checkpoints'");
  if (!verifyConsistency(p.first, p.second, a.root, b.root, p.hashes))
    return fail('the proof does not show the first tree is a prefix of the second');
  return OK;
}

/** hash_n of a stored line: SHA-256(0x00 || hash_{n-1} || the line without its hash field). */
function recordLeaf(prevHex: string, line: Buffer): string {
  const body = line.length - HASH_SUFFIX_BYTES;
  const bytes = Buffer.allocUnsafe(34 + body);
  bytes[0] = 0;
  bytes.write(prevHex, 1, 32, 'hex');
  line.copy(bytes, 33, 0, body);
  bytes[33 + body] = 0x7d; // '}'
  return sha256Hex(bytes);
}

function signedCheckpoint(value: unknown, publicKey: KeyObject | string): Checkpoint | string {
  const cp = asCheckpoint(value);
  if (cp === undefined) return 'the checkpoint is malformed';
  const key = typeof publicKey === 'string' ? parsePublicKey(publicKey) : publicKey;
  return checkpointSignatureValid(cp, key) ? cp : 'the checkpoint is not signed by this key';
}

function asInclusionProof(value: unknown): InclusionProof | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const p = value as Partial<Record<keyof InclusionProof, unknown>>;
  const ok =
    typeof p.channel === 'string' &&
    isCount(p.seq) &&
    isCount(p.tree_size) &&
    p.leaf_index === p.seq - 1 &&
    isHex64(p.leaf_hash) &&
    isHex64(p.prev_hash) &&
    isPath(p.hashes) &&
    isHex64(p.root);
  return ok ? (p as InclusionProof) : undefined;
}

function asConsistencyProof(value: unknown): ConsistencyProof | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const p = value as Partial<Record<keyof ConsistencyProof, unknown>>;
  const ok =
    typeof p.channel === 'string' &&
    isCount(p.first) &&
    isCount(p.second) &&
    isPath(p.hashes) &&
    isHex64(p.first_root) &&
    isHex64(p.second_root);
  return ok ? (p as ConsistencyProof) : undefined;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
}

function isPath(v: unknown): v is string[] {
  return Array.isArray(v) && v.length <= MAX_PATH && v.every(isHex64);
}
