import { existsSync } from 'node:fs';
import type { Config } from '../config/resolve.js';
import { LogsError } from '../errors.js';
import type { LogCore } from '../log/core.js';
import { LogLayout, readSegmentBook, type SegmentBook } from '../store/file/index.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** What retention decides for one archived segment. */
export interface RetentionDecision {
  readonly channel: string;
  readonly first: number;
  readonly last: number;
  readonly file: string;
  /** Days since the segment's newest record. */
  readonly ageDays: number;
  readonly action: 'delete' | 'keep';
  /** Why, in words: "past the maximum of 90 days", "legal hold: ...", "within 30-90 days". */
  readonly why: string;
  /** A file retention already tombstoned but could not remove: deleted now. */
  readonly leftover?: boolean;
}

export interface RetentionReport {
  readonly dryRun: boolean;
  readonly decisions: RetentionDecision[];
  readonly deleted: number;
  readonly bytes: number;
}

/**
 * Decide, per sealed archive: delete once its newest record is older than the channel's
 * maximum, never before its minimum, never under a legal hold. Segments still in staging and
 * the active file are never touched. Pure: `now` is given.
 */
export function planRetention(
  book: SegmentBook,
  config: Pick<Config, 'channels'>,
  now: number,
  layout?: LogLayout,
): RetentionDecision[] {
  const out: RetentionDecision[] = [];
  for (const channel of book.channels()) {
    const settings = config.channels[channel];
    const hold = book.hold(channel);
    for (const seg of book.segments(channel)) {
      if (seg.file === undefined) continue; // staging
      const ageDays = Math.floor((now - Date.parse(seg.lastTs)) / DAY_MS);
      const base = { channel, first: seg.first, last: seg.last, file: seg.file, ageDays };
      if (seg.state === 'deleted') {
        // Tombstoned already; only a file a crash left behind is still to remove.
        if (layout !== undefined && hold === undefined && existsSync(layout.resolve(seg.file)))
          out.push({ ...base, action: 'delete', why: 'tombstoned earlier', leftover: true });
        continue;
      }
      if (hold !== undefined) {
        out.push({ ...base, action: 'keep', why: `legal hold since ${hold.ts} (${hold.reason})` });
        continue;
      }
      if (settings === undefined) {
        out.push({ ...base, action: 'keep', why: 'channel not configured: no retention applies' });
        continue;
      }
      const { minDays, maxDays } = settings.retention;
      if (ageDays < minDays || ageDays <= maxDays) {
        out.push({
          ...base,
          action: 'keep',
          why:
            ageDays < minDays
              ? `within the minimum of ${minDays} days`
              : `within ${minDays}-${maxDays} days`,
        });
        continue;
      }
      out.push({ ...base, action: 'delete', why: `past the maximum of ${maxDays} days` });
    }
  }
  return out;
}

/**
 * Apply retention: each archive past its maximum is deleted with a signed tombstone (so
 * verify knows it was removed on purpose) and an `audit` event. With `dryRun`, only the plan.
 */
export async function applyRetention(
  logs: LogCore,
  options: {
    readonly dryRun?: boolean;
    readonly now?: number;
    readonly onDecision?: (d: RetentionDecision) => void;
  } = {},
): Promise<RetentionReport> {
  const layout = new LogLayout(logs.dir);
  const book = readSegmentBook(layout, logs.logId);
  const now = options.now ?? Date.now();
  const decisions = planRetention(book, logs.config, now, layout);
  const dryRun = options.dryRun === true;
  let deleted = 0;
  let bytes = 0;
  for (const d of decisions) {
    options.onDecision?.(d);
    if (dryRun || d.action !== 'delete') continue;
    // The audit event first, durable: a crash after it repeats the deletion (and the event) on
    // the next run; the other order could delete without a trace in the audit trail.
    const size = book.segments(d.channel).find((s) => s.first === d.first)?.size ?? 0;
    if (d.leftover !== true) {
      await logs.audit({
        event: 'retention.segment.deleted',
        outcome: 'success',
        msg: `${d.channel} records ${d.first} to ${d.last} deleted by retention (${d.why})`,
        data: {
          channel: d.channel,
          first: d.first,
          last: d.last,
          file: d.file,
          bytes: size,
          age_days: d.ageDays,
          reason: d.why,
        },
      });
    }
    try {
      await logs.lifecycle.deleteSegment(d.channel, d.first, d.last, d.why, now);
    } catch (err) {
      if (err instanceof LogsError && err.code === 'RETENTION_HOLD') continue; // set meanwhile
      throw err;
    }
    deleted += 1;
    bytes += size;
  }
  return { dryRun, decisions, deleted, bytes };
}
