import type { ChannelKey } from '../crypto/body-cipher.js';
import type { Config } from '../config/resolve.js';
import type { LogsError } from '../errors.js';
import type { EventInput } from '../event/record.js';
import type { Ack, Store } from '../store/store.js';
import type { WriteOptions } from './logs.js';

/**
 * What the capabilities of the open logs (lifecycle-ops.ts, key-admin.ts, recorders.ts) need
 * of the core that hands them out: its store and settings, its checks, and its write paths.
 */
export interface CoreAccess {
  readonly store: Store;
  readonly config: Config;
  readonly clock: () => number;
  readonly onError: (err: LogsError) => void;
  /** close() has begun. */
  readonly closing: boolean;
  hasChannel(name: string): boolean;
  /** Throws EVENT_CHANNEL_UNKNOWN for a channel that is not configured. */
  assertChannel(name: string): void;
  audit(event: EventInput): Promise<Ack>;
  emit(input: EventInput): void;
  /** Write an event of a reserved type (the recorders' path): no reserved-type check. */
  writeInternal(input: EventInput, options: WriteOptions): Promise<Ack | null>;
  /** A channel key the live index must know (after a key rotation). */
  addIndexKey(channel: string, key: ChannelKey): void;
}
