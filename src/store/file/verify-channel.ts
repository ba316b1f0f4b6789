/**
 * The verify pass over one channel: its sources in seq order (sealed archives, segments in
 * staging, ranges removed by retention, the active file last), every record against the chain
 * and the checkpoints, every segment against its signed cut and its seal.
 */
import { existsSync, statSync } from 'node:fs';
import type { Checkpoint } from '../../integrity/checkpoint.js';
import { chainGenesis } from '../../integrity/chain.js';
import { ChannelVerifier } from '../../integrity/channel-verifier.js';
import type { Damage, Warning } from '../../integrity/damage.js';
import type { Segment } from '../store.js';
import type { ChannelReport, VerifyOptions } from '../verify-report.js';
import { scanSource, type Source, type SourceScan } from './sources.js';
import type { HoldsInAudit } from './verify-archives.js';
import { firstRewritten } from './verify-findings.js';

/** What the passes over every channel share: the request, the totals so far, the findings. */
export interface ChannelPass {
  readonly options: VerifyOptions;
  readonly logId: string;
  readonly startedMs: number;
  /** Bytes of every source of every channel planned. */
  readonly totalBytes: number;
  readonly damage: Damage[];
  readonly warnings: Warning[];
  readonly holds: HoldsInAudit;
  /** Each channel's verifier, once its records were read. */
  readonly verifiers: Map<string, ChannelVerifier>;
  /** Bytes read so far, over every channel (for progress). */
  doneBytes: number;
  /** Records checked so far, over the channels done. */
  records: number;
}

type OnLine = (bytes: Buffer, line: number) => boolean;
type Progress = (read: number) => void;

/**
 * Verify one channel from `sources` (as `channelSources` lists them) and its `checkpoints`;
 * return its report, or undefined when it has neither a file nor a checkpoint (a warning).
 */
export async function verifyChannel(
  pass: ChannelPass,
  channel: string,
  sources: readonly Source[],
  checkpoints: Checkpoint[],
): Promise<ChannelReport | undefined> {
  const { options } = pass;
  const active = sources[sources.length - 1] as Source;
  const lastSize = checkpoints[checkpoints.length - 1]?.size ?? 0;
  if (!existsSync(active.file) && sources.length === 1)
    return channelFileMissing(pass, channel, active, lastSize);
  const v = new ChannelVerifier(
    channel,
    active.rel,
    chainGenesis(pass.logId, channel),
    checkpoints,
    options.deep === true,
    pass.startedMs,
    (options.witnessed ?? []).filter((w) => w.channel === channel),
  );
  pass.verifiers.set(channel, v);
  let checked = 0;
  const onLine = (bytes: Buffer, line: number): boolean => {
    if (!v.line(bytes, line)) return false;
    checked += 1;
    if (channel === 'audit') pass.holds.see(bytes);
    return true;
  };
  const progressFrom =
    (startBytes: number): Progress =>
    (read: number): void =>
      options.onProgress?.({
        bytes: startBytes + read,
        totalBytes: pass.totalBytes,
        records: pass.records + checked,
      });
  let d = await scanSources(pass, v, channel, sources, active, onLine, progressFrom);
  pass.records += checked;
  if (d?.kind === 'checkpoint_mismatch' && options.committedLeaves !== undefined)
    d = firstRewritten(v, d, checkpoints, options.committedLeaves);
  if (d !== undefined) pass.damage.push(d);
  if (d === undefined && v.unsigned > 0) {
    pass.warnings.push({
      kind: 'unsigned_tail',
      channel,
      file: active.rel,
      detail: `${v.unsigned} record(s) after the last checkpoint are chained but not yet signed`,
    });
  }
  return {
    channel,
    file: active.rel,
    records: checked,
    checkpoints: v.matchedCheckpoints,
    unsigned: v.unsigned,
    ok: d === undefined,
    ...(d === undefined ? {} : { damage: d }),
  };
}

/** A channel with no file at all: damage if checkpoints cover records, else a warning. */
function channelFileMissing(
  pass: ChannelPass,
  channel: string,
  active: Source,
  lastSize: number,
): ChannelReport | undefined {
  if (lastSize > 0) {
    const d: Damage = {
      kind: 'file_missing',
      channel,
      file: active.rel,
      seq: 1,
      detail: `the file is missing; checkpoints cover ${lastSize} record(s)`,
    };
    pass.damage.push(d);
    return {
      channel,
      file: active.rel,
      records: 0,
      checkpoints: 0,
      unsigned: 0,
      ok: false,
      damage: d,
    };
  }
  pass.warnings.push({
    kind: 'channel_file_missing',
    channel,
    file: active.rel,
    detail: 'no file and no checkpoint for this channel',
  });
  return undefined;
}

