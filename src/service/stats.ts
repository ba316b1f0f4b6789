import { LogsError } from '../errors.js';
import { LEVEL_RANK } from '../event/levels.js';
import type { IndexDb } from '../search/index-db.js';
import { parseTime } from '../query/filter.js';

const BUCKETS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
const MAX_BUCKETS = 2000;
const LEVEL_OF = new Map(Object.entries(LEVEL_RANK).map(([name, rank]) => [rank, name]));

export interface Stats {
  readonly since: string;
  readonly until: string;
  readonly bucket: keyof typeof BUCKETS;
  /** Start of each bucket (ISO), in order; the series below have one number per bucket. */
  readonly buckets: string[];
  readonly byChannel: Record<string, number[]>;
  readonly byLevel: Record<string, number[]>;
  /** auth.* events with outcome failure. */
  readonly failedSignIns: number[];
  /** Events with outcome denied. */
  readonly denied: number[];
  readonly topEvents: Array<{ event: string; count: number }>;
  /** Actors (pseudonyms or token ids) of security events, most frequent first. */
  readonly topSecuritySources: Array<{ actor: string; count: number }>;
}

/**
 * Counts for the dashboard, straight from the index (its secondary index on time): per bucket,
 * per channel and level, failed sign-ins and denied accesses; top event types and top sources
 * of security events over the span.
 */
export function statsOf(
  db: IndexDb,
  q: { since?: string; until?: string; bucket?: string },
  nowMs: number,
): Stats {
  const bucket = (q.bucket ?? 'hour') as keyof typeof BUCKETS;
  const size = BUCKETS[bucket];
  const until = q.until === undefined ? nowMs : parseTime(q.until, nowMs, 'until');
  const since = q.since === undefined ? until - 86_400_000 : parseTime(q.since, nowMs, 'since');
  if (since >= until) throw new LogsError('USAGE', 'since: must be before until');
  const first = Math.floor(since / size) * size;
  const n = Math.ceil((until - first) / size);
  if (n > MAX_BUCKETS)
    throw new LogsError(
      'USAGE',
      `bucket: ${n} ${bucket}s in that span (at most ${MAX_BUCKETS}); choose a larger bucket`,
    );
  const zeros = (): number[] => new Array<number>(n).fill(0);
  const slot = (t: number): number => Math.min(n - 1, Math.floor((t - first) / size));
  const c = db.connection;
  const byChannel: Record<string, number[]> = {};
  const byLevel: Record<string, number[]> = {};
  const rows = c
    .prepare<
      [number, number, number],
      { t: number; channel: string; level_rank: number; n: number }
    >(
      `SELECT (r.ts_ms / ?) AS t, s.channel AS channel, r.level_rank, count(*) AS n
       FROM records r JOIN state s ON s.channel_no = r.channel
       WHERE r.ts_ms >= ? AND r.ts_ms < ? GROUP BY t, r.channel, r.level_rank`,
    )
    .all(size, since, until);
  for (const r of rows) {
    const i = slot(r.t * size);
    const perChannel = (byChannel[r.channel] ??= zeros());
    perChannel[i] = (perChannel[i] ?? 0) + r.n;
    const perLevel = (byLevel[LEVEL_OF.get(r.level_rank) ?? String(r.level_rank)] ??= zeros());
    perLevel[i] = (perLevel[i] ?? 0) + r.n;
  }
  const series = (where: string): number[] => {
    const out = zeros();
    for (const r of c
      .prepare<[number, number, number], { t: number; n: number }>(
        `SELECT (r.ts_ms / ?) AS t, count(*) AS n FROM records r JOIN refs e ON e.id = r.event
         WHERE r.ts_ms >= ? AND r.ts_ms < ? AND ${where} GROUP BY t`,
      )
      .all(size, since, until)) {
      const i = slot(r.t * size);
      out[i] = (out[i] ?? 0) + r.n;
    }
    return out;
  };
  const topEvents = c
    .prepare<[number, number], { event: string; count: number }>(
      `SELECT e.text AS event, count(*) AS count FROM records r JOIN refs e ON e.id = r.event
       WHERE r.ts_ms >= ? AND r.ts_ms < ? GROUP BY r.event ORDER BY count DESC, event LIMIT 10`,
    )
    .all(since, until);
  const topSecuritySources = c
    .prepare<[number, number], { actor: string; count: number }>(
      `SELECT a.text AS actor, count(*) AS count FROM records r
       JOIN state s ON s.channel_no = r.channel JOIN refs a ON a.id = r.actor_ref
       WHERE s.channel = 'security' AND r.ts_ms >= ? AND r.ts_ms < ?
       GROUP BY r.actor_ref ORDER BY count DESC, actor LIMIT 10`,
    )
    .all(since, until);
  return {
    since: new Date(since).toISOString(),
    until: new Date(until).toISOString(),
    bucket,
    buckets: Array.from({ length: n }, (_, i) => new Date(first + i * size).toISOString()),
    byChannel,
    byLevel,
    failedSignIns: series(`e.text LIKE 'auth.%' AND r.outcome = 'failure'`),
    denied: series(`r.outcome = 'denied'`),
    topEvents,
    topSecuritySources,
  };
}
