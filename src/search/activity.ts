import type { ActivityCounts, ActivitySpan, BucketCount } from '../store/store.js';
import type { IndexDb } from './index-db.js';

export type { ActivityCounts, ActivitySpan, BucketCount } from '../store/store.js';

/** Count the records of a span for the dashboard; the top lists have `top` entries at most. */
export function activityCounts(db: IndexDb, span: ActivitySpan, top = 10): ActivityCounts {
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
    .prepare<[number, number, number], { event: string; count: number }>(
      `SELECT e.text AS event, count(*) AS count FROM records r JOIN refs e ON e.id = r.event
       WHERE r.ts_ms >= ? AND r.ts_ms < ? GROUP BY r.event ORDER BY count DESC, event LIMIT ?`,
    )
    .all(sinceMs, untilMs, top);
  // actor_ref and sub are ids in the same refs table: an actor who is also the subject of
  // other records is one source, not two.
  const topSecuritySources = c
    .prepare<[number, number, number], { source: string; count: number }>(
      `SELECT k.text AS source, count(*) AS count FROM records r
       JOIN state s ON s.channel_no = r.channel JOIN refs k ON k.id = coalesce(r.actor_ref, r.sub)
       WHERE s.channel = 'security' AND r.ts_ms >= ? AND r.ts_ms < ?
       GROUP BY k.id ORDER BY count DESC, source LIMIT ?`,
    )
    .all(sinceMs, untilMs, top);
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
