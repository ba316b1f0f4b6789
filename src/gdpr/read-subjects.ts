/**
 * Whose data a read returned: the pseudonyms of the people whose records a read (a query, one
 * record, a tail, an export download) gave back, written into its `log.read` audit record. The
 * export of any of them then lists that read as a consultation of their data (CJEU C-579/21),
 * however broad its filter was (docs/gdpr.md).
 */

/** At most this many distinct pseudonyms in one read's audit record; past it, a flag. */
export const MAX_READ_SUBJECTS = 1000;

const PSEUDONYM = /^sub_[\da-f]{24}$/;
// A pseudonym in the stored JSON list: `"sub_` + 24 hex digits + `",`.
const PSEUDONYM_BYTES = 31;
// Ids looked up in the keystore during one read, remembered (a tail may run for days).
const CACHE_MAX = 4096;

/** What a read's audit record says about whose records it returned. */
export interface ReadSubjectsData {
  /** Pseudonyms of the people whose records the read returned (the `sub`, a person actor or target). */
  readonly subjects: string[];
  /** The read returned more people than `subjects` lists: it may have included anyone's data. */
  readonly subjects_truncated?: true;
  /** Pseudonyms of the people the read's filter named (`subject`, `actor`), found or not. */
  readonly filter_subjects?: string[];
}

export interface ReadSubjectsOptions {
  /** A person's pseudonym from a real id (a revealed record holds ids), never creating one. */
  readonly pseudonymOf: (id: string) => string | undefined;
  /** Actor and target types that are people (classification.personTypes). */
  readonly personTypes: readonly string[];
  /** The record size limit (config.limits): the list takes at most half of it. */
  readonly maxRecordBytes: number;
}

/**
 * The people one read returned, gathered record by record. Records may be stored (pseudonyms)
 * or revealed (real ids, turned back into pseudonyms through the keystore).
 */
export class ReadSubjects {
  private readonly seen = new Set<string>();
  private readonly named = new Set<string>();
  private readonly cache = new Map<string, string | undefined>();
  private readonly max: number;
  private truncated = false;

  constructor(private readonly options: ReadSubjectsOptions) {
    this.max = Math.max(
      1,
      Math.min(MAX_READ_SUBJECTS, Math.floor(options.maxRecordBytes / 2 / PSEUDONYM_BYTES)),
    );
  }

  /** The people of one returned record: its `sub`, its actor and its target when a person. */
  addRecord(record: Record<string, unknown> | undefined): void {
    if (record === undefined) return;
    if (typeof record.sub === 'string') this.addPseudonym(record.sub);
    for (const party of [record.actor, record.target]) {
      if (typeof party !== 'object' || party === null) continue;
      const { id, type } = party as { id?: unknown; type?: unknown };
      // A token, a service, a job: not a person. An actor without a type may be one.
      const person = typeof type === 'string' && this.options.personTypes.includes(type);
      if (type !== undefined && !person) continue;
      if (party === record.target && type === undefined) continue;
      this.addId(id);
    }
  }

  /** A person known by a real id or a pseudonym (an unknown id is left out). */
  addId(id: unknown): void {
    if (typeof id !== 'string' && typeof id !== 'number') return;
    const text = String(id);
    if (PSEUDONYM.test(text)) {
      this.addPseudonym(text);
      return;
    }
    if (this.truncated) return;
    let pseudonym = this.cache.get(text);
    if (pseudonym === undefined && !this.cache.has(text)) {
      pseudonym = this.options.pseudonymOf(text);
      if (this.cache.size >= CACHE_MAX) this.cache.clear();
      this.cache.set(text, pseudonym);
    }
    if (pseudonym !== undefined) this.addPseudonym(pseudonym);
  }

  /** The people a filter named, as pseudonyms (ids the keystore does not know are left out). */
  addFilter(filter: {
    readonly subjects?: readonly string[];
    readonly actors?: readonly string[];
  }): void {
    for (const p of [...(filter.subjects ?? []), ...(filter.actors ?? [])])
      if (PSEUDONYM.test(p)) this.named.add(p);
  }

  private addPseudonym(p: string): void {
    if (!PSEUDONYM.test(p) || this.seen.has(p)) return;
    if (this.seen.size >= this.max) this.truncated = true;
    else this.seen.add(p);
  }

  /** For the read's audit record. */
  data(): ReadSubjectsData {
    return {
      subjects: [...this.seen],
      ...(this.truncated ? { subjects_truncated: true as const } : {}),
      ...(this.named.size > 0 ? { filter_subjects: [...this.named] } : {}),
    };
  }
}

/** How a read's audit record concerns a person: it returned their records, may have, or not. */
export type ReadMatch = 'returned' | 'searched' | 'may_include' | undefined;

/**
 * Whether a `log.read` record's data concerns one of `pseudonyms`. Parse defensively: the
 * record comes from a file anyone with disk access may have edited.
 */
export function readMatch(data: unknown, pseudonyms: ReadonlySet<string>): ReadMatch {
  if (typeof data !== 'object' || data === null) return undefined;
  const d = data as Record<string, unknown>;
  const any = (v: unknown): boolean =>
    Array.isArray(v) && v.some((p) => typeof p === 'string' && pseudonyms.has(p));
  if (any(d.subjects)) return 'returned';
  if (any(d.filter_subjects)) return 'searched';
  if (d.subjects_truncated === true) return 'may_include';
  return undefined;
}
