import type { ServiceConfig } from '../config/resolve.js';
import { asLogsError, type LogsError } from '../errors.js';
import type { LogCore } from '../log/core.js';
import type { ServiceEvents } from './events.js';
import type { FailureThrottle } from './auth.js';
import type { Sessions } from '../access/sessions.js';
import type { IndexAccess } from './index-access.js';
import type { Metrics } from './metrics.js';
import type { Role, TokenStore } from '../access/tokens.js';
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
  readonly tokens: TokenStore;
  readonly config: ServiceConfig;
  readonly index: IndexAccess;
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

/**
 * Readiness: the service is not ready while the writer has failed or the last write to disk
 * failed (a later successful write makes it ready again).
 */
export class Health {
  private failure: LogsError | undefined;

  constructor(private readonly logs: LogCore) {}

  writeFailed(err: unknown): void {
    const e = asLogsError(err);
    if (e.code === 'WRITE_FAILED' || e.code === 'CHANNEL_FAILED' || e.code === 'IO_ERROR')
      this.failure = e;
  }

  writeSucceeded(): void {
    this.failure = undefined;
  }

  /** Why the service is not ready, or undefined when it is. */
  problem(): LogsError | undefined {
    return this.logs.failed ?? this.failure;
  }
}
