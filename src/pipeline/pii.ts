import { quote } from '../event/quote.js';
import type { PiiPlan } from '../crypto/pii-cipher.js';
import type { SubjectEntry, SubjectKeys } from '../crypto/subjects.js';

// Kinds a record's subject can be inferred from when nothing names one, most telling first.
const INFER_RANK: Readonly<Record<string, number>> = {
  email: 1,
  phone: 2,
  national_id: 3,
  nir: 4,
  iban: 5,
  ip: 6,
};

/**
 * Personal data met while classifying one record. Values are replaced by placeholders
 * (`[email#1]`, the same value always the same placeholder) and grouped by the person they
 * belong to; identifiers of people become their pseudonyms. At the end, each person's values
 * form one plaintext to encrypt under that person's key. Most records hold only their actor's
 * id, which needs no encryption at all: its pseudonym is enough, the keystore knows the id.
 */
export class PiiContext {
  private owners: Map<string, Map<string, string>> | undefined; // subject id → placeholder → value
  private placeholders: Map<string, string> | undefined; // owner \0 kind \0 value → placeholder
  private counts: Map<string, number> | undefined;
  private entries: Map<string, SubjectEntry> | undefined;
  private primaryValues: Map<string, string> | undefined; // found before a subject is known
  private firstSeen: { kind: string; value: string } | undefined;
  /** Subject id the values found now belong to (undefined: the record's primary subject). */
  owner: string | undefined;

  constructor(
    private readonly keys: SubjectKeys,
    /** The record's subject, when it names one (subject, actor.id). */
    public primary: string | undefined,
  ) {}

  /** A personal value: returns its placeholder; the value goes to its owner's plaintext. */
  personal(kind: string, value: string): string {
    const owner = this.owner ?? this.primary;
    const key = `${owner ?? ''}\0${kind}\0${value}`;
    this.placeholders ??= new Map();
    let placeholder = this.placeholders.get(key);
    if (placeholder !== undefined) return placeholder;
    this.counts ??= new Map();
    const n = (this.counts.get(kind) ?? 0) + 1;
    this.counts.set(kind, n);
    placeholder = `[${kind}#${n}]`;
    this.placeholders.set(key, placeholder);
    if (owner !== undefined) {
      this.valuesOf(owner).set(placeholder, value);
      return placeholder;
    }
    this.primaryValues ??= new Map();
    this.primaryValues.set(placeholder, value);
    const rank = INFER_RANK[kind];
    if (
      rank !== undefined &&
      (this.firstSeen === undefined || rank < (INFER_RANK[this.firstSeen.kind] ?? 99))
    ) {
      this.firstSeen = { kind, value };
    }
    return placeholder;
  }

  /**
   * An identifier of a person: returns their pseudonym. The id itself is not repeated in every
   * record: the keystore keeps it, encrypted under the person's key, once.
   */
  identifier(id: string): string {
    return this.entry(id).pseudonym;
  }

  /**
   * Close the record: values found without a named subject go to the primary subject, or, when
   * the record names none, to the first personal value found (an e-mail first), which becomes
   * the subject. Returns the record's subject pseudonym and the plaintexts to encrypt.
   */
  finish(): { sub: string | undefined; plans: PiiPlan[] } {
    let primary = this.primary;
    if (primary === undefined && this.primaryValues !== undefined && this.firstSeen !== undefined) {
      primary =
        this.firstSeen.kind === 'email' ? this.firstSeen.value.toLowerCase() : this.firstSeen.value;
    }
    if (primary !== undefined && this.primaryValues !== undefined) {
      const values = this.valuesOf(primary);
      for (const [placeholder, value] of this.primaryValues) values.set(placeholder, value);
    }
    const plans: PiiPlan[] = [];
    if (this.owners !== undefined) {
      for (const [id, values] of this.owners) {
        const entry = this.entry(id);
        plans.push({ pseudonym: entry.pseudonym, key: entry.key, plain: toJson(values) });
      }
      if (plans.length > 1) plans.sort((a, b) => (a.pseudonym < b.pseudonym ? -1 : 1));
    }
    return { sub: primary === undefined ? undefined : this.entry(primary).pseudonym, plans };
  }

  private valuesOf(id: string): Map<string, string> {
    this.owners ??= new Map();
    let values = this.owners.get(id);
    if (values === undefined) {
      values = new Map();
      this.owners.set(id, values);
    }
    return values;
  }

  private entry(id: string): SubjectEntry {
    this.entries ??= new Map();
    let entry = this.entries.get(id);
    if (entry === undefined) {
      entry = this.keys.subject(id);
      this.entries.set(id, entry);
    }
    return entry;
  }
}

/** { key: value } as JSON, keys sorted (placeholders and pseudonyms need no escaping). */
function toJson(values: Map<string, string>): string {
  const keys = [...values.keys()].sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    out += `${i > 0 ? ',' : ''}${quote(k)}:${quote(values.get(k) as string)}`;
  }
  return `${out}}`;
}
