import type { Command } from 'commander';
import { LogsError } from '../errors.js';
import type { LogRecord } from '../event/record.js';
import {
  FileFollower,
  LogLayout,
  channelSources,
  readMeta,
  readSegmentBook,
  scanSource,
  type SegmentBook,
  type Source,
} from '../store/file/index.js';
import { existsSync } from 'node:fs';
import { withIndex } from '../search/index.js';
import { recordMatcher, type QueryFilter } from '../query/filter.js';
import { runQuery } from '../query/query.js';
import { MAX_LIMIT } from '../query/search.js';
import { configFor, type Io } from './context.js';
import {
  cliFilter,
  filterOptions,
  needsKeystore,
  openKeystore,
  openKeystoreIfKey,
  type FilterFlags,
} from './query.js';
import { escapeTerminal, formatRecord } from './terminal.js';
import { isSealedRecord, openBody, type ChannelKeyring } from '../crypto/body-cipher.js';
import type { Keystore } from '../crypto/keystore.js';
import { MASTER_KEY_ENV } from '../crypto/masterkey.js';
import type { SubjectLookup } from '../crypto/subjects.js';
import { revealOrStored } from '../pipeline/reveal.js';
import type { LogMeta } from '../store/file/index.js';

interface TailOptions extends FilterFlags {
  readonly n: string;
  readonly follow?: boolean;
  readonly format?: string;
  readonly interval: string;
  readonly stored?: boolean;
}

export function registerTail(program: Command, io: Io): void {
  filterOptions(
    program
      .command('tail')
      .description(
        'print the last records (all channels merged by time), and with -f the new ones as they come; the filters of query apply to both',
      ),
  )
    .option(
      '-n, --lines <n>',
      'records to print first: the last n of all the channels shown, merged by time',
      '10',
    )
    .option('-f, --follow', 'keep printing records as they are written')
    .option('--format <format>', 'pretty (default on a terminal) or ndjson (the stored lines)')
    .option('--interval <ms>', 'polling interval with -f', '250')
    .option('--stored', 'show records as stored: personal values stay encrypted')
    .action(async (opts: TailOptions & { lines: string }, cmd: Command) => {
      await runTail({ ...opts, n: opts.lines }, cmd, io);
    });
}

async function runTail(opts: TailOptions, cmd: Command, io: Io): Promise<void> {
  const n = positiveInt(opts.n, '-n');
  const interval = positiveInt(opts.interval, '--interval');
  const format = opts.format ?? (io.isTTY ? 'pretty' : 'ndjson');
  if (format !== 'pretty' && format !== 'ndjson')
    throw new LogsError('USAGE', '--format: expected pretty or ndjson');
  const layout = new LogLayout(configFor(cmd).dir);
  const meta = readMeta(layout);
  const filtered = hasFilter(opts);
  const keystore = needsKeystore(opts)
    ? openKeystore(cmd, layout, meta)
    : openKeystoreIfKey(cmd, layout, meta);
  try {
    await tailWith(opts, cmd, io, { n, interval, format, layout, meta, filtered, keystore });
  } finally {
    keystore?.close();
  }
}

interface TailSetup {
  readonly n: number;
  readonly interval: number;
  readonly format: 'pretty' | 'ndjson';
  readonly layout: LogLayout;
  readonly meta: LogMeta;
  readonly filtered: boolean;
  readonly keystore: Keystore | undefined;
}

async function tailWith(opts: TailOptions, cmd: Command, io: Io, setup: TailSetup): Promise<void> {
  const { n, interval, format, layout, meta, filtered, keystore } = setup;
  const filter = cliFilter(opts, meta, keystore, io);
  // Encrypted channels are shown opened when the master key is at hand; a key made by
  // `keys rotate` while following is read when a record needs it.
  let ring = keystore?.channelKeyring();
  // Personal values are put back as query puts them back (the same keystore), unless --stored.
  const revealer = opts.stored === true ? undefined : keystore;
  const seen = { sealed: false };
  // Records opened or revealed here: printed as JSON, not as their stored line.
  const changed = new WeakSet<object>();
  const parse = (line: Buffer): LogRecord | undefined => {
    let r = parseLine(line);
    if (r !== undefined && isSealedRecord(r)) {
      let opened = openBody(r, ring);
      if (!opened.ok && opened.why === 'locked' && ring !== undefined) {
        const again = openKeystoreIfKey(cmd, layout, meta);
        ring = again?.channelKeyring();
        again?.close();
        opened = openBody(r, ring);
      }
      if (opened.ok) {
        r = opened.record;
        changed.add(r);
      }
    }
    if (r === undefined || r.pii === undefined) return r as LogRecord | undefined;
    if (revealer === undefined) {
      seen.sealed = true;
      return r as unknown as LogRecord;
    }
    const shown = revealOrStored(r, revealer, meta.log_id);
    changed.add(shown);
    return shown as unknown as LogRecord;
  };
  const channels = filter.channels ?? [...meta.channels];
  const matches = recordMatcher(filter);
  const print = printer(format, io, changed);
  const followers = new Map<string, FileFollower>();
  const first: Array<{ line: Buffer; rec: LogRecord | undefined }> = [];
  if (filtered) {
    // The last n matching records may be anywhere in the log: ask the index. Followers start
    // first, so nothing written meanwhile is missed; what both see is printed once (by seq).
    for (const c of channels)
      followers.set(c, FileFollower.fromTail(layout.channelFile(c), 0).follower);
    if (n > 0) first.push(...(await lastMatching(layout, meta.log_id, filter, n, ring, revealer)));
  } else {
    const book = readSegmentBook(layout, meta.log_id);
    for (const c of channels) {
      const { follower, lines } = FileFollower.fromTail(layout.channelFile(c), n);
      followers.set(c, follower);
      // Fewer than n in the active file (just rotated): the rest from the segments before it.
      const older = lines.length < n ? await lastOfSegments(layout, book, c, n - lines.length) : [];
      for (const line of [...older, ...lines]) first.push({ line, rec: parse(line) });
    }
  }
  first.sort(byTime);
  const shown = new Map<string, number>();
  // The last n of each channel hold the last n of all: keep those (as tail users expect).
  for (const { line, rec } of n === 0 ? [] : first.slice(-n)) {
    print(line, rec);
    if (rec !== undefined) shown.set(rec.channel, Math.max(shown.get(rec.channel) ?? 0, rec.seq));
  }
  if (seen.sealed && opts.stored !== true)
    io.err(
      `note: personal values stay encrypted: no master key (--key-file or ${MASTER_KEY_ENV})\n`,
    );
  if (opts.follow !== true) {
    for (const f of followers.values()) f.close();
    return;
  }
  await followUntilStopped(followers, interval, io.closed, (channel, line) => {
    const rec = parse(line);
    if (filtered && (rec === undefined || !matches(rec as unknown as Record<string, unknown>)))
      return;
    if (rec !== undefined && rec.seq <= (shown.get(channel) ?? 0)) return;
    print(line, rec);
  });
}

