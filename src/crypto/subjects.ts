// The subject keystore's face as the rest of the code sees it (crypto/keystore.ts implements it).

/** A person's entry in the keystore: a random pseudonym and a random 256-bit data key. */
export interface SubjectEntry {
  readonly pseudonym: string;
  readonly key: Buffer;
}

/** The keystore as classification sees it: look a person up, creating them on first sight. */
export interface SubjectKeys {
  subject(id: string): SubjectEntry;
}

/** The keystore as a reader allowed to see personal data sees it. */
export interface SubjectLookup {
  /** The data key behind a pseudonym, if the person has not been erased. */
  keyOf(pseudonym: string): Buffer | undefined;
  /** The id behind a pseudonym, if the person has not been erased. */
  idOf(pseudonym: string): string | undefined;
}
