import type { KeyObject } from 'node:crypto';
import { LogsError } from '../errors.js';
import { isHex64, sha256Hex } from '../crypto/hash.js';
import { signBytes, verifyBytes } from '../crypto/sign.js';
import { canonicalize } from '../event/canonical.js';

/**
 * The segment log (`.integrity/segments.log`): signed statements about the life of each
 * channel's segments, chained like the checkpoint log (`prev` is the SHA-256 of the line
 * before). It is the only list of segments readers trust: a file in `archive/` it does not
 * name is not part of the log.
 *
 * - `cut`: the active file was closed at `last` and set aside for sealing; the next record is
 *   `last + 1`. `start` is the chain hash before `first`, `head` the hash of `last`, `peaks`
 *   the Merkle tree at `last` (so the chain and the tree continue even once the segment is gone).
 * - `seal`: the segment was compressed into `file`, whose size and SHA-256 are signed here.
 * - `tombstone`: retention deleted the segment's archive on purpose.
 * - `hold`: a legal hold on the channel was set or cleared.
 */
export type SegmentEntry = CutEntry | SealEntry | TombstoneEntry | HoldEntry;

interface EntryBase {
  readonly v: 1;
  readonly log_id: string;
  readonly channel: string;
  /** When the statement was signed (ISO 8601, UTC). */
  readonly ts: string;
  readonly prev: string;
  readonly kid: string;
  /**
   * The checkpoint log when this entry was signed: its size in bytes and the SHA-256 of its
   * last line. A checkpoint log later found shorter, or different up to there, was cut back.
   */
  readonly ck?: { readonly bytes: number; readonly last: string };
  /** Ed25519 signature (base64) over SEGMENT_DOMAIN + JCS of every other field. */
  readonly sig: string;
}

export interface SegmentRange {
  readonly first: number;
  readonly last: number;
  /** Chain hash of the record just before `first` (hash_0 for the first segment). */
  readonly start: string;
  /** Chain hash of `last`. */
  readonly head: string;
}

export interface CutEntry extends EntryBase, SegmentRange {
  readonly kind: 'cut';
  readonly peaks: readonly string[];
  /** Time of the first and last record (ISO 8601). */
  readonly first_ts: string;
  readonly last_ts: string;
  /** Size of the segment before compression. */
  readonly bytes: number;
  readonly reason: RotationReason;
}

export interface SealEntry extends EntryBase, SegmentRange {
  readonly kind: 'seal';
  /** The archive, relative to the logs directory. */
  readonly file: string;
  readonly codec: 'gzip';
  readonly size: number;
  readonly sha256: string;
}

export interface TombstoneEntry extends EntryBase, SegmentRange {
  readonly kind: 'tombstone';
  readonly file: string;
  readonly sha256: string;
  readonly reason: string;
}

export interface HoldEntry extends EntryBase {
  readonly kind: 'hold';
  readonly set: boolean;
  readonly reason: string;
}

export type RotationReason = 'size' | 'day' | 'manual';

type Unsigned<T> = T extends SegmentEntry ? Omit<T, 'sig'> : never;
export type SegmentEntryBody = Unsigned<SegmentEntry>;

const SEGMENT_DOMAIN = 'dihya-logs/segment/v1\n';

/** `prev` of the first entry of a log's segment log. */
export function segmentGenesis(logId: string): string {
  return sha256Hex(`dihya-logs/segments/v1\0${logId}`);
}

function signedText(body: SegmentEntryBody | SegmentEntry): string {
  const { sig: _sig, ...fields } = body as SegmentEntry;
  return SEGMENT_DOMAIN + canonicalize(fields);
}

export function signSegmentEntry(body: SegmentEntryBody, privateKey: KeyObject): SegmentEntry {
  return { ...body, sig: signBytes(privateKey, signedText(body)) };
}

export function segmentSignatureValid(e: SegmentEntry, publicKey: KeyObject): boolean {
  return verifyBytes(publicKey, signedText(e), e.sig);
}

export function encodeSegmentEntry(e: SegmentEntry): string {
  return canonicalize(e);
}

const REASONS = new Set(['size', 'day', 'manual']);

function isSeq(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function isRange(e: Record<string, unknown>): boolean {
  return (
    isSeq(e.first) &&
    isSeq(e.last) &&
    e.first >= 1 &&
    e.last >= e.first &&
    isHex64(e.start) &&
    isHex64(e.head)
  );
}

function isPin(v: unknown): boolean {
  const p = v as { bytes?: unknown; last?: unknown } | null;
  return typeof p === 'object' && p !== null && isSeq(p.bytes) && isHex64(p.last);
}

const ARCHIVE_PATH = /^archive\/\d{4}\/\d{2}\/[a-z][\w-]{0,31}-\d+-\d+\.log\.gz$/;

/** Parse a segment log line defensively: it comes from a file an attacker may have edited. */
export function parseSegmentEntry(line: string): SegmentEntry {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new LogsError('INTEGRITY_STATE', 'segment log line is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new LogsError('INTEGRITY_STATE', 'segment log line is not an object');
  const e = value as Record<string, unknown>;
  const base =
    e.v === 1 &&
    typeof e.log_id === 'string' &&
    typeof e.channel === 'string' &&
    typeof e.ts === 'string' &&
    isHex64(e.prev) &&
    typeof e.kid === 'string' &&
    typeof e.sig === 'string' &&
    (e.ck === undefined || isPin(e.ck));
  let ok = false;
  if (base) {
    switch (e.kind) {
      case 'cut':
        ok =
          isRange(e) &&
          Array.isArray(e.peaks) &&
          e.peaks.every(isHex64) &&
          typeof e.first_ts === 'string' &&
          typeof e.last_ts === 'string' &&
          isSeq(e.bytes) &&
          REASONS.has(e.reason as string);
        break;
      case 'seal':
        ok =
          isRange(e) &&
          typeof e.file === 'string' &&
          ARCHIVE_PATH.test(e.file) &&
          e.codec === 'gzip' &&
          isSeq(e.size) &&
          isHex64(e.sha256);
        break;
      case 'tombstone':
        ok =
          isRange(e) &&
          typeof e.file === 'string' &&
          ARCHIVE_PATH.test(e.file) &&
          isHex64(e.sha256) &&
          typeof e.reason === 'string';
        break;
      case 'hold':
        ok = typeof e.set === 'boolean' && typeof e.reason === 'string';
        break;
      default:
        ok = false;
    }
  }
  if (!ok)
    throw new LogsError(
      'INTEGRITY_STATE',
      'segment log line lacks a field or has a field of the wrong type',
    );
  return value as SegmentEntry;
}
