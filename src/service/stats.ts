import type { SubjectLookup } from '../crypto/subjects.js';
import { LogsError } from '../errors.js';
import { LEVEL_RANK } from '../event/levels.js';
import type { ActivityCounts, ActivitySpan, BucketCount } from '../store/store.js';
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
  /** Who security events came from, most frequent first (see SecuritySource). */
  readonly topSecuritySources: SecuritySource[];
}

/** What a reader asks: the span (times or durations before now), the bucket, the top size. */
export interface StatsQuery {
  readonly since?: string;
  readonly until?: string;
  readonly bucket?: string;
  readonly top?: number;
}

/**
 * One source of security events: its actor's id, or, for an actor known only by an e-mail
 * address or an IP, the subject inferred from it (the same pseudonym in each of its records).
 */
export interface SecuritySource {
  /** As stored: a pseudonym, or an id the configuration keeps as it is. */
  readonly source: string;
  /**
   * Who the pseudonym is (a user id, an e-mail address, an IP), for a reader allowed to see
   * personal values; absent for the others and for an erased person.
   */
  readonly id?: string;
  readonly count: number;
}

/**
 * Counts for the dashboard, from the store's index or tables (`count`): per bucket,
 * per channel and level, failed sign-ins and denied accesses; top event types and top sources
 * of security events over the span. With `keys` (a reader allowed to see personal values), each
 * source's pseudonym is turned back into who it is through the keystore.
 */
export async function statsFrom(
  count: (span: ActivitySpan, top: number) => Promise<ActivityCounts>,
  q: StatsQuery,
  nowMs: number,
  keys?: SubjectLookup,
): Promise<Stats> {
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
  const counts = await count({ sinceMs: since, untilMs: until, bucketMs: size }, q.top ?? 10);
  const byChannel: Record<string, number[]> = {};
  const byLevel: Record<string, number[]> = {};
  for (const r of counts.byChannelLevel) {
    const i = slot(r.bucket * size);
    const perChannel = (byChannel[r.channel] ??= zeros());
    perChannel[i] = (perChannel[i] ?? 0) + r.records;
    const perLevel = (byLevel[LEVEL_OF.get(r.levelRank) ?? String(r.levelRank)] ??= zeros());
    perLevel[i] = (perLevel[i] ?? 0) + r.records;
  }
  const series = (buckets: readonly BucketCount[]): number[] => {
    const out = zeros();
    for (const r of buckets) {
      const i = slot(r.bucket * size);
      out[i] = (out[i] ?? 0) + r.records;
    }
    return out;
  };
  return {
    since: new Date(since).toISOString(),
    until: new Date(until).toISOString(),
    bucket,
    buckets: Array.from({ length: n }, (_, i) => new Date(first + i * size).toISOString()),
    byChannel,
    byLevel,
    failedSignIns: series(counts.failedSignIns),
    denied: series(counts.denied),
    topEvents: counts.topEvents,
    topSecuritySources: counts.topSecuritySources.map(({ source, count }) => {
      const id = keys === undefined ? undefined : idOf(keys, source);
      return id === undefined ? { source, count } : { source, id, count };
    }),
  };
}

/** The id behind a pseudonym; undefined for an id stored as it is, and for an erased person. */
function idOf(keys: SubjectLookup, source: string): string | undefined {
  const id = keys.idOf(source);
  return id === source ? undefined : id;
}
