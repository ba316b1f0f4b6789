import type { ServiceConfig } from '../config/resolve.js';
import { asLogsError, LogsError } from '../errors.js';
import type { Ack } from '../store/store.js';
import type { LogCore } from '../log/core.js';
import type { ServiceEvents } from './events.js';
import type { FailureThrottle } from './auth.js';
import type { Sessions } from '../access/sessions.js';
import type { Reads } from './reads.js';
import type { Metrics } from './metrics.js';
import type { Role, TokenBook } from '../access/tokens.js';
import type { Verification } from './verification.js';

/** Who may do what (docs/service.md has the table). */
export const INGEST: readonly Role[] = ['ingest', 'admin'];
export const READERS: readonly Role[] = ['auditor', 'dpo', 'admin'];
export const GDPR: readonly Role[] = ['dpo', 'admin'];
export const ADMIN: readonly Role[] = ['admin'];
/** Roles that see personal values put back (the others see pseudonyms and placeholders). */
export const REVEALING: readonly Role[] = ['dpo', 'admin'];

/** Everything the routes share. */
export interface ServiceContext {
  readonly logs: LogCore;
  readonly tokens: TokenBook;
  readonly config: ServiceConfig;
  /** Queries, single records, counts: from the file store's index or the database. */
  readonly reads: Reads;
  readonly events: ServiceEvents;
  readonly metrics: Metrics;
  readonly health: Health;
  readonly verification: Verification;
  readonly sessions: Sessions;
  readonly throttle: FailureThrottle;
  /** Decrypts personal data for GDPR exports. */
  readonly masterKey: Buffer;
  readonly clock: () => number;
  readonly onError: (err: LogsError) => void;
  /** Every route as registered (method, url, who may use it): for the docs and the tests. */
  readonly routes: Array<{
    readonly method: string;
    readonly url: string;
    readonly roles: readonly Role[] | undefined;
    readonly public: boolean;
  }>;
  /** Open tail streams: each entry ends one (shutdown ends them all). */
  readonly streams: Set<() => void>;
}

/** Errors of a write that say the store cannot take writes now (the disk, or the database). */
const FAILURES: ReadonlySet<string> = new Set([
  'WRITE_FAILED',
  'CHANNEL_FAILED',
  'IO_ERROR',
  'DATABASE_UNAVAILABLE',
]);

/**
 * Readiness: the service is not ready while the writer has failed, while the last durable write
 * failed (only a later durable write makes it ready again: a buffered event accepted into memory
 * proves nothing about the disk), or while the logs' filesystem has less free space than
 * `service.min_free_bytes` (probed at most once a second).
 */
export class Health {
  private failure: LogsError | undefined;
  private probedAt = Number.NEGATIVE_INFINITY;
  private free: number | undefined;

  constructor(
    private readonly logs: LogCore,
    private readonly minFreeBytes: number,
    private readonly freeBytes: () => number | undefined,
    private readonly clock: () => number = Date.now,
  ) {}

  writeFailed(err: unknown): void {
    const e = asLogsError(err);
    if (FAILURES.has(e.code)) this.failure = e;
  }

  /** A write succeeded: when it was durable (synced), the disk is known to take writes again. */
  writeSucceeded(acks: ReadonlyArray<Ack | null>): void {
    if (this.failure === undefined) return;
    const channels = this.logs.config.channels;
    if (acks.some((a) => a !== null && channels[a.channel]?.durability === 'durable'))
      this.failure = undefined;
  }

  /** Why the service is not ready, or undefined when it is. */
  problem(): LogsError | undefined {
    return this.logs.failed ?? this.failure ?? this.diskLow();
  }

  private diskLow(): LogsError | undefined {
    const now = this.clock();
    if (now - this.probedAt >= 1000) {
      this.probedAt = now;
      this.free = this.freeBytes();
    }
    const free = this.free;
    if (free === undefined || free >= this.minFreeBytes) return undefined;
    return new LogsError(
      'DISK_LOW',
      `${mib(free)} free on the logs' filesystem, below service.min_free_bytes (${mib(this.minFreeBytes)})`,
    );
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
