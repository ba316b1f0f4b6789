/**
 * The dashboard's counts of a span on PostgreSQL: what `search/activity.ts` counts in the file
 * store's index, the same meaning, from `dl_records` (its `ts` index bounds each scan). The
 * three series come from one pass over the span; the two top lists are their own queries, run
 * beside it.
 */
import type pg from 'pg';
import { LogsError } from '../../errors.js';
import { isLevel, LEVEL_RANK } from '../../event/levels.js';
import type { ActivityCounts, ActivitySpan, BucketCount } from '../store.js';
import { clampMs } from './select.js';

interface SeriesRow {
  t: string;
  channel: string;
  level: string;
  n: string;
  failed: string;
  denied: string;
}

// The bucket of a row: its time in whole milliseconds, divided by the bucket's, rounded down.
const BUCKET = 'floor(floor(extract(epoch FROM ts) * 1000) / $1::bigint)::bigint';

/** The span between two parameters (epoch ms), as select.ts writes times. */
const inSpan = (since: string, until: string): string =>
  `ts >= to_timestamp(${since}::bigint / 1000.0) AND ts < to_timestamp(${until}::bigint / 1000.0)`;

/**
 * The actor's id: batch.ts keeps the id of an actor that has one, and the actor's JSON (an
 * object: `{`...) of one that has none, which is no source (the subject stands in for it).
 */
const ACTOR_ID = `CASE WHEN actor LIKE '{%' THEN NULL ELSE actor END`;

/** Count the records of a span for the dashboard; the top lists have `top` entries at most. */
export async function activityCounts(
  pool: pg.Pool,
  span: ActivitySpan,
  top: number,
): Promise<ActivityCounts> {
  const { bucketMs } = span;
  if (
    ![span.sinceMs, span.untilMs, bucketMs, top].every(Number.isSafeInteger) ||
    bucketMs < 1 ||
    top < 0
  )
    throw new LogsError('USAGE', 'activity: expected whole milliseconds and counts');
  const sinceMs = clampMs(span.sinceMs);
  const untilMs = clampMs(span.untilMs);
  const [series, topEvents, topSecuritySources] = await Promise.all([
    pool.query<SeriesRow>(
      `SELECT ${BUCKET} AS t, channel, level, count(*) AS n,
              count(*) FILTER (WHERE event LIKE 'auth.%' AND outcome = 'failure') AS failed,
              count(*) FILTER (WHERE outcome = 'denied') AS denied
         FROM dl_records WHERE ${inSpan('$2', '$3')}
        GROUP BY t, channel, level`,
      [bucketMs, sinceMs, untilMs],
    ),
    // A record whose type could not be read (imported sealed, without its key) has none: ''.
    // Ties in byte order, as the file index (SQLite) breaks them.
    pool.query<{ event: string; count: string }>(
      `SELECT event, count(*) AS count FROM dl_records
        WHERE ${inSpan('$1', '$2')} AND event <> ''
        GROUP BY event ORDER BY count(*) DESC, event COLLATE "C" LIMIT $3`,
      [sinceMs, untilMs, top],
    ),
    pool.query<{ source: string; count: string }>(
      `SELECT source, count(*) AS count
         FROM (SELECT coalesce(${ACTOR_ID}, sub) AS source FROM dl_records
                WHERE channel = 'security' AND ${inSpan('$1', '$2')}) s
        WHERE source IS NOT NULL
        GROUP BY source ORDER BY count(*) DESC, source COLLATE "C" LIMIT $3`,
      [sinceMs, untilMs, top],
    ),
  ]);
  return {
    ...seriesOf(series.rows),
    topEvents: topEvents.rows.map((r) => ({ event: r.event, count: Number(r.count) })),
    topSecuritySources: topSecuritySources.rows.map((r) => ({
      source: r.source,
      count: Number(r.count),
    })),
  };
}

/** The per-bucket series from the rows grouped by bucket, channel and level. */
function seriesOf(
  rows: readonly SeriesRow[],
): Pick<ActivityCounts, 'byChannelLevel' | 'failedSignIns' | 'denied'> {
  const byChannelLevel = new Map<string, BucketCount & { channel: string; levelRank: number }>();
  const failed = new Map<number, number>();
  const denied = new Map<number, number>();
  const add = (m: Map<number, number>, bucket: number, n: number): void => {
    if (n > 0) m.set(bucket, (m.get(bucket) ?? 0) + n);
  };
  for (const r of rows) {
    const bucket = Number(r.t);
    // Levels are checked at write time; a row edited behind the store's back ranks 0.
    const levelRank = isLevel(r.level) ? LEVEL_RANK[r.level] : 0;
    const key = `${bucket} ${r.channel} ${levelRank}`;
    const before = byChannelLevel.get(key)?.records ?? 0;
    byChannelLevel.set(key, {
      bucket,
      channel: r.channel,
      levelRank,
      records: before + Number(r.n),
    });
    add(failed, bucket, Number(r.failed));
    add(denied, bucket, Number(r.denied));
  }
  const list = (m: Map<number, number>): BucketCount[] =>
    [...m].sort((a, b) => a[0] - b[0]).map(([bucket, records]) => ({ bucket, records }));
  return {
    byChannelLevel: [...byChannelLevel.values()],
    failedSignIns: list(failed),
    denied: list(denied),
  };
}
