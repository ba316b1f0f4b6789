/** The values a channel's writer exchanges with the rest of the program. */

/** Where a channel stands: enough to resume it or to checkpoint it. */
export interface ChannelState {
  /** seq of the last record (0 when empty). */
  readonly seq: number;
  /** Chain hash of the last record (hash_0 when empty). */
  readonly head: string;
  /** File size after the last record. */
  readonly offset: number;
}

/** Counters of one channel since it was opened (for metrics, and to see group commit work). */
export interface ChannelStats {
  records: number;
  bytes: number;
  /** write(2) batches. */
  writes: number;
  /** fdatasync calls. */
  syncs: number;
}

/** What a caller gets back once its record is stored. */
export interface Ack {
  readonly channel: string;
  readonly seq: number;
  readonly hash: string;
}
