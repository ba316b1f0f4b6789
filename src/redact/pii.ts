import { canonicalize } from '../event/canonical.js';

/** A person's entry in the keystore: a random pseudonym and a random 256-bit data key. */
export interface SubjectEntry {
  readonly pseudonym: string;
  readonly key: Buffer;
}

/** The keystore as classification sees it: look a person up, creating them on first sight. */
export interface SubjectKeys {
  subject(id: string): SubjectEntry;
}

/** One person's personal values in one record, to be encrypted under their key. */
export interface PiiPlan {
  readonly pseudonym: string;
  readonly key: Buffer;
  /** Canonical JSON of { placeholder-or-pseudonym: value }. */
  readonly plain: string;
}

// Kinds a record's subject can be inferred from when nothing names one, most telling first.
const INFER_ORDER = ['email', 'phone', 'national_id', 'nir', 'iban', 'ip'];

/**
 * Personal data met while classifying one record. Values are replaced by placeholders
 * (`[email#1]`, the same value always the same placeholder) and grouped by the person they
 * belong to; identifiers of people become their pseudonyms. At the end, each person's values
 * form one plaintext to encrypt under that person's key.
 */
export class PiiContext {
  private readonly owners = new Map<string, Map<string, string>>(); // subject id → placeholder → value
  private readonly placeholders = new Map<string, string>(); // kind \0 value → placeholder
  private readonly counts = new Map<string, number>();
  private readonly entries = new Map<string, SubjectEntry>();
  private firstSeen: { kind: string; value: string } | undefined;
  private readonly primaryValues = new Map<string, string>(); // collected before a primary is known
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
    let placeholder = this.placeholders.get(key);
    if (placeholder === undefined) {
      const n = (this.counts.get(kind) ?? 0) + 1;
      this.counts.set(kind, n);
      placeholder = `[${kind}#${n}]`;
      this.placeholders.set(key, placeholder);
      if (owner === undefined) {
        this.primaryValues.set(placeholder, value);
        if (
          this.firstSeen === undefined ||
          INFER_ORDER.indexOf(kind) < INFER_ORDER.indexOf(this.firstSeen.kind)
        ) {
          if (INFER_ORDER.includes(kind)) this.firstSeen = { kind, value };
        }
      } else {
        this.valuesOf(owner).set(placeholder, value);
      }
    }
    return placeholder;
  }

  /** An identifier of a person: returns their pseudonym; their plaintext maps it back to the id. */
  identifier(id: string): string {
    const entry = this.entry(id);
    this.valuesOf(id).set(entry.pseudonym, id);
    return entry.pseudonym;
  }

  /**
   * Close the record: values found without a named subject go to the primary subject, or, when
   * the record names none, to the first personal value found (an email first), which becomes
   * the subject. Returns the record's subject pseudonym and the plaintexts to encrypt.
   */
  finish(): { sub: string | undefined; plans: PiiPlan[] } {
    let primary = this.primary;
    if (primary === undefined && this.primaryValues.size > 0 && this.firstSeen !== undefined) {
      primary = this.firstSeen.value;
    }
    if (primary !== undefined && this.primaryValues.size > 0) {
      const values = this.valuesOf(primary);
      for (const [placeholder, value] of this.primaryValues) values.set(placeholder, value);
    }
    if (primary !== undefined) this.identifier(primary);
    const plans: PiiPlan[] = [];
    for (const [id, values] of this.owners) {
      const entry = this.entry(id);
      plans.push({
        pseudonym: entry.pseudonym,
        key: entry.key,
        plain: canonicalize(Object.fromEntries(values)),
      });
    }
    plans.sort((a, b) => (a.pseudonym < b.pseudonym ? -1 : 1));
    return { sub: primary === undefined ? undefined : this.entry(primary).pseudonym, plans };
  }

  private valuesOf(id: string): Map<string, string> {
    let values = this.owners.get(id);
    if (values === undefined) {
      values = new Map();
      this.owners.set(id, values);
    }
    return values;
  }

  private entry(id: string): SubjectEntry {
    let entry = this.entries.get(id);
    if (entry === undefined) {
      entry = this.keys.subject(id);
      this.entries.set(id, entry);
    }
    return entry;
  }
}
