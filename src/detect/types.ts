import type { RecordRef } from './window.js';

/** A stored record as the detectors see it: readable fields, and personal values on demand. */
export interface Observed {
  readonly channel: string;
  readonly seq: number;
  /** The record's time, ms since the epoch. */
  readonly ts: number;
  readonly event: string;
  readonly level: string;
  readonly outcome: string | undefined;
  /** Who acted: the actor's id as stored (a pseudonym for people), else the record's subject. */
  readonly account: string | undefined;
  /** By how many ms the writer's clock had gone back (`ts_skew_ms`), 0 when it had not. */
  readonly skewMs: number;
  /** The record as stored (bodies opened; personal values are placeholders). */
  readonly record: Readonly<Record<string, unknown>>;
  /** The client address (actor.ip, data.ip or data.address, decrypted): read only when needed. */
  address(): string | undefined;
  /** A top-level or `data.` field, decrypted when it is a personal value. */
  field(path: string): string | undefined;
}

/** What a detector reads: records of these event types (globs) or outcomes, or all of them. */
export interface Interest {
  readonly events: readonly string[];
  readonly outcomes: readonly string[];
  /** Every record (a user rule whose filter names no event prefix or outcome). */
  readonly all: boolean;
}

/** A detection, before it is written as an `alert.*` security event and sent. */
export interface AlertDraft {
  /** The detector (failed_logins, tampering, rule:<name>...). */
  readonly detector: string;
  /** The alert's kind: the event type is `alert.<type>`. */
  readonly type: string;
  readonly message: string;
  /**
   * What the alert is about: an account (its pseudonym), an address (a keyed digest of it,
   * `addr_...`, the same for one address across alerts), a channel...: never a personal value.
   */
  readonly group?: { readonly by: string; readonly value: string };
  readonly count?: number;
  readonly windowMs?: number;
  /** The records that triggered it: by reference. */
  readonly evidence: readonly RecordRef[];
  /** Facts without personal data: a jump in ms, a channel, a damage kind... */
  readonly details?: Readonly<Record<string, string | number | boolean>>;
}

export interface Detector {
  readonly name: string;
  readonly interest: Interest;
  observe(r: Observed): AlertDraft[];
}

/** Replace a personal value by a digest keyed with the log's own key (`addr_<hex>`). */
export type Tokenize = (kind: string, value: string) => string;
