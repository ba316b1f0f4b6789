/**
 * `verifyLogs`, the whole read-only check of a logs directory: it reads log.json and the pinned
 * key, runs the passes over the signed logs (verify-signed-logs.ts) and over each channel
 * (verify-channel.ts), adds the findings across channels and assembles the report.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { LogsError } from '../../errors.js';
import { parsePublicKey } from '../../crypto/sign.js';
import type { ChannelVerifier } from '../../integrity/channel-verifier.js';
import type { CheckpointChainResult } from '../../integrity/checkpoint-verifier.js';
import type { Damage, Warning } from '../../integrity/damage.js';
import { LogLayout } from './layout.js';
import type { SegmentBook } from './segment-log.js';
import { channelSources, type Source } from './sources.js';
import { readMeta, type LogMeta } from './meta.js';
import { unsignedOlderThanSigned } from './verify-findings.js';
import { findUnknownArchives, HoldsInAudit } from './verify-archives.js';
import { verifyChannel, type ChannelPass } from './verify-channel.js';
import { verifyCheckpointLog, verifySegmentLog } from './verify-signed-logs.js';
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
  const damage: Damage[] = [];
  const warnings: Warning[] = [...(options.witnessWarnings ?? [])];
  const pinned = options.publicKey?.trim();
  const trustedKey = pinned === undefined ? undefined : parsePublicKey(pinned);

  const meta = readMetaForVerify(layout, damage);
  const base = { dir: layout.dir, pinned: pinned !== undefined, warnings };
  if (meta === undefined) return noMetaReport(base, damage, started);
  checkPinnedKey(layout, meta, pinned, damage, warnings);
  const keyText = pinned ?? meta.public_key;

  const { book, pins } = verifySegmentLog(layout, meta, keyText, trustedKey, damage, warnings);
  const { ck, ckLines } = verifyCheckpointLog(
    layout,
    meta,
    keyText,
    trustedKey,
    pins,
    damage,
    warnings,
  );

  const names = options.channels ?? [
    ...new Set([...meta.channels, ...ck.byChannel.keys(), ...book.channels()]),
  ];
  const plans = names.map((c) => ({ channel: c, sources: channelSources(layout, book, c) }));
  const totalBytes = plannedBytes(plans);
  const pass: ChannelPass = {
    options,
    logId: meta.log_id,
    startedMs,
    totalBytes,
    damage,
    warnings,
    holds: new HoldsInAudit(),
    verifiers,
    doneBytes: 0,
    records: 0,
  };
  const channels: ChannelReport[] = [];
  for (const { channel, sources } of plans) {
    const report = await verifyChannel(pass, channel, sources, ck.byChannel.get(channel) ?? []);
    if (report !== undefined) channels.push(report);
  }
  const records = pass.records;
  acrossChannels(layout, book, ck, ckLines, pass, names, channels);
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

/** The report when log.json cannot be read: nothing else can be checked without it. */
function noMetaReport(
  base: { readonly dir: string; readonly pinned: boolean; readonly warnings: Warning[] },
  damage: Damage[],
  started: number,
): VerifyReport {
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

/** Without a pinned key a re-signed log goes unseen (a warning); a different one is damage. */
function checkPinnedKey(
  layout: LogLayout,
  meta: LogMeta,
  pinned: string | undefined,
  damage: Damage[],
  warnings: Warning[],
): void {
  if (pinned === undefined) {
    warnings.push({
      kind: 'key_not_pinned',
      detail:
        'pin the public key (integrity.public_key in dihya-logs.yaml, or --public-key) so a re-signed log is detected',
    });
  } else if (pinned !== meta.public_key) {
    damage.push({
      kind: 'wrong_key',
      file: path.relative(layout.dir, layout.metaFile),
      detail: `the log names public key ${meta.public_key}, but the pinned key is ${pinned}`,
    });
  }
}

/** Bytes of every source still on disk: the total progress counts towards. */
function plannedBytes(plans: ReadonlyArray<{ readonly sources: readonly Source[] }>): number {
  return plans.reduce(
    (sum, p) =>
      sum +
      p.sources.reduce(
        (n, s) => n + (s.kind !== 'deleted' && existsSync(s.file) ? statSync(s.file).size : 0),
        0,
      ),
    0,
  );
}

/** Findings no single channel shows: compared across channels, archives and the audit trail. */
function acrossChannels(
  layout: LogLayout,
  book: SegmentBook,
  ck: CheckpointChainResult,
  ckLines: number,
  pass: ChannelPass,
  names: readonly string[],
  channels: ChannelReport[],
): void {
  const { damage, warnings, options } = pass;
  unsignedOlderThanSigned(pass.verifiers, channels, damage, warnings);
  if (ck.count === 0 && ckLines === 0 && (pass.records > 0 || book.channels().length > 0)) {
    damage.push({
      kind: 'checkpoints_cut',
      file: path.relative(layout.dir, layout.checkpointsFile),
      line: 1,
      detail:
        'the checkpoint log is empty, though the log holds records (init signs every channel empty first): it was emptied',
    });
  }
  if (options.channels === undefined) findUnknownArchives(layout, book, damage, warnings);
  if (names.includes('audit')) pass.holds.compare(book, damage);
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
