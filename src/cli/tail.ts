import type { Command } from 'commander';
import { LogsError } from '../errors.js';
import type { LogRecord } from '../event/record.js';
import { FileFollower } from '../store/file/follow.js';
import { LogLayout } from '../store/file/layout.js';
import { readMeta } from '../store/file/meta.js';
import { readSegmentBook, type SegmentBook } from '../store/file/segment-log.js';
import { channelSources, scanSource, type Source } from '../store/file/sources.js';
import { existsSync } from 'node:fs';
import { configFor, type Io } from './context.js';
import { escapeTerminal, formatRecord } from './terminal.js';

interface TailOptions {
  readonly n: string;
  readonly follow?: boolean;
  readonly channel?: string[];
  readonly format?: string;
  readonly interval: string;
}

export function registerTail(program: Command, io: Io): void {
  program
    .command('tail')
    .description(
      'print the last records (all channels merged by time), and with -f the new ones as they come',
    )
    .option('-n, --lines <n>', 'records to print first, per channel', '10')
    .option('-f, --follow', 'keep printing records as they are written')
    .option('--channel <name...>', 'only these channels')
    .option('--format <format>', 'pretty (default on a terminal) or ndjson (the stored lines)')
    .option('--interval <ms>', 'polling interval with -f', '250')
    .action(async (opts: TailOptions & { lines: string }, cmd: Command) => {
      await runTail({ ...opts, n: opts.lines }, cmd, io);
    });
}

async function runTail(opts: TailOptions, cmd: Command, io: Io): Promise<void> {
  const n = positiveInt(opts.n, '-n');
  const interval = positiveInt(opts.interval, '--interval');
  const format: string = opts.format ?? (io.isTTY ? 'pretty' : 'ndjson');
  if (format !== 'pretty' && format !== 'ndjson')
    throw new LogsError('USAGE', '--format: expected pretty or ndjson');
  const layout = new LogLayout(configFor(cmd).dir);
  const meta = readMeta(layout);
  const channels = opts.channel ?? [...meta.channels];
  for (const c of channels) {
    if (!meta.channels.includes(c))
      throw new LogsError(
        'EVENT_CHANNEL_UNKNOWN',
        `no channel "${c}" in ${layout.dir} (channels: ${meta.channels.join(', ')})`,
      );
  }
  const print = (line: Buffer, rec: LogRecord | undefined): void => {
    if (format === 'ndjson') io.out(`${line.toString('utf8')}\n`);
    else
      io.out(
        `${rec === undefined ? `(unreadable line) ${escapeTerminal(line.toString('utf8').slice(0, 200))}` : formatRecord(rec, io.isTTY)}\n`,
      );
  };
  const followers: FileFollower[] = [];
  const first: Array<{ line: Buffer; rec: LogRecord | undefined }> = [];
  const book = readSegmentBook(layout, meta.log_id);
  for (const c of channels) {
    const { follower, lines } = FileFollower.fromTail(layout.channelFile(c), n);
    followers.push(follower);
    // Fewer than n in the active file (just rotated): the rest from the segments before it.
    const older = lines.length < n ? await lastOfSegments(layout, book, c, n - lines.length) : [];
    for (const line of [...older, ...lines]) first.push({ line, rec: parse(line) });
  }
  // Channels are separate sequences: merge them by time for reading, ties by channel and seq.
  first.sort(
    (a, b) =>
      (a.rec?.ts ?? '').localeCompare(b.rec?.ts ?? '') ||
      (a.rec?.channel ?? '').localeCompare(b.rec?.channel ?? '') ||
      (a.rec?.seq ?? 0) - (b.rec?.seq ?? 0),
  );
  for (const { line, rec } of first) print(line, rec);
  if (opts.follow !== true) return;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      for (const f of followers) for (const line of f.poll()) print(line, parse(line));
    }, interval);
    const stop = (): void => {
      clearInterval(timer);
      for (const f of followers) f.close();
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

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

function parse(line: Buffer): LogRecord | undefined {
  try {
    return JSON.parse(line.toString('utf8')) as LogRecord;
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
