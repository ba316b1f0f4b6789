/**
 * The verify passes over the two signed logs beside the channels: the segment log (where each
 * channel's segments are, and the pins of the checkpoint log it saw), and the checkpoint log
 * (every line's link and signature, what those pins saw, and each channel's newest note).
 */
import { existsSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import path from 'node:path';
import { keyId, parsePublicKey } from '../../crypto/sign.js';
import { sha256Hex } from '../../crypto/hash.js';
import {
  CheckpointChainVerifier,
  type CheckpointChainResult,
} from '../../integrity/checkpoint-verifier.js';
import { checkpointNoteValid } from '../../integrity/checkpoint-note.js';
import type { Damage, Warning } from '../../integrity/damage.js';
import { SegmentLogVerifier } from '../../integrity/segment-verifier.js';
import type { CheckpointPin } from './checkpoint-log.js';
import type { LogLayout } from './layout.js';
import { scanLines } from './lines.js';
import type { LogMeta } from './meta.js';
import { SegmentBook } from './segment-log.js';
import { checkpointsCut } from './verify-findings.js';

/** Check the segment log; return what its trusted entries say. */
export function verifySegmentLog(
  layout: LogLayout,
  meta: LogMeta,
  keyText: string,
  trustedKey: KeyObject | undefined,
  damage: Damage[],
  warnings: Warning[],
): { book: SegmentBook; pins: CheckpointPin[] } {
  const file = layout.segmentsFile;
  if (!existsSync(file)) return { book: new SegmentBook(), pins: [] };
  const rel = path.relative(layout.dir, file);
  const sv = new SegmentLogVerifier(
    meta.log_id,
    keyId(keyText),
    trustedKey ?? parsePublicKey(keyText),
    rel,
  );
  const scan = scanLines(file, ({ bytes, line }) => sv.line(bytes, line));
  if (sv.damage !== undefined) damage.push(sv.damage);
  else if (scan.tail.length > 0)
    warnings.push({
      kind: 'torn_tail',
      file: rel,
      detail: `${scan.tail.length} byte(s) of an unfinished segment entry at the end`,
    });
  const pins = sv.entries.flatMap((e) => (e.ck === undefined || e.ck.bytes === 0 ? [] : [e.ck]));
  pins.sort((a, b) => a.bytes - b.bytes);
  return { book: new SegmentBook(sv.entries), pins };
}

/** What the checkpoint-log pass found: the chain's result, and how many lines it read. */
export interface CheckpointPass {
  readonly ck: CheckpointChainResult;
  readonly ckLines: number;
}

/**
 * Check the checkpoint log: its chain, that it still holds what the segment log's `pins` saw,
 * and the signed-note form of each channel's newest checkpoint.
 */
export function verifyCheckpointLog(
  layout: LogLayout,
  meta: LogMeta,
  keyText: string,
  trustedKey: KeyObject | undefined,
  pins: readonly CheckpointPin[],
  damage: Damage[],
  warnings: Warning[],
): CheckpointPass {
  const rel = (f: string): string => path.relative(layout.dir, f);
  const ckFile = layout.checkpointsFile;
  const ckVerifier = new CheckpointChainVerifier(
    meta.log_id,
    keyId(keyText),
    trustedKey ?? parsePublicKey(keyText),
    rel(ckFile),
  );
  let ckLines = 0;
  if (existsSync(ckFile)) {
    const pinned = new Map(pins.map((p) => [p.bytes, p]));
    let cut: Damage | undefined;
    const scan = scanLines(ckFile, ({ bytes, line, offset }) => {
      ckLines = line;
      const pin = pinned.get(offset + bytes.length + 1);
      if (pin !== undefined && cut === undefined && sha256Hex(bytes) !== pin.last)
        cut = checkpointsCut(rel(ckFile), line, pin, 'differs from');
      return ckVerifier.line(bytes, line);
    });
    const longest = pins[pins.length - 1];
    if (cut === undefined && longest !== undefined && scan.end < longest.bytes)
      cut = checkpointsCut(rel(ckFile), scan.lines + 1, longest, 'is shorter than');
    if (cut !== undefined) damage.push(cut);
    if (scan.tail.length > 0 && ckVerifier.result().damage === undefined) {
      warnings.push({
        kind: 'torn_tail',
        file: rel(ckFile),
        detail: `${scan.tail.length} byte(s) of an unfinished checkpoint at the end`,
      });
    }
  } else {
    damage.push({
      kind: 'file_missing',
      file: rel(ckFile),
      detail: 'the checkpoint log is missing',
    });
  }
  const ck = ckVerifier.result();
  if (ck.damage !== undefined) damage.push(ck.damage);
  // The note form is what witnesses and tile clients see: the newest one of each channel must
  // carry the log's signature too (the line's own signature covers it; this checks the writer).
  const noteKey = trustedKey ?? parsePublicKey(keyText);
  for (const [channel, list] of ck.byChannel) {
    const last = list[list.length - 1];
    if (last !== undefined && !checkpointNoteValid(last, noteKey))
      damage.push({
        kind: 'checkpoint_signature',
        channel,
        file: rel(ckFile),
        seq: last.size,
        detail: `the signed-note form of ${channel}'s checkpoint at ${last.ts} does not carry the log's signature for ${String(last.origin)}`,
      });
  }
  return { ck, ckLines };
}