/** Read the sources oldest first; the first damage stops the channel. */
async function scanSources(
  pass: ChannelPass,
  v: ChannelVerifier,
  channel: string,
  sources: readonly Source[],
  active: Source,
  onLine: OnLine,
  progressFrom: (startBytes: number) => Progress,
): Promise<Damage | undefined> {
  for (const src of sources) {
    v.setFile(src.rel);
    const startBytes = pass.doneBytes;
    const progress = progressFrom(startBytes);
    const seg = src.segment;
    if (seg === undefined) {
      // The active file: it continues from the last segment.
      return scanActive(pass, v, channel, src, active, onLine, progress, startBytes);
    }
    const d = await scanSegment(pass, v, channel, src, seg, onLine, progress, startBytes);
    if (d !== undefined) return d;
  }
  return undefined;
}

/** The active file, last: the chain and checkpoints reach its end; a torn tail is a warning. */
async function scanActive(
  pass: ChannelPass,
  v: ChannelVerifier,
  channel: string,
  src: Source,
  active: Source,
  onLine: OnLine,
  progress: Progress,
  startBytes: number,
): Promise<Damage | undefined> {
  if (!existsSync(active.file)) {
    // A crash between moving the active file to staging and creating its successor:
    // the next open creates it. Only checkpoints beyond the segments make it damage.
    return v.end(0);
  }
  const scan = await scanSource(src, onLine, progress);
  pass.doneBytes = startBytes + statSync(active.file).size;
  const d = v.end(scan.lines);
  if (d === undefined && scan.tail.length > 0)
    pass.warnings.push({
      kind: 'torn_tail',
      channel,
      file: active.rel,
      detail: `${scan.tail.length} byte(s) of an unfinished record at the end`,
    });
  return d;
}

/**
 * One segment: it must continue the records before it, be there unless retention removed it,
 * match its seal when sealed, and end where its signed cut ends. Undefined: go on to the next.
 */
async function scanSegment(
  pass: ChannelPass,
  v: ChannelVerifier,
  channel: string,
  src: Source,
  seg: Segment,
  onLine: OnLine,
  progress: Progress,
  startBytes: number,
): Promise<Damage | undefined> {
  const start = checkSegmentStart(v, src, seg);
  if (start !== undefined) return start;
  if (src.kind === 'deleted') {
    if (existsSync(src.file))
      pass.warnings.push({
        kind: 'tombstoned_archive_present',
        channel,
        file: src.rel,
        detail: `records ${seg.first} to ${seg.last} were removed by retention but the file is still there`,
      });
    v.skipTo(seg.last, seg.head, seg.peaks);
    return undefined;
  }
  if (!existsSync(src.file)) {
    return v.report(
      'archive_missing',
      1,
      seg.first,
      `${src.rel} (records ${seg.first} to ${seg.last}) is missing: it was deleted or renamed`,
    );
  }
  if (src.kind === 'staging')
    pass.warnings.push({
      kind: 'segment_pending',
      channel,
      file: src.rel,
      detail: `records ${seg.first} to ${seg.last} are rotated but not sealed yet`,
    });
  let scan: SourceScan;
  try {
    scan = await scanSource(src, onLine, progress);
  } catch (err) {
    return v.report(
      'archive_altered',
      1,
      seg.first,
      `${src.rel} cannot be read as gzip (${(err as Error).message}): it was replaced or damaged`,
    );
  }
  pass.doneBytes = startBytes + statSync(src.file).size;
  if (v.damage !== undefined) return v.damage;
  if (src.kind === 'sealed' && (scan.size !== seg.size || scan.sha256 !== seg.sha256)) {
    return v.report(
      'archive_altered',
      1,
      seg.first,
      `${src.rel} is ${String(scan.size)} bytes with SHA-256 ${String(scan.sha256).slice(0, 16)}..., but its seal says ${String(seg.size)} bytes, ${String(seg.sha256).slice(0, 16)}...: it was replaced or re-compressed`,
    );
  }
  if (scan.tail.length > 0 || v.records !== seg.last || v.chainHead !== seg.head) {
    return v.report(
      'segment_mismatch',
      scan.lines + 1,
      v.records + 1,
      `${src.rel} ends at seq ${v.records}, but its signed cut ends at seq ${seg.last}`,
    );
  }
  return undefined;
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
