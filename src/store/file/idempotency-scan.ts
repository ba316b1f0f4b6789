/**
 * The idempotency index rebuilt when the store opens: the keys of the records stored within the
 * window, read back from each channel's newest files (the active file, and the segments whose
 * last record is recent enough), so that a retry after a restart or a crash is answered as it
 * would have been before. Only lines that hold a key are parsed; an encrypted channel's records
 * are opened to find theirs. A file that cannot be read is reported and skipped: it must not
 * keep the logs from opening.
 */
import { LogsError, asLogsError } from '../../errors.js';
import {
  keyringOf,
  openBody,
  type ChannelKeyList,
  type ChannelKeyring,
} from '../../crypto/body-cipher.js';
import { lineHash } from '../../integrity/chain.js';
import { tryParse } from '../../integrity/record-checks.js';
import type { SegmentEntry } from '../../integrity/segment.js';
import { IdempotencyIndex } from './idempotency.js';
import { LogLayout } from './layout.js';
import { SegmentBook } from './segment-log.js';
import { channelSources, scanSource, type Source } from './sources.js';

/** What the rebuild reads. */
export interface IdempotencyScan {
  readonly dir: string;
  readonly logId: string;
  /** The segment log as read at open. */
  readonly segments: readonly SegmentEntry[];
  /** The channels, in the order the store numbers them. */
  readonly channels: readonly string[];
  readonly windowMs: number;
  readonly maxKeys: number;
  /** Needed when a channel is encrypted. */
  readonly channelKeys?: ChannelKeyList | undefined;
  /** Where the window ends (ms since the epoch). */
  readonly now: number;
}

interface Found {
  readonly channel: number;
  readonly key: string;
  readonly seq: number;
  readonly hash: string;
  readonly tsMs: number;
}

// Where a plain record keeps its key (a nested `data` key looks the same: the line is parsed).
const MARK = Buffer.from('"idempotency_key":"');
const SEALED = Buffer.from('{"body":');

/** The index as the stored records make it: the newest `maxKeys` keys within the window. */
export async function rebuildIdempotency(
  o: IdempotencyScan,
  onError: (err: LogsError) => void,
): Promise<IdempotencyIndex> {
  const index = new IdempotencyIndex(o.windowMs, o.maxKeys);
  const layout = new LogLayout(o.dir);
  const book = new SegmentBook(o.segments);
  const ring = o.channelKeys === undefined ? undefined : keyringOf(o.logId, o.channelKeys);
  const since = o.now - o.windowMs;
  let found: Found[] = [];
  for (let c = 0; c < o.channels.length; c++) {
    const sources = channelSources(layout, book, o.channels[c] as string).filter(
      (s) => s.kind !== 'deleted' && (s.segment === undefined || recent(s.segment.lastTs, since)),
    );
    found = found.concat(await channelKeys(sources, c, since, o.maxKeys, ring, onError));
  }
  // In the order they were stored, across channels: the oldest go first when over maxKeys.
  found.sort((a, b) => a.tsMs - b.tsMs || a.channel - b.channel || a.seq - b.seq);
  for (let i = Math.max(0, found.length - o.maxKeys); i < found.length; i++) {
    const f = found[i] as Found;
    index.remember(f.channel, f.key, f.seq, f.hash, f.tsMs);
  }
  return index;
}

function recent(ts: string, since: number): boolean {
  const t = Date.parse(ts);
  return Number.isNaN(t) || t >= since;
}

/**
 * The keys of one channel's sources, at most the newest `maxKeys` of them. Newest file first:
 * once it has found `maxKeys`, the older files hold none the index would keep, and are not
 * read (a busy day's segments are many).
 */
async function channelKeys(
  sources: readonly Source[],
  channel: number,
  since: number,
  maxKeys: number,
  ring: ChannelKeyring | undefined,
  onError: (err: LogsError) => void,
): Promise<Found[]> {
  const parts: Found[][] = [];
  let count = 0;
  for (let i = sources.length - 1; i >= 0 && count < maxKeys; i--) {
    const source = sources[i] as Source;
    const found: Found[] = [];
    try {
      await scanSource(source, (bytes) => {
        const f = keyOf(bytes, channel, since, ring);
        if (f === undefined) return;
        found.push(f);
        if (found.length >= 2 * maxKeys) found.splice(0, maxKeys); // bounded, amortized
      });
    } catch (err) {
      onError(
        new LogsError(
          'IO_ERROR',
          `${source.rel}: its idempotency keys could not be read back (${asLogsError(err).message}); a retry of one of its records would be stored again`,
        ),
      );
    }
    parts.unshift(found);
    count += found.length;
  }
  const out = parts.flat();
  return out.length > maxKeys ? out.slice(out.length - maxKeys) : out;
}

/** The key a stored line carries, when it has one and is within the window. */
function keyOf(
  bytes: Buffer,
  channel: number,
  since: number,
  ring: ChannelKeyring | undefined,
): Found | undefined {
  let rec: Record<string, unknown> | undefined;
  if (bytes.subarray(0, SEALED.length).equals(SEALED)) {
    const outer = tryParse(bytes); // damage is verify's to report
    // The time is readable: a record older than the window is not opened.
    if (ring === undefined || outer === undefined || !(tsOf(outer) >= since)) return undefined;
    const opened = openBody(outer, ring);
    if (!opened.ok) return undefined;
    rec = opened.record;
  } else {
    if (bytes.indexOf(MARK) === -1) return undefined;
    rec = tryParse(bytes);
  }
  const key = rec?.idempotency_key;
  const seq = rec?.seq;
  if (rec === undefined || typeof key !== 'string' || !Number.isSafeInteger(seq)) return undefined;
  const tsMs = tsOf(rec);
  const hash = lineHash(bytes);
  if (!(tsMs >= since) || hash === undefined) return undefined;
  return { channel, key, seq: seq as number, hash, tsMs };
}

function tsOf(rec: Record<string, unknown>): number {
  return typeof rec.ts === 'string' ? Date.parse(rec.ts) : NaN;
}
