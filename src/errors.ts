/**
 * Typed errors. Every error the library, the CLI or (later) the service reports carries a
 * stable `code` from the table below; the table maps each code to an HTTP status and a CLI exit
 * code, so every surface reports the same failure the same way. `docs/errors.md` lists them.
 */

interface ErrorSpec {
  /** HTTP status the service answers with. */
  readonly http: number;
  /** Exit code of the CLI: 1 = the operation failed, 2 = usage, input or configuration. */
  readonly exit: 1 | 2;
  /** One sentence for the documentation. */
  readonly summary: string;
}

export const ERROR_CODES = {
  USAGE: { http: 400, exit: 2, summary: 'The command line or the request is malformed.' },
  CONFIG_INVALID: {
    http: 500,
    exit: 2,
    summary: 'The configuration file or an override is invalid; the message names the key.',
  },
  CONFIG_NOT_FOUND: { http: 500, exit: 2, summary: 'The configuration file given does not exist.' },
  EVENT_INVALID: {
    http: 400,
    exit: 2,
    summary: 'An event field has the wrong type or form; the message names the field.',
  },
  EVENT_LEVEL_UNKNOWN: { http: 400, exit: 2, summary: 'The level is not one of the seven levels.' },
  EVENT_CHANNEL_UNKNOWN: {
    http: 400,
    exit: 2,
    summary: 'The channel name is malformed or not configured.',
  },
  EVENT_TOO_LARGE: {
    http: 413,
    exit: 2,
    summary: 'The serialized record exceeds the size limit (64 KiB by default).',
  },
  EVENT_TOO_DEEP: {
    http: 400,
    exit: 2,
    summary: 'The event nests objects or arrays deeper than the limit (32 by default).',
  },
  EVENT_NON_FINITE: { http: 400, exit: 2, summary: 'The event holds NaN or an infinite number.' },
  EVENT_FIELD_RESERVED: {
    http: 400,
    exit: 2,
    summary: 'The event sets a field only the writer may set (seq, ts, hash, sub, pii).',
  },
  LOGS_NOT_INITIALIZED: {
    http: 500,
    exit: 2,
    summary: 'The directory is not an initialized logs directory (run `dihya-logs init`).',
  },
  LOGS_ALREADY_INITIALIZED: {
    http: 409,
    exit: 2,
    summary: 'init was asked to create a logs directory that already exists.',
  },
  LOGS_LOCKED: {
    http: 409,
    exit: 1,
    summary: 'Another process owns the logs directory; the message names it.',
  },
  LOGS_CLOSED: { http: 503, exit: 1, summary: 'The logs were closed; nothing more is accepted.' },
  MASTER_KEY_MISSING: {
    http: 500,
    exit: 2,
    summary: 'No master key: set DIHYA_LOGS_MASTER_KEY or give a key file.',
  },
  MASTER_KEY_INVALID: {
    http: 500,
    exit: 2,
    summary: 'The master key is not base64 of 32 bytes, or the key file is unsafe.',
  },
  MASTER_KEY_WRONG: {
    http: 500,
    exit: 2,
    summary: 'The master key does not open this log directory’s keys.',
  },
  PUBLIC_KEY_INVALID: {
    http: 400,
    exit: 2,
    summary: 'A public key is not of the form "ed25519:<base64 of 32 bytes>".',
  },
  PATH_UNSAFE: {
    http: 400,
    exit: 2,
    summary: 'A path is refused: it escapes where it must stay, or sits where it must not.',
  },
  INTEGRITY_STATE: {
    http: 500,
    exit: 1,
    summary: 'The on-disk state contradicts the signed checkpoints; run `dihya-logs verify`.',
  },
  DISK_LOW: {
    http: 503,
    exit: 1,
    summary:
      'Free space on the logs’ filesystem is below `service.min_free_bytes`: the service reports not ready (`/readyz`) before the disk refuses writes.',
  },
  DATABASE_UNAVAILABLE: {
    http: 503,
    exit: 1,
    summary:
      'The PostgreSQL store cannot reach its database, or the database refused the write; nothing was acknowledged (retry with an Idempotency-Key).',
  },
  SCHEMA_TOO_NEW: {
    http: 500,
    exit: 1,
    summary:
      'The PostgreSQL schema was migrated by a newer dihya-logs than this one: upgrade before starting.',
  },
  STORE_UNSUPPORTED: {
    http: 501,
    exit: 1,
    summary: 'The configured store does not offer this operation yet (the message says which).',
  },
  WRITE_FAILED: {
    http: 503,
    exit: 1,
    summary: 'The disk refused a write or a sync; the records of that write were not stored.',
  },
  CHANNEL_FAILED: {
    http: 503,
    exit: 1,
    summary: 'A channel stopped accepting records after a failed sync (fail closed); reopen it.',
  },
  CLOCK_BACKWARDS: {
    http: 500,
    exit: 1,
    summary: 'The wall clock went back; records keep their order by seq and carry ts_skew_ms.',
  },
  // 503: the disk, not the request nor a bug; a retry later (or elsewhere) may succeed.
  IO_ERROR: { http: 503, exit: 1, summary: 'A file operation failed.' },
  CHANNEL_UNKNOWN: {
    http: 404,
    exit: 2,
    summary: 'No channel of that name is configured in this logs directory.',
  },
  SEGMENT_UNKNOWN: {
    http: 404,
    exit: 1,
    summary: 'The segment log names no sealed segment with that range.',
  },
  RETENTION_MINIMUM: {
    http: 409,
    exit: 1,
    summary:
      'The archive is younger than its channel’s minimum retention; it cannot be deleted yet.',
  },
  RETENTION_HOLD: {
    http: 409,
    exit: 1,
    summary:
      'A legal hold suspends deletion in this channel; clear it first (`dihya-logs hold clear`).',
  },
  QUERY_CURSOR_INVALID: {
    http: 400,
    exit: 2,
    summary: 'The pagination cursor is not one this log gave out (or it was altered).',
  },
  PROOF_UNAVAILABLE: {
    http: 409,
    exit: 1,
    summary:
      'The index (or a database store’s leaf table) does not hold the Merkle leaves this proof needs (after a gap, or damaged).',
  },
  TILE_UNAVAILABLE: {
    http: 404,
    exit: 1,
    summary:
      'The index does not hold the Merkle leaves this tile needs (past the indexed records, or indexed after a gap).',
  },
  AUTH_REQUIRED: {
    http: 401,
    exit: 2,
    summary: 'The request has no bearer token (Authorization: Bearer ...) or session.',
  },
  AUTH_INVALID: {
    http: 401,
    exit: 2,
    summary: 'The token is unknown, revoked or expired.',
  },
  AUTH_THROTTLED: {
    http: 429,
    exit: 1,
    summary: 'Too many failed sign-ins from this address; wait before trying again.',
  },
  FORBIDDEN: {
    http: 403,
    exit: 2,
    summary: 'The token’s role does not allow this request.',
  },
  NOT_FOUND: { http: 404, exit: 2, summary: 'No such route, record, request or token.' },
  TOKEN_ALREADY_REVOKED: {
    http: 409,
    exit: 2,
    summary: 'The token was already revoked; nothing was changed or recorded.',
  },
  BODY_TOO_LARGE: {
    http: 413,
    exit: 2,
    summary: 'The request body is over the limit (1 MiB by default); split the batch.',
  },
  BATCH_TOO_LARGE: {
    http: 413,
    exit: 2,
    summary: 'The request holds more events than allowed (1,000 by default); split it.',
  },
  IDEMPOTENCY_KEY_INVALID: {
    http: 400,
    exit: 2,
    summary:
      'The Idempotency-Key header is not one of 1-128 visible ASCII characters, too long for the batch, or holds what looks like a secret or personal data.',
  },
  MEDIA_TYPE_UNSUPPORTED: {
    http: 415,
    exit: 2,
    summary: 'The Content-Type is not one this route accepts.',
  },
  REQUEST_TIMEOUT: {
    http: 408,
    exit: 1,
    summary: 'The client sent its request too slowly; the connection was closed.',
  },
  JOB_FAILED: {
    http: 500,
    exit: 1,
    summary: 'A scheduled job or a script run failed; its scheduler events say why.',
  },
  // Signed notes, checkpoints and cosignatures (c2sp.org), and the witness that speaks them.
  NOTE_MALFORMED: {
    http: 400,
    exit: 2,
    summary: 'A signed note, checkpoint, cosignature or witness request is not in its exact form.',
  },
  NOTE_KEY_INVALID: {
    http: 400,
    exit: 2,
    summary:
      'A note signer or verifier key is malformed, or two configured keys share a name and id.',
  },
  NOTE_SIGNATURE: {
    http: 403,
    exit: 1,
    summary: 'No trusted key signed the note, or a signature from a trusted key does not verify.',
  },
  WITNESS_ORIGIN_UNKNOWN: {
    http: 404,
    exit: 2,
    summary: 'The witness is not configured for the checkpoint’s origin.',
  },
  WITNESS_OLD_SIZE: {
    http: 409,
    exit: 1,
    summary: 'The old size is not the size the witness last cosigned for that log.',
  },
  WITNESS_INCONSISTENT: {
    http: 422,
    exit: 1,
    summary: 'The checkpoint is not consistent with what the witness last cosigned for that log.',
  },
  WITNESS_STATE_INVALID: {
    http: 500,
    exit: 1,
    summary: 'A witness state file is unreadable or altered; the witness refuses that log.',
  },
  // Offline receipts (c2sp.org/tlog-proof): what an auditor is handed, so hostile input.
  RECEIPT_INVALID: {
    http: 422,
    exit: 1,
    summary: 'A receipt is malformed, or does not verify against the keys given.',
  },
  INTERNAL: {
    http: 500,
    exit: 1,
    summary: 'A bug: please report it with the message and the --debug output.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error with a stable code. `details` must never hold secrets or personal data. */
export class LogsError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: C,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LogsError';
    this.code = code;
    this.details =
      options.details === undefined ? undefined : Object.freeze({ ...options.details });
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }

  get exitCode(): 1 | 2 {
    return ERROR_CODES[this.code].exit;
  }
}

export function isLogsError(value: unknown): value is LogsError {
  return value instanceof LogsError;
}

/** Wrap an unexpected error (a failed syscall, a bug) without losing it. */
export function asLogsError(err: unknown, fallback: ErrorCode = 'INTERNAL'): LogsError {
  if (err instanceof LogsError) return err as LogsError;
  const sys = err as NodeJS.ErrnoException | undefined;
  if (sys && typeof sys.code === 'string' && typeof sys.syscall === 'string') {
    // The message of a system error names the path, never record content.
    return new LogsError('IO_ERROR', sys.message, { cause: err });
  }
  return new LogsError(fallback, err instanceof Error ? err.message : String(err), { cause: err });
}
