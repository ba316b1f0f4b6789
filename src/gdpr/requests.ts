import { RESERVED_EVENT_PREFIX } from '../event/record.js';
import type { IndexDb } from '../search/index.js';
import type { SubjectLookup } from '../crypto/subjects.js';
import { runQuery } from '../query/query.js';
import { openIfSealed, type ChannelKeyring } from '../crypto/body-cipher.js';
import type { LogLayout } from '../store/file/index.js';
import type { StorePeople } from '../store/store.js';

/**
 * The event types of GDPR requests (`gdpr.*`, written only by dihya-logs: `recordRequest`).
 * The register of a database store reads these by type: a new request type is added here.
 */
export const REQUEST_EVENT_TYPES: readonly string[] = ['gdpr.export', 'gdpr.erasure'];

/** One GDPR request as the register shows it. */
export interface GdprRequest {
  readonly requestId: string;
  readonly kind: string;
  /** When it was received (its first audit event). */
  readonly received: string;
  /** One month after receipt (GDPR Art. 12(3)). */
  readonly deadline: string;
  readonly status: string;
  /** The person: their pseudonym, or their id for a reader with the keystore. */
  readonly subject: string | undefined;
  readonly records: number | undefined;
  readonly reason: string | undefined;
  /** A scheduled erasure: when its retention duties end. */
  readonly dueAt: string | undefined;
  /** The pseudonyms a request is about (erasures record them: the key may be gone later). */
  readonly pseudonyms: readonly string[];
}

/**
 * The request register, read from the `audit` channel: every `gdpr.*` event carries its
 * request id, so the register is the signed, chained log itself, not a second store that could
 * disagree with it. The last event of a request gives its status.
 */
export async function listRequests(
  layout: LogLayout,
  logId: string,
  db: IndexDb,
  keys?: SubjectLookup,
  channelKeys?: ChannelKeyring,
): Promise<GdprRequest[]> {
  const byId = new Map<string, GdprRequest>();
  let cursor: string | undefined;
  do {
    const page = await runQuery(
      layout,
      logId,
      db,
      {
        // By event type only: SQLite's sampled statistics would otherwise walk every audit
        // record by channel and time; the channel is checked below.
        filter: { events: [`${RESERVED_EVENT_PREFIX}*`] },
        limit: 1000,
        order: 'asc',
        ...(cursor === undefined ? { catchUp: true } : { cursor, catchUp: false }),
      },
      keys,
      channelKeys,
    );
    for (const r of page.records) addRequest(byId, r.channel, r.record);
    cursor = page.next;
  } while (cursor !== undefined);
  return [...byId.values()];
}

/**
 * The register from a database store (PostgreSQL): the `audit` records of the request event
 * types, read through the store by type (their column is indexed), each checked to be one.
 */
export async function listRequestsFromStore(
  people: StorePeople,
  channelKeys: ChannelKeyring | undefined,
): Promise<GdprRequest[]> {
  const byId = new Map<string, GdprRequest>();
  for await (const { line } of people.events('audit', REQUEST_EVENT_TYPES)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      continue; // not a record: verify names it; the register holds records only
    }
    if (typeof parsed !== 'object' || parsed === null) continue;
    const rec = openIfSealed(parsed as Record<string, unknown>, channelKeys).record;
    if (typeof rec.event === 'string' && rec.event.startsWith(RESERVED_EVENT_PREFIX))
      addRequest(byId, 'audit', rec);
  }
  return [...byId.values()];
}

/** One `gdpr.*` record into the register: the last event of a request gives its status. */
function addRequest(
  byId: Map<string, GdprRequest>,
  channel: string,
  rec: Record<string, unknown> | undefined,
): void {
  const data = (rec?.data ?? {}) as Record<string, unknown>;
  const id = data.request_id;
  // Only the audit trail is the register: a gdpr.* event written to another channel is not.
  if (rec === undefined || channel !== 'audit' || typeof id !== 'string') return;
  const known = byId.get(id);
  const received = known?.received ?? String(rec.ts);
  byId.set(id, {
    requestId: id,
    kind:
      typeof data.kind === 'string'
        ? data.kind
        : String(rec.event).slice(RESERVED_EVENT_PREFIX.length),
    received,
    deadline: oneMonthAfter(received),
    status: statusOf(rec),
    subject: str(rec.subject) ?? str(rec.sub) ?? known?.subject,
    records: typeof data.records === 'number' ? data.records : known?.records,
    reason: str(data.reason) ?? known?.reason,
    dueAt: str(data.due_at) ?? known?.dueAt,
    pseudonyms: Array.isArray(data.pseudonyms)
      ? data.pseudonyms.filter((p): p is string => typeof p === 'string')
      : (known?.pseudonyms ?? (typeof rec.sub === 'string' ? [rec.sub] : [])),
  });
}

function statusOf(rec: Record<string, unknown>): string {
  if (rec.outcome === 'failure') return 'failed';
  const data = (rec.data ?? {}) as Record<string, unknown>;
  return typeof data.status === 'string' ? data.status : 'done';
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The same day of the next month (the last day when that month is shorter), UTC. */
export function oneMonthAfter(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() + 1;
  const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  const out = new Date(d);
  out.setUTCDate(1);
  out.setUTCMonth(m);
  out.setUTCDate(Math.min(d.getUTCDate(), lastDay));
  return out.toISOString();
}
