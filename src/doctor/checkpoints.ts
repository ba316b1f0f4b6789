import { existsSync } from 'node:fs';
import { parseCheckpoint, type Checkpoint } from '../integrity/checkpoint.js';
import {
  firstRecord,
  lastLines,
  readSegmentBook,
  scanLines,
  type LogLayout,
  type SegmentBook,
} from '../store/file/index.js';
import { roughDuration } from '../util/units.js';
import { jobIntervalMs } from './cron.js';
import type { Check, CheckResult, DoctorContext, Finding } from './types.js';

// As the writer does at open: a channel's latest checkpoint is nearly always in the last lines.
const LOOKBACK_LINES = 4096;

interface LastRecord {
  readonly seq: number;
  readonly ts: string | undefined;
}

/** seq and ts of a channel's last record: the active file's last line, else its last cut. */
function lastRecord(layout: LogLayout, book: SegmentBook, channel: string): LastRecord | undefined {
  const file = layout.channelFile(channel);
  if (existsSync(file)) {
    const last = lastLines(file, 1).lines[0];
    if (last !== undefined) {
      // Parse defensively: the line comes from a file anyone with disk access may have edited.
      try {
        const r = JSON.parse(last.toString('utf8')) as { seq?: unknown; ts?: unknown };
        if (Number.isSafeInteger(r.seq))
          return { seq: r.seq as number, ts: typeof r.ts === 'string' ? r.ts : undefined };
      } catch {
        // not a record: verify names it; fall back on the segment log
      }
    }
  }
  const cut = book.lastCut(channel);
  return cut === undefined ? undefined : { seq: cut.last, ts: cut.lastTs };
}

/** When a channel's oldest record still on disk was written (its first segment, else its file). */
function firstTs(layout: LogLayout, book: SegmentBook, channel: string): string | undefined {
  const seg = book.segments(channel)[0];
  if (seg !== undefined) return seg.firstTs;
  const file = layout.channelFile(channel);
  return existsSync(file) ? firstRecord(file)?.ts : undefined;
}

/** The latest checkpoint of each wanted channel: the last lines first, the whole log if need be. */
function latestCheckpoints(
  layout: LogLayout,
  logId: string,
  wanted: ReadonlySet<string>,
): Map<string, Checkpoint> {
  const latest = new Map<string, Checkpoint>();
  const see = (line: Buffer): void => {
    try {
      const cp = parseCheckpoint(line.toString('utf8'));
      if (cp.log_id === logId) latest.set(cp.channel, cp);
    } catch {
      // an unreadable checkpoint is the verify check's business
    }
  };
  const file = layout.checkpointsFile;
  const tail = lastLines(file, LOOKBACK_LINES);
  for (const line of tail.lines) see(line);
  if (tail.lines.length >= LOOKBACK_LINES && [...wanted].some((c) => !latest.has(c))) {
    latest.clear();
    scanLines(file, ({ bytes }) => see(bytes));
  }
  return latest;
}

/**
 * Each channel with records has a signed checkpoint covering its last record, or its latest
 * checkpoint is recent: records left unsigned for longer than twice the checkpoint job's
 * interval mean the writer died or stalled, and only the chain protects them.
 */
export const checkpointsCheck: Check = {
  id: 'checkpoints',
  title: 'signed checkpoints recent',
  run(ctx: DoctorContext): CheckResult {
    const { layout, config } = ctx;
    if (!existsSync(layout.checkpointsFile))
      return {
        status: 'fail',
        summary: 'the checkpoint log is missing',
        findings: [
          {
            what: `${layout.checkpointsFile} is missing: nothing signed remains`,
            fix: 'treat it as an incident: restore it from a backup, then run dihya-logs verify (docs/integrity.md)',
          },
        ],
      };
    const book = readSegmentBook(layout, ctx.meta.log_id);
    const names = [
      ...new Set([...ctx.meta.channels, ...Object.keys(config.channels), ...book.channels()]),
    ];
    const withRecords = new Map<string, LastRecord>();
    for (const c of names) {
      const last = lastRecord(layout, book, c);
      if (last !== undefined && last.seq > 0) withRecords.set(c, last);
    }
    const latest = latestCheckpoints(layout, ctx.meta.log_id, new Set(withRecords.keys()));
    const maxAge = 2 * jobIntervalMs(config, 'checkpoint', ctx.now);
    const fails: Finding[] = [];
    let covered = 0;
    let pending = 0;
    for (const [channel, last] of withRecords) {
      const cp = latest.get(channel);
      if (cp !== undefined && cp.size >= last.seq) {
        covered += 1;
        continue;
      }
      const since = cp?.ts ?? firstTs(layout, book, channel);
      const sinceMs = since === undefined ? NaN : Date.parse(since);
      const unsigned = last.seq - (cp?.size ?? 0);
      if (Number.isFinite(sinceMs) && ctx.now - sinceMs <= maxAge) {
        pending += 1; // a writer at work: it signs at least every second
        continue;
      }
      fails.push({
        what:
          cp === undefined
            ? `${channel}: ${unsigned} record(s) and no signed checkpoint at all${since === undefined ? '' : ` (records since ${since})`}`
            : `${channel}: ${unsigned} record(s) after seq ${cp.size} are not signed; the latest checkpoint is from ${cp.ts}, ${Number.isFinite(sinceMs) ? roughDuration(ctx.now - sinceMs) : 'long'} ago (more than ${roughDuration(maxAge)}, twice the checkpoint job's interval)`,
        fix: 'run dihya-logs verify first: if it reports damage, treat it as an incident (copy the logs directory aside as evidence) before anything writes to it. Otherwise the writer died or stalled: start the service again (or run dihya-logs scheduler --once checkpoint); on open it checks these records against the last signed head before it signs them and says so in the security channel (records it cannot prove are signed only as found, marked unproven, and verify keeps reporting them). If the service is running, find out why its checkpoint job fails (scheduler channel)',
      });
    }
    const head = `${withRecords.size} channel(s) with records: ${covered} signed up to their last record${pending > 0 ? `, ${pending} with records signed less than ${roughDuration(maxAge)} ago and newer ones not yet (a writer at work)` : ''}`;
    return fails.length > 0
      ? { status: 'fail', summary: `${head}; ${fails.length} left unsigned`, findings: fails }
      : { status: 'ok', summary: head, findings: [] };
  },
};
