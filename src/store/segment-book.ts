/**
 * What a segment log says, per channel: the segments cut (staging, sealed or deleted) and the
 * legal holds. Both backends keep a segment log in the same signed format (integrity/segment.ts)
 * and read it through this book.
 */
import type { CutEntry, SegmentEntry } from '../integrity/segment.js';
import type { Segment } from './store.js';

/** A legal hold on a channel, as last set or cleared. */
export interface Hold {
  readonly set: boolean;
  readonly reason: string;
  readonly ts: string;
}

/** What the segment log says, per channel. */
export class SegmentBook {
  private readonly byChannel = new Map<string, Segment[]>();
  private readonly holds = new Map<string, Hold>();

  constructor(entries: readonly SegmentEntry[] = []) {
    for (const e of entries) this.apply(e);
  }

  /** Fold one more entry in. Entries that do not fit (a seal of an unknown cut) are ignored. */
  apply(e: SegmentEntry): void {
    if (e.kind === 'hold') {
      this.holds.set(e.channel, { set: e.set, reason: e.reason, ts: e.ts });
      return;
    }
    const list = this.byChannel.get(e.channel) ?? [];
    if (e.kind === 'cut') {
      list.push(segmentOfCut(e));
      this.byChannel.set(e.channel, list);
      return;
    }
    const i = list.findIndex((s) => s.first === e.first && s.last === e.last);
    const s = list[i];
    if (s === undefined) return;
    list[i] =
      e.kind === 'seal'
        ? { ...s, state: 'sealed', file: e.file, size: e.size, sha256: e.sha256 }
        : { ...s, state: 'deleted', file: e.file, sha256: e.sha256 };
  }

  segments(channel: string): readonly Segment[] {
    return this.byChannel.get(channel) ?? [];
  }

  /** The last segment cut from a channel: the active file continues after it. */
  lastCut(channel: string): Segment | undefined {
    const list = this.segments(channel);
    return list[list.length - 1];
  }

  hold(channel: string): Hold | undefined {
    const h = this.holds.get(channel);
    return h?.set === true ? h : undefined;
  }

  channels(): string[] {
    return [...new Set([...this.byChannel.keys(), ...this.holds.keys()])];
  }
}

function segmentOfCut(e: CutEntry): Segment {
  return {
    channel: e.channel,
    first: e.first,
    last: e.last,
    start: e.start,
    head: e.head,
    peaks: e.peaks,
    firstTs: e.first_ts,
    lastTs: e.last_ts,
    bytes: e.bytes,
    state: 'staging',
  };
}