/** How a line is printed: the stored line (ndjson), or the record for a person to read. */
function printer(
  format: 'pretty' | 'ndjson',
  io: Io,
  changed: WeakSet<object>,
): (line: Buffer, rec: LogRecord | undefined) => void {
  return (line, rec) => {
    // A record opened (encrypted channel) or with its personal values put back is printed as
    // JSON; any other as the line stored.
    if (format === 'ndjson') {
      const text = rec !== undefined && changed.has(rec) ? JSON.stringify(rec) : line.toString();
      // On a terminal a line is escaped whole (a valid line stays the same JSON); piped, exact.
      io.out(`${io.isTTY ? escapeTerminal(text) : text}\n`);
    } else
      io.out(
        `${rec === undefined ? `(unreadable line) ${escapeTerminal(line.toString('utf8').slice(0, 200))}` : formatRecord(rec, io.isTTY)}\n`,
      );
  };
}

/** Channels are separate sequences: merge them by time for reading, ties by channel and seq. */
function byTime(a: { rec: LogRecord | undefined }, b: { rec: LogRecord | undefined }): number {
  return (
    (a.rec?.ts ?? '').localeCompare(b.rec?.ts ?? '') ||
    (a.rec?.channel ?? '').localeCompare(b.rec?.channel ?? '') ||
    (a.rec?.seq ?? 0) - (b.rec?.seq ?? 0)
  );
}

/**
 * Hand each new line of each follower to `onLine` every `interval` ms, until SIGINT or SIGTERM,
 * or until nobody reads the output (`tail -f | head`: `closed`, on the write after it went).
 */
async function followUntilStopped(
  followers: ReadonlyMap<string, FileFollower>,
  interval: number,
  closed: AbortSignal | undefined,
  onLine: (channel: string, line: Buffer) => void,
): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      for (const [channel, f] of followers)
        for (const line of f.poll()) if (closed?.aborted !== true) onLine(channel, line);
    }, interval);
    const stop = (): void => {
      clearInterval(timer);
      for (const f of followers.values()) f.close();
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      closed?.removeEventListener('abort', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (closed?.aborted === true) stop();
    else closed?.addEventListener('abort', stop, { once: true });
  });
}

/** The last `n` records matching a filter, from the index (caught up first). */
async function lastMatching(
  layout: LogLayout,
  logId: string,
  filter: QueryFilter,
  n: number,
  ring: ChannelKeyring | undefined,
  revealer: SubjectLookup | undefined,
): Promise<Array<{ line: Buffer; rec: LogRecord | undefined }>> {
  return withIndex(layout, logId, async (db) => {
    const result = await runQuery(
      layout,
      logId,
      db,
      { filter, limit: Math.min(n, MAX_LIMIT) },
      revealer,
      ring,
    );
    return result.records.flatMap((r) =>
      r.record === undefined
        ? []
        : [{ line: Buffer.from(JSON.stringify(r.record)), rec: r.record as unknown as LogRecord }],
    );
  });
}

/** Whether a filter beyond --channel is given (the last records then come from the index). */
function hasFilter(opts: FilterFlags): boolean {
  return FILTER_KEYS.some((k) => opts[k] !== undefined);
}

const FILTER_KEYS = [
  'level',
  'event',
  'outcome',
  'actor',
  'subject',
  'requestId',
  'since',
  'until',
  'text',
] as const;

/** The last `n` lines of a channel's rotated segments, newest segments read first. */
async function lastOfSegments(
  layout: LogLayout,
  book: SegmentBook,
  channel: string,
  n: number,
): Promise<Buffer[]> {
  const sources = channelSources(layout, book, channel).filter(
    (s) => s.kind === 'sealed' || s.kind === 'staging',
  );
  const out: Buffer[] = [];
  for (let i = sources.length - 1; i >= 0 && out.length < n; i--) {
    const src = sources[i] as Source;
    if (!existsSync(src.file)) continue;
    const ring: Buffer[] = [];
    await scanSource(src, (bytes) => {
      ring.push(Buffer.from(bytes));
      if (ring.length > n - out.length) ring.shift();
    });
    out.unshift(...ring);
  }
  return out.slice(-n);
}

function parseLine(line: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(line.toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function positiveInt(text: string, flag: string): number {
  const v = Number(text);
  if (!Number.isSafeInteger(v) || v < 0)
    throw new LogsError('USAGE', `${flag}: expected a whole number`);
  return v;
}
