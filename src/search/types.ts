/** The shapes the index works with (rows, positions, segments), shared by its modules. */

/** Why an index was (re)created from nothing. */
export type RecreateReason =
  | 'missing' // there was no index
  | 'version' // built by another schema version
  | 'corrupt' // SQLite could not read it, or tables are missing
  | 'other_log' // built from another log (another log id)
  | 'replaced' // the log no longer has what was indexed: it was replaced or rewritten
  | 'rebuild'; // asked for

/** How far a channel is indexed. */
export interface ChannelState {
  readonly channel: string;
  readonly channelNo: number;
  /** Every record of the log up to this seq is indexed (0: none yet). */
  readonly indexedSeq: number;
  /** Chain hash of the record at indexedSeq (or the head of the deleted segment ending there). */
  readonly lastHash: Buffer | undefined;
  /** First seq of the segment holding indexedSeq's line, and where that line starts and ends. */
  readonly segFirst: number | undefined;
  readonly lastOffset: number | undefined;
  readonly nextOffset: number | undefined;
}

/** Where a channel's indexing stands after a batch. */
export interface Position {
  readonly indexedSeq: number;
  readonly lastHash: Buffer;
  readonly segFirst: number;
  readonly lastOffset: number | undefined;
  readonly nextOffset: number | undefined;
}

/** One record, as the index keeps it (stored form only). */
export interface IndexRow {
  readonly seq: number;
  readonly tsMs: number;
  readonly levelRank: number;
  readonly event: string;
  readonly outcome: string | undefined;
  readonly sub: string | undefined;
  readonly requestId: string | undefined;
  readonly actorRef: string | undefined;
  readonly targetRef: string | undefined;
  readonly lineOffset: number;
  readonly hash: Buffer;
  readonly msg: string | undefined;
}

/** A segment of a channel as the index records it. `last` is undefined for the active file. */
export interface SegmentRow {
  readonly first: number;
  readonly last: number | undefined;
  readonly kind: 'active' | 'staging' | 'sealed' | 'deleted';
  /** Relative to the logs directory. */
  readonly file: string;
}
