/** A record an alert points to: its channel and position. Never a copy of its content. */
export interface RecordRef {
  readonly channel: string;
  readonly seq: number;
}

/**
 * Set `key` as the most recent entry of an insertion-ordered map; past `max` entries the least
 * recent goes: the bound on every memory the detectors keep.
 */
export function setRecent<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) {
    const oldest = map.keys().next();
    if (oldest.done !== true) map.delete(oldest.value);
  }
}

export interface Hit {
  readonly ts: number;
  readonly ref: RecordRef;
  readonly weight: number;
}

interface Group {
  hits: Hit[];
  total: number;
  quietUntil: number;
}

/**
 * Counts per group over a sliding window: `add` answers the hits that made the count reach the
 * threshold within `windowMs`, once; the group is then quiet for a window (one attack, one
 * alert; an attack still going after that raises another). Memory is bounded: at most
 * `maxGroups` groups (the least recently seen go first), and a group keeps only the hits inside
 * its window.
 */
export class GroupWindow {
  private readonly groups = new Map<string, Group>();

  constructor(
    private readonly threshold: number,
    private readonly windowMs: number,
    private readonly maxGroups = 100_000,
  ) {}

  /** Count a hit; returns the hits of the window when they reach the threshold. */
  add(key: string, hit: Hit): Hit[] | undefined {
    const g = this.touch(key);
    if (hit.ts < g.quietUntil) return undefined;
    g.hits.push(hit);
    g.total += hit.weight;
    this.prune(g, hit.ts);
    if (g.total < this.threshold) return undefined;
    const hits = g.hits;
    this.quiet(key, hit.ts);
    return hits;
  }

  /** Whether the group alerted within the last window. */
  isQuiet(key: string, ts: number): boolean {
    const g = this.groups.get(key);
    return g !== undefined && ts < g.quietUntil;
  }

  /** Start the group's quiet window (an alert about it was raised elsewhere). */
  quiet(key: string, ts: number): void {
    const g = this.touch(key);
    g.hits = [];
    g.total = 0;
    g.quietUntil = ts + this.windowMs;
  }

  get size(): number {
    return this.groups.size;
  }

  private touch(key: string): Group {
    const g = this.groups.get(key) ?? { hits: [], total: 0, quietUntil: -Infinity };
    setRecent(this.groups, key, g, this.maxGroups);
    return g;
  }

  private prune(g: Group, now: number): void {
    let drop = 0;
    while (drop < g.hits.length && (g.hits[drop]?.ts ?? now) <= now - this.windowMs) {
      g.total -= g.hits[drop]?.weight ?? 0;
      drop++;
    }
    if (drop > 0) g.hits.splice(0, drop);
  }
}

/**
 * Distinct keys per group over a sliding window (accounts failing from one address): `add`
 * answers the latest hit of each distinct key once there are `threshold` of them.
 */
export class DistinctWindow {
  private readonly groups = new Map<string, { keys: Map<string, Hit>; quietUntil: number }>();

  constructor(
    private readonly threshold: number,
    private readonly windowMs: number,
    private readonly maxGroups = 100_000,
    private readonly maxKeys = 10_000,
  ) {}

  add(group: string, key: string, hit: Hit): Hit[] | undefined {
    const g = this.groups.get(group) ?? { keys: new Map<string, Hit>(), quietUntil: -Infinity };
    setRecent(this.groups, group, g, this.maxGroups);
    if (hit.ts < g.quietUntil) return undefined;
    setRecent(g.keys, key, hit, this.maxKeys);
    for (const [k, h] of g.keys) {
      if (h.ts > hit.ts - this.windowMs) break;
      g.keys.delete(k); // oldest first: insertion order is time order
    }
    if (g.keys.size < this.threshold) return undefined;
    const hits = [...g.keys.values()];
    g.keys = new Map();
    g.quietUntil = hit.ts + this.windowMs;
    return hits;
  }
}
