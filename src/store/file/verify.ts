import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { LogsError } from '../../errors.js';
import { keyId, parsePublicKey } from '../../crypto/sign.js';
import { chainGenesis } from '../../integrity/chain.js';
import { ChannelVerifier } from '../../integrity/channel-verifier.js';
import { CheckpointChainVerifier } from '../../integrity/checkpoint-verifier.js';
import type { Damage, Warning } from '../../integrity/damage.js';
import { LogLayout } from './layout.js';
import { scanLines } from './lines.js';
import { readMeta, type LogMeta } from './meta.js';

export interface VerifyOptions {
  readonly dir: string;
  /** Only these channels (the checkpoint log is always checked). */
  readonly channels?: readonly string[];
  /** The pinned public key (`ed25519:...`); without it the key in log.json is trusted. */
  readonly publicKey?: string;
  /** Also parse every record and check its fields and canonical form. */
  readonly deep?: boolean;
  /** Called after each chunk read: bytes read so far, of `totalBytes`. */
  readonly onProgress?: (p: { bytes: number; totalBytes: number; records: number }) => void;
}

export interface ChannelReport {
  readonly channel: string;
  readonly file: string;
  readonly records: number;
  /** Checkpoints reached and matched. */
  readonly checkpoints: number;
  /** Records after the last checkpoint (chained, not yet signed). */
  readonly unsigned: number;
  readonly ok: boolean;
  readonly damage?: Damage;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly dir: string;
  readonly logId: string | undefined;
  readonly publicKey: string | undefined;
  readonly pinned: boolean;
  readonly channels: ChannelReport[];
  readonly checkpoints: { readonly count: number; readonly ok: boolean; readonly damage?: Damage };
  /** Every damage found: the first per channel, and the checkpoint log's. */
  readonly damage: Damage[];
  readonly warnings: Warning[];
  readonly records: number;
  readonly bytes: number;
  readonly durationMs: number;
}

/**
 * Verify a logs directory: every record against the chain, every checkpoint's link and
 * signature, every channel against its checkpoints. Read-only: safe beside a running writer
 * (records it appends meanwhile are simply not yet covered). Damage is reported, not thrown;
 * only an unusable request (no such logs directory, a malformed pinned key) throws.
 */
export async function verifyLogs(options: VerifyOptions): Promise<VerifyReport> {
  await Promise.resolve();
  const started = performance.now();
  const layout = new LogLayout(options.dir);
  const rel = (f: string): string => path.relative(layout.dir, f);
  const damage: Damage[] = [];
  const warnings: Warning[] = [];
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

  const ckFile = layout.checkpointsFile;
  const ckVerifier = new CheckpointChainVerifier(
    meta.log_id,
    keyId(keyText),
    trustedKey ?? parsePublicKey(keyText),
    rel(ckFile),
  );
  if (existsSync(ckFile)) {
    const scan = scanLines(ckFile, ({ bytes, line }) => ckVerifier.line(bytes, line));
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

  const names = options.channels ?? [...new Set([...meta.channels, ...ck.byChannel.keys()])];
  const files = names.map((c) => layout.channelFile(c));
  const totalBytes = files.reduce((sum, f) => sum + (existsSync(f) ? statSync(f).size : 0), 0);
  let doneBytes = 0;
  let records = 0;
  const channels: ChannelReport[] = [];
  for (const channel of names) {
    const file = layout.channelFile(channel);
    const checkpoints = ck.byChannel.get(channel) ?? [];
    const lastSize = checkpoints[checkpoints.length - 1]?.size ?? 0;
    if (!existsSync(file)) {
      if (lastSize > 0) {
        const d: Damage = {
          kind: 'file_missing',
          channel,
          file: rel(file),
          seq: 1,
          detail: `the file is missing; checkpoints cover ${lastSize} record(s)`,
        };
        damage.push(d);
        channels.push({
          channel,
          file: rel(file),
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
          file: rel(file),
          detail: 'no file and no checkpoint for this channel',
        });
      }
      continue;
    }
    const v = new ChannelVerifier(
      channel,
      rel(file),
      chainGenesis(meta.log_id, channel),
      checkpoints,
      options.deep === true,
    );
    const startBytes = doneBytes;
    const scan = scanLines(file, ({ bytes, line }) => v.line(bytes, line), {
      onChunk: (read) =>
        options.onProgress?.({
          bytes: startBytes + read,
          totalBytes,
          records: records + v.records,
        }),
    });
    doneBytes = startBytes + (existsSync(file) ? statSync(file).size : 0);
    const d = v.end(scan.lines);
    records += v.records;
    if (d !== undefined) damage.push(d);
    else if (scan.tail.length > 0)
      warnings.push({
        kind: 'torn_tail',
        channel,
        file: rel(file),
        detail: `${scan.tail.length} byte(s) of an unfinished record at the end`,
      });
    if (d === undefined && v.unsigned > 0) {
      warnings.push({
        kind: 'unsigned_tail',
        channel,
        file: rel(file),
        detail: `${v.unsigned} record(s) after the last checkpoint are chained but not yet signed`,
      });
    }
    channels.push({
      channel,
      file: rel(file),
      records: v.records,
      checkpoints: v.matchedCheckpoints,
      unsigned: v.unsigned,
      ok: d === undefined,
      ...(d === undefined ? {} : { damage: d }),
    });
  }
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
