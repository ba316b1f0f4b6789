import { existsSync, statSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import path from 'node:path';
import { LogsError } from '../../errors.js';
import { keyId, parsePublicKey } from '../../crypto/sign.js';
import { chainGenesis } from '../../integrity/chain.js';
import { ChannelVerifier } from '../../integrity/channel-verifier.js';
import { CheckpointChainVerifier } from '../../integrity/checkpoint-verifier.js';
import type { Damage, Warning } from '../../integrity/damage.js';
import { LogLayout } from './layout.js';
import { scanLines } from './lines.js';
import { SegmentBook, type Segment } from './segment-log.js';
import { channelSources, scanSource, type Source, type SourceScan } from './sources.js';
import { SegmentLogVerifier } from '../../integrity/segment-verifier.js';
import { readMeta, type LogMeta } from './meta.js';
import { sha256Hex } from '../../crypto/hash.js';
import type { CheckpointPin } from './checkpoint-log.js';
import { checkpointNoteValid } from '../../integrity/checkpoint-note.js';
import { checkpointsCut, firstRewritten, unsignedOlderThanSigned } from './verify-findings.js';
import { findUnknownArchives, HoldsInAudit } from './verify-archives.js';
import type { ChannelReport, VerifyOptions, VerifyReport } from '../verify-report.js';

/**
 * Verify a logs directory: every record against the chain, every checkpoint's link and
 * signature, every channel against its checkpoints. Read-only: safe beside a running writer
 * (records it appends meanwhile are simply not yet covered). Damage is reported, not thrown;
 * only an unusable request (no such logs directory, a malformed pinned key) throws.
 */
export async function verifyLogs(options: VerifyOptions): Promise<VerifyReport> {
  await Promise.resolve();
  const started = performance.now();
  const startedMs = Date.now();
  const verifiers = new Map<string, ChannelVerifier>();
  const layout = new LogLayout(options.dir);
  const rel = (f: string): string => path.relative(layout.dir, f);
  const damage: Damage[] = [];
  const warnings: Warning[] = [...(options.witnessWarnings ?? [])];
  const pinned = options.publicKey?.trim();
  const trustedKey = pinned === undefined ? undefined : parsePublicKey(pinned);

  const meta = readMetaForVerify(layout, damage);
  const base = { dir: layout.dir, pinned: pinned !== undefined, warnings };
  if (meta === undefined) {
    return {
      ...base,
      ok: false,
      logId: undefined,
      publicKey: undefined,
      channels: [],
      checkpoints: { count: 0, ok: false },
      damage,
      records: 0,
      bytes: 0,
      durationMs: performance.now() - started,
    };
  }
  if (pinned === undefined) {
    warnings.push({
      kind: 'key_not_pinned',
      detail:
        'pin the public key (integrity.public_key in dihya-logs.yaml, or --public-key) so a re-signed log is detected',
    });
  } else if (pinned !== meta.public_key) {
    damage.push({
      kind: 'wrong_key',
      file: rel(layout.metaFile),
      detail: `the log names public key ${meta.public_key}, but the pinned key is ${pinned}`,
    });
  }
  const keyText = pinned ?? meta.public_key;

  const { book, pins } = verifySegmentLog(layout, meta, keyText, trustedKey, damage, warnings);
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

  const names = options.channels ?? [
    ...new Set([...meta.channels, ...ck.byChannel.keys(), ...book.channels()]),
  ];
  const plans = names.map((c) => ({ channel: c, sources: channelSources(layout, book, c) }));
  const totalBytes = plans.reduce(
    (sum, p) =>
      sum +
      p.sources.reduce(
        (n, s) => n + (s.kind !== 'deleted' && existsSync(s.file) ? statSync(s.file).size : 0),
        0,
      ),
    0,
  );
  let doneBytes = 0;
  let records = 0;
  const channels: ChannelReport[] = [];
  const holds = new HoldsInAudit();
  for (const { channel, sources } of plans) {
    const active = sources[sources.length - 1] as Source;
    const checkpoints = ck.byChannel.get(channel) ?? [];
    const lastSize = checkpoints[checkpoints.length - 1]?.size ?? 0;
    if (!existsSync(active.file) && sources.length === 1) {
      if (lastSize > 0) {
        const d: Damage = {
          kind: 'file_missing',
          channel,
          file: active.rel,
          seq: 1,
          detail: `the file is missing; checkpoints cover ${lastSize} record(s)`,
        };
        damage.push(d);
        channels.push({
          channel,
          file: active.rel,
          records: 0,
          checkpoints: 0,
          unsigned: 0,
          ok: false,
          damage: d,
        });
      } else {
        warnings.push({
          kind: 'channel_file_missing',
          channel,
          file: active.rel,
          detail: 'no file and no checkpoint for this channel',
        });
      }
      continue;
    }
    const v = new ChannelVerifier(
      channel,
      active.rel,
      chainGenesis(meta.log_id, channel),
      checkpoints,
      options.deep === true,
      startedMs,
      (options.witnessed ?? []).filter((w) => w.channel === channel),
    );
    verifiers.set(channel, v);
    let checked = 0;
    let d: Damage | undefined;
    const onLine = (bytes: Buffer, line: number): boolean => {
      if (!v.line(bytes, line)) return false;
      checked += 1;
      if (channel === 'audit') holds.see(bytes);
      return true;
    };
    for (const src of sources) {
      v.setFile(src.rel);
      const startBytes = doneBytes;
      const progress = (read: number): void =>
        options.onProgress?.({ bytes: startBytes + read, totalBytes, records: records + checked });
      const seg = src.segment;
      if (seg === undefined) {
        // The active file: it continues from the last segment.
        if (!existsSync(active.file)) {
          // A crash between moving the active file to staging and creating its successor:
          // the next open creates it. Only checkpoints beyond the segments make it damage.
          d = v.end(0);
          break;
        }
        const scan = await scanSource(src, onLine, progress);
        doneBytes = startBytes + statSync(active.file).size;
        d = v.end(scan.lines);
        if (d === undefined && scan.tail.length > 0)
          warnings.push({
            kind: 'torn_tail',
            channel,
            file: active.rel,
            detail: `${scan.tail.length} byte(s) of an unfinished record at the end`,
          });
        break;
      }
      d = checkSegmentStart(v, src, seg);
      if (d !== undefined) break;
      if (src.kind === 'deleted') {
        if (existsSync(src.file))
          warnings.push({
            kind: 'tombstoned_archive_present',
            channel,
            file: src.rel,
            detail: `records ${seg.first} to ${seg.last} were removed by retention but the file is still there`,
          });
        v.skipTo(seg.last, seg.head, seg.peaks);
        continue;
      }
      if (!existsSync(src.file)) {
        d = v.report(
          'archive_missing',
          1,
          seg.first,
          `${src.rel} (records ${seg.first} to ${seg.last}) is missing: it was deleted or renamed`,
        );
        break;
      }
      if (src.kind === 'staging')
        warnings.push({
          kind: 'segment_pending',
          channel,
          file: src.rel,
          detail: `records ${seg.first} to ${seg.last} are rotated but not sealed yet`,
        });
      let scan: SourceScan;
      try {
        scan = await scanSource(src, onLine, progress);
      } catch (err) {
        d = v.report(
          'archive_altered',
          1,
          seg.first,
          `${src.rel} cannot be read as gzip (${(err as Error).message}): it was replaced or damaged`,
        );
        break;
      }
      doneBytes = startBytes + statSync(src.file).size;
      if (v.damage !== undefined) {
        d = v.damage;
        break;
      }
      if (src.kind === 'sealed' && (scan.size !== seg.size || scan.sha256 !== seg.sha256)) {
        d = v.report(
          'archive_altered',
          1,
          seg.first,
          `${src.rel} is ${String(scan.size)} bytes with SHA-256 ${String(scan.sha256).slice(0, 16)}..., but its seal says ${String(seg.size)} bytes, ${String(seg.sha256).slice(0, 16)}...: it was replaced or re-compressed`,
        );
        break;
      }
      if (scan.tail.length > 0 || v.records !== seg.last || v.chainHead !== seg.head) {
        d = v.report(
          'segment_mismatch',
          scan.lines + 1,
          v.records + 1,
          `${src.rel} ends at seq ${v.records}, but its signed cut ends at seq ${seg.last}`,
        );
        break;
      }
    }
    records += checked;
    if (d?.kind === 'checkpoint_mismatch' && options.committedLeaves !== undefined)
      d = firstRewritten(v, d, checkpoints, options.committedLeaves);
    if (d !== undefined) damage.push(d);
    if (d === undefined && v.unsigned > 0) {
      warnings.push({
        kind: 'unsigned_tail',
        channel,
        file: active.rel,
        detail: `${v.unsigned} record(s) after the last checkpoint are chained but not yet signed`,
      });
    }
    channels.push({
      channel,
      file: active.rel,
      records: checked,
      checkpoints: v.matchedCheckpoints,
      unsigned: v.unsigned,
      ok: d === undefined,
      ...(d === undefined ? {} : { damage: d }),
    });
  }
  unsignedOlderThanSigned(verifiers, channels, damage, warnings);
  if (ck.count === 0 && ckLines === 0 && (records > 0 || book.channels().length > 0)) {
    damage.push({
      kind: 'checkpoints_cut',
      file: rel(ckFile),
      line: 1,
      detail:
        'the checkpoint log is empty, though the log holds records (init signs every channel empty first): it was emptied',
    });
  }
  if (options.channels === undefined) findUnknownArchives(layout, book, damage, warnings);
  if (names.includes('audit')) holds.compare(book, damage);
  options.onProgress?.({ bytes: totalBytes, totalBytes, records });
  return {
    ...base,
    ok: damage.length === 0,
    logId: meta.log_id,
    publicKey: meta.public_key,
    channels,
    checkpoints: {
      count: ck.count,
      ok: ck.damage === undefined,
      ...(ck.damage === undefined ? {} : { damage: ck.damage }),
    },
    damage,
    records,
    bytes: totalBytes,
    durationMs: performance.now() - started,
  };
}

/** A segment must start where the one before it ended, with the same chain hash. */
function checkSegmentStart(v: ChannelVerifier, src: Source, seg: Segment): Damage | undefined {
  if (seg.first !== v.records + 1) {
    return v.report(
      'segment_gap',
      1,
      v.records + 1,
      seg.first > v.records + 1
        ? `${src.rel} starts at seq ${seg.first} but the log before it ends at seq ${v.records}: seq ${v.records + 1} to ${seg.first - 1} are missing`
        : `${src.rel} starts at seq ${seg.first}, inside the records before it (which end at seq ${v.records})`,
    );
  }
  if (seg.start !== v.chainHead) {
    return v.report(
      'segment_mismatch',
      1,
      seg.first,
      `${src.rel} does not continue the chain of the records before it`,
    );
  }
  return undefined;
}

/** Check the segment log; return what its trusted entries say. */
function verifySegmentLog(
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

/** log.json, or a damage when it is gone from a directory that clearly held logs. */
function readMetaForVerify(layout: LogLayout, damage: Damage[]): LogMeta | undefined {
  try {
    return readMeta(layout);
  } catch (err) {
    const looksLikeLogs =
      existsSync(layout.integrityDir) || existsSync(layout.channelFile('audit'));
    if (err instanceof LogsError && err.code === 'LOGS_NOT_INITIALIZED' && !looksLikeLogs)
      throw err;
    damage.push({
      kind: 'log_meta',
      file: path.relative(layout.dir, layout.metaFile),
      detail: (err as Error).message,
    });
    return undefined;
  }
}
