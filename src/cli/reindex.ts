import type { Command } from 'commander';
import {
  catchUp,
  rebuild,
  withIndex,
  type CatchUpReport,
  type IndexProgress,
} from '../search/index.js';
import { LogLayout, readMeta } from '../store/file/index.js';
import { configFor, type Io } from './context.js';
import { Progress } from './progress.js';
import { openKeystoreIfKey } from './query.js';
import { escapeTerminal } from './terminal.js';

interface ReindexOptions {
  readonly rebuild?: boolean;
  readonly json?: boolean;
  readonly progress?: boolean;
}

const REASONS: Readonly<Record<string, string>> = {
  missing: 'there was no index',
  version: 'the index was built by another version',
  corrupt: 'the index was unreadable',
  other_log: 'the index was of another log',
  replaced: 'the log no longer holds what was indexed',
  rebuild: 'asked for',
};

/**
 * `dihya-logs reindex`: bring the query index up to date with the log files. It only reads the
 * log, so it takes no writer lock and runs beside the service; two runs at once are safe (SQLite
 * serializes them, and a batch commits only where the index still stands).
 */
export function registerReindex(program: Command, io: Io): void {
  program
    .command('reindex')
    .description(
      'bring the query index (.index/) up to date with the log files: archives, staging and active files',
    )
    .option('--rebuild', 'delete the index and build it again from every segment')
    .option('--json', 'print the report as JSON')
    .option('--no-progress', 'no progress lines on stderr')
    .action(async (opts: ReindexOptions, cmd: Command) => {
      const layout = new LogLayout(configFor(cmd).dir);
      const meta = readMeta(layout);
      const progress = new Progress(io, 'reindex', opts.progress !== false);
      // Encrypted channels are indexed with their keys (the master key); without, up to their
      // first encrypted record.
      const keystore = openKeystoreIfKey(cmd, layout, meta);
      const channelKeys = keystore?.channelKeyring();
      keystore?.close();
      const report = await withIndex(layout, meta.log_id, async (db) => {
        try {
          const options = {
            ...(channelKeys === undefined ? {} : { channelKeys }),
            onProgress: (p: IndexProgress) =>
              progress.update(
                p.bytes,
                p.totalBytes,
                `${p.records.toLocaleString('en-US')} records${p.phase === 'indexing' ? ', building the search indexes' : ''}`,
              ),
          };
          return opts.rebuild === true
            ? await rebuild(layout, meta.log_id, db, options)
            : await catchUp(layout, meta.log_id, db, options);
        } finally {
          progress.done();
        }
      });
      io.out(opts.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatReindex(report));
    });
}

/** One summary line, then a line per channel with damage or another indexer at work. */
export function formatReindex(r: CatchUpReport): string {
  const seconds = r.durationMs / 1000;
  const rate = seconds > 0 ? Math.round(r.records / seconds) : 0;
  const n = (x: number): string => x.toLocaleString('en-US');
  const lines = [
    `${r.rebuilt === undefined ? 'indexed' : `rebuilt (${REASONS[r.rebuilt] ?? r.rebuilt}):`} ${n(r.records)} records in ${seconds.toFixed(2)} s (${n(rate)} records/s)` +
      (r.dropped > 0 ? `; ${n(r.dropped)} removed with their deleted segments` : ''),
  ];
  for (const c of r.channels) {
    if (c.skipped > 0 || c.gaps > 0)
      lines.push(
        `warning ${c.channel}: ${n(c.skipped)} unreadable line(s), ${n(c.gaps)} gap(s) in seq; run dihya-logs verify`,
      );
    if (c.busy)
      lines.push(`note ${c.channel}: another process is indexing this channel; it finishes it`);
    if (c.locked)
      lines.push(
        `note ${c.channel}: encrypted, and no master key was given: indexed up to #${c.indexedSeq}; run again with the master key`,
      );
  }
  return `${lines.map(escapeTerminal).join('\n')}\n`;
}
