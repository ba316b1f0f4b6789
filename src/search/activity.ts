import type { IndexDb } from './index-db.js';

/** A span of time cut into buckets: records from sinceMs (inclusive) to untilMs (exclusive). */
export interface ActivitySpan {
  readonly sinceMs: number;
  readonly untilMs: number;
  readonly bucketMs: number;
}

/** Records in one bucket; `bucket` is the time divided by bucketMs, rounded down. */
export interface BucketCount {
  readonly bucket: number;
  readonly records: number;
}

/** What the dashboard shows of a span, counted by the index (its secondary index on time). */
export interface ActivityCounts {
  /** Per bucket, channel and level rank. */
  readonly byChannelLevel: Array<BucketCount & { channel: string; levelRank: number }>;
  /** auth.* events with outcome failure, per bucket. */
  readonly failedSignIns: BucketCount[];
  /** Events with outcome denied, per bucket. */
  readonly denied: BucketCount[];
  /** The 10 most frequent event types. */
  readonly topEvents: Array<{ event: string; count: number }>;
  /** The 10 most frequent actors (pseudonyms or token ids) of the security channel. */
  readonly topSecuritySources: Array<{ actor: string; count: number }>;
}

/** Count the records of a span for the dashboard. */
export function activityCounts(db: IndexDb, span: ActivitySpan): ActivityCounts {
  const c = db.connection;
  const { sinceMs, untilMs, bucketMs } = span;
  const byChannelLevel = c
    .prepare<
      [number, number, number],
      { t: number; channel: string; level_rank: number; n: number }
    >(
      `SELECT (r.ts_ms / ?) AS t, s.channel AS channel, r.level_rank, count(*) AS n
       FROM records r JOIN state s ON s.channel_no = r.channel
       WHERE r.ts_ms >= ? AND r.ts_ms < ? GROUP BY t, r.channel, r.level_rank`,
    )
    .all(bucketMs, sinceMs, untilMs)
    .map((r) => ({ bucket: r.t, channel: r.channel, levelRank: r.level_rank, records: r.n }));
  const topEvents = c
    .prepare<[number, number], { event: string; count: number }>(
      `SELECT e.text AS event, count(*) AS count FROM records r JOIN refs e ON e.id = r.event
       WHERE r.ts_ms >= ? AND r.ts_ms < ? GROUP BY r.event ORDER BY count DESC, event LIMIT 10`,
    )
    .all(sinceMs, untilMs);
  const topSecuritySources = c
    .prepare<[number, number], { actor: string; count: number }>(
      `SELECT a.text AS actor, count(*) AS count FROM records r
       JOIN state s ON s.channel_no = r.channel JOIN refs a ON a.id = r.actor_ref
       WHERE s.channel = 'security' AND r.ts_ms >= ? AND r.ts_ms < ?
       GROUP BY r.actor_ref ORDER BY count DESC, actor LIMIT 10`,
    )
    .all(sinceMs, untilMs);
  const series = (where: string): BucketCount[] =>
    c
      .prepare<[number, number, number], { t: number; n: number }>(
        `SELECT (r.ts_ms / ?) AS t, count(*) AS n FROM records r JOIN refs e ON e.id = r.event
         WHERE r.ts_ms >= ? AND r.ts_ms < ? AND ${where} GROUP BY t`,
      )
      .all(bucketMs, sinceMs, untilMs)
      .map((r) => ({ bucket: r.t, records: r.n }));
  return {
    byChannelLevel,
    failedSignIns: series(`e.text LIKE 'auth.%' AND r.outcome = 'failure'`),
    denied: series(`r.outcome = 'denied'`),
    topEvents,
    topSecuritySources,
  };
}
