import type { SubjectLookup } from '../crypto/subjects.js';
import type { RecordReader } from '../query/read.js';
import { filterRows, selectHits, type Hit, type IndexDb } from '../search/index.js';
import { readMatch, type ReadMatch } from './read-subjects.js';

/**
 * The consultations of a person's data an export lists (consulted.json): the GDPR requests and
 * reads about them (the current rule: audit records of theirs), and every `log.read` whose
 * audit record says it returned one of their records, searched for them, or returned more
 * people than it could list (flagged: it may have included their data).
 *
 * Counted: reads through the dihya-logs service (its API, the admin page, the tail, export
 * downloads). Not counted: `dihya-logs query` and `tail` on the machine (read-only commands
 * that write no record) and reads of the raw files by someone with shell access.
 */

const PAGE = 2000;
/** The event type of a read's audit record. */
export const READ_EVENT = 'log.read';

/** One line of consulted.json. */
export type Consultation = Record<string, unknown>;

const tsOf = (c: Consultation): string => (typeof c.ts === 'string' ? c.ts : '');

/** Consultations by audit seq: each record listed once, whichever way it was found. */
export class Consultations {
  private readonly bySeq = new Map<number, Consultation>();

  /** `keystore` turns the actors of the reads back into ids (who consulted). */
  constructor(private readonly keystore: SubjectLookup) {}

  /** An audit record of the person's own (found with their records): a request or a read. */
  addOwn(seq: number, record: Record<string, unknown>): void {
    if (!this.bySeq.has(seq)) this.bySeq.set(seq, consultation(record, this.keystore, undefined));
  }

  /**
   * Every `log.read` of the audit channel that concerns `pseudonyms` (its recorded subjects),
   * read back from the segments. They are few beside the data records: a scan, page by page.
   */
  async addReads(
    from: { db: IndexDb; reader: RecordReader },
    pseudonyms: readonly string[],
  ): Promise<void> {
    const mine = new Set(pseudonyms);
    const rows = filterRows(from.db, {
      channels: ['audit'],
      events: [{ text: READ_EVENT, glob: false }],
    });
    let after: Hit | undefined;
    while (rows !== undefined && mine.size > 0) {
      const hits = selectHits(from.db, rows, 'asc', PAGE, after);
      if (hits.length === 0) break;
      after = hits[hits.length - 1];
      for (const r of await from.reader.read(hits)) {
        // A damaged record is exported as evidence when it is theirs; here it proves nothing.
        if (r.record === undefined || (r.status !== 'ok' && r.status !== 'unverified')) continue;
        this.addRead(r.hit.seq, r.record, mine);
      }
    }
  }

  /** One `log.read` record of the audit channel, listed when it concerns `mine`. */
  addRead(seq: number, record: Record<string, unknown>, mine: ReadonlySet<string>): void {
    if (record.event !== READ_EVENT || this.bySeq.has(seq)) return;
    const match = readMatch(record.data, mine);
    if (match !== undefined) this.bySeq.set(seq, consultation(record, this.keystore, match));
  }

  /** In time order. */
  list(): Consultation[] {
    return [...this.bySeq.entries()]
      .sort(([a, x], [b, y]) => tsOf(x).localeCompare(tsOf(y)) || a - b)
      .map(([, c]) => c);
  }
}

/** A consultation of the person's data, for consulted.json: when, what, by whom, why, how. */
function consultation(
  record: Record<string, unknown>,
  keystore: SubjectLookup,
  match: ReadMatch,
): Consultation {
  const data = (record.data ?? {}) as Record<string, unknown>;
  const actor = (record.actor ?? {}) as { id?: unknown };
  const by =
    typeof actor.id === 'string' ? (keystore.idOf(actor.id) ?? actor.id) : (actor.id ?? null);
  const records = data.records ?? data.count ?? null;
  return {
    ts: record.ts ?? null,
    event: record.event ?? null,
    by,
    request_id: data.request_id ?? (record.event === READ_EVENT ? record.request_id : null) ?? null,
    purpose: data.reason ?? null,
    records,
    ...(typeof data.route === 'string' ? { route: data.route } : {}),
    ...(match === 'returned' ? { returned_your_records: true } : {}),
    ...(match === 'searched' ? { searched_for_you: true } : {}),
    ...(match === 'may_include' ? { may_have_included_your_data: true } : {}),
  };
}
