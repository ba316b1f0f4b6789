/**
 * The idempotency keys the file store remembers: per channel and key, the seq and hash of the
 * record that carried it, so that a retry is answered with the first answer and nothing is
 * stored twice. One index for all channels, in the order records were sequenced, bounded in
 * time (`idempotency.window_ms`) and in number (`idempotency.max_keys`: the oldest go first).
 * It lives in the sequencer thread, where seqs are assigned, so two records with one key can
 * never both be stored; it is rebuilt from the records when the store opens
 * (idempotency-scan.ts): the key is part of the record, covered by the chain, so it survives a
 * crash exactly when the record does.
 */

/** The record a key was stored with. */
export interface SeenKey {
  readonly seq: number;
  readonly hash: string;
}

/** What a channel's writer sees of the index. */
export interface ChannelKeys {
  /** The record stored with `key` within the window before `tsMs`, if any. */
  find(key: string, tsMs: number): SeenKey | undefined;
  /** A record was sequenced with `key` at `tsMs`. */
  remember(key: string, seq: number, hash: string, tsMs: number): void;
  /** The records after `seq` were undone (a failed write): their keys were never stored. */
  forgetAfter(seq: number): void;
}

interface Entry extends SeenKey {
  readonly channel: number;
  readonly tsMs: number;
}

/** The keys of every channel of a store (see the top of this file). */
export class IdempotencyIndex {
  // `<channel>\0<key>` → its record, oldest first (a Map keeps the order of insertion).
  private readonly entries = new Map<string, Entry>();

  constructor(
    readonly windowMs: number,
    readonly maxKeys: number,
  ) {}

  /** Keys remembered now. */
  get size(): number {
    return this.entries.size;
  }

  /** The index as channel number `channel`'s writer uses it. */
  channel(channel: number): ChannelKeys {
    return {
      find: (key, tsMs) => this.find(channel, key, tsMs),
      remember: (key, seq, hash, tsMs) => {
        this.remember(channel, key, seq, hash, tsMs);
      },
      forgetAfter: (seq) => {
        this.forgetAfter(channel, seq);
      },
    };
  }

  find(channel: number, key: string, tsMs: number): SeenKey | undefined {
    const limit = tsMs - this.windowMs;
    this.expire(limit);
    const e = this.entries.get(`${channel}\0${key}`);
    // Channels' clocks interleave: an entry behind a younger one may be past the window.
    return e === undefined || e.tsMs < limit ? undefined : e;
  }

  remember(channel: number, key: string, seq: number, hash: string, tsMs: number): void {
    const id = `${channel}\0${key}`;
    this.entries.delete(id); // stored again once past its window: it moves to the end
    this.entries.set(id, { channel, seq, hash, tsMs });
    if (this.entries.size > this.maxKeys) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
  }

  /** A walk over every key: only after a failed write, which is rare. */
  forgetAfter(channel: number, seq: number): void {
    for (const [id, e] of this.entries)
      if (e.channel === channel && e.seq > seq) this.entries.delete(id);
  }

  private expire(limit: number): void {
    for (const [id, e] of this.entries) {
      if (e.tsMs >= limit) return;
      this.entries.delete(id);
    }
  }
}
