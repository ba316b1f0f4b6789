/**
 * What the store conformance suite needs of a backend under test: a fresh, empty store it can
 * open and reopen, a way for a child process to open the same store (the crash case), and hooks
 * for what only the backend knows how to do behind the store's back (tampering). The file
 * backend implements them on a temporary directory; a PostgreSQL one would on a fresh schema.
 */
import assert from 'node:assert/strict';
import type { LogsError } from '../../src/errors.js';
import type { Store } from '../../src/store/store.js';

/**
 * How records are changed behind the store's back, as by someone with write access to its
 * storage but no key: `edit` changes one character of a record's `msg` (the file: a byte in
 * place; a database: an UPDATE), `delete` removes one record from the middle, `truncate` removes
 * the last record (`seq` is the last one).
 */
export type TamperKind = 'edit' | 'delete' | 'truncate';

export interface Tamper {
  readonly kind: TamperKind;
  readonly channel: string;
  readonly seq: number;
}

/** How `crash-child.js` opens the same store in another process. */
export interface ChildSpec {
  /**
   * Absolute path of a compiled module exporting
   * `openChildStore(spec: string, masterKey: Buffer): Promise<Store>`.
   */
  readonly module: string;
  /** Passed to openChildStore as is (a directory, a connection string...). */
  readonly spec: string;
  /** More environment for the child (the master key is passed as DIHYA_LOGS_MASTER_KEY). */
  readonly env: Readonly<Record<string, string>>;
}

/** Configuration a case opens the store with, as in `dihya-logs.yaml`. */
export interface OpenSettings {
  readonly idempotency?: { readonly window_ms?: number; readonly max_keys?: number };
}

/** One fresh store of a backend, initialized and empty. */
export interface StoreFixture {
  /**
   * Open the store for writing, configured with the default channels (`audit`, durable, and
   * `app`, buffered, neither encrypted; `security`, durable and encrypted), and `settings` over
   * the defaults. One writer at a time: close the last one first.
   */
  open(settings?: OpenSettings): Promise<Store>;
  /** The master key the store is opened with. */
  readonly masterKey: Buffer;
  /** Failures reported with no caller waiting (the stores' onError), in order. */
  readonly errors: readonly LogsError[];
  readonly child: ChildSpec;
  /**
   * Change stored records behind the writer's back (it may be open; its records are flushed).
   * Absent: the tamper cases are not run for this backend.
   */
  readonly tamper?: (t: Tamper) => Promise<void>;
  /** Close what is still open and remove what create() made. */
  dispose(): Promise<void>;
}

export interface StoreBackend {
  create(): Promise<StoreFixture>;
}

/** Run `fn` on a fresh store of the backend; what it leaves open is closed afterwards. */
export async function withFixture(
  backend: StoreBackend,
  fn: (f: StoreFixture) => Promise<void>,
): Promise<void> {
  const f = await backend.create();
  try {
    await fn(f);
  } finally {
    await f.dispose();
  }
}

/** Nothing went wrong that no caller was told of. */
export function assertNoErrors(f: StoreFixture): void {
  assert.deepEqual(
    f.errors.map((e) => `${e.code}: ${e.message}`),
    [],
  );
}
