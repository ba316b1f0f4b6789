import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { Keystore } from '../crypto/keystore.js';
import { loadMasterKey, MASTER_KEY_ENV, masterKeySource } from '../crypto/masterkey.js';
import type { Config } from '../config/resolve.js';
import { LogsError } from '../errors.js';
import { IndexDb, type IndexProgress } from '../search/index.js';
import { parseFilter, type QueryFilter, type RawFilter } from '../query/filter.js';
import { FORMATS, render, type Format } from '../query/format.js';
import { runQuery, type QueryResult } from '../query/query.js';
import { LogLayout, readMeta, type LogMeta } from '../store/file/index.js';
import { escapeTerminal, escapeTerminalLines } from '../util/escape.js';
import { configFor, globals, type Io } from './context.js';
import { Progress } from './progress.js';

/** The filter flags `query` and `tail` share, as commander gives them. */
export interface FilterFlags {
  readonly channel?: string[];
  readonly level?: string;
  readonly event?: string[];
  readonly outcome?: string[];
  readonly actor?: string[];
  readonly subject?: string[];
  readonly requestId?: string[];
  readonly since?: string;
  readonly until?: string;
  readonly text?: string;
}

interface QueryFlags extends FilterFlags {
  readonly limit: string;
  readonly cursor?: string;
  readonly order: string;
  readonly format?: string;
  readonly stored?: boolean;
  readonly progress?: boolean;
}

/** Declare the filter flags on a command (query and tail). */
export function filterOptions(cmd: Command): Command {
  return cmd
    .option('--channel <name...>', 'only these channels')
    .option('--level <level>', 'this level and above (AUDIT and SECURITY rank above CRITICAL)')
    .option('--event <type...>', 'event types or globs (auth.*, *.denied)')
    .option('--outcome <outcome...>', 'success, failure, ...')
    .option('--actor <id...>', 'the actor: a real id (found through the keystore) or a pseudonym')
    .option('--subject <id...>', 'the person the record is about: a real id or a pseudonym')
    .option('--request-id <id...>', 'request ids')
    .option('--since <time>', 'from this time: ISO (2026-11-24T08:00Z) or before now (15m, 2d)')
    .option('--until <time>', 'before this time, same forms')
    .option('--text <words>', 'full text in the message: words, "a phrase", prefix*');
}

export function registerQuery(program: Command, io: Io): void {
  filterOptions(
    program
      .command('query')
      .description(
        'find records through the index; each is read back from its segment and checked against its chain hash',
      ),
  )
    .option('--limit <n>', 'at most this many records', '100')
    .option('--cursor <cursor>', 'the next page of an earlier query (printed after its results)')
    .option('--order <order>', 'desc (newest first) or asc', 'desc')
    .option(
      '--format <format>',
      `${FORMATS.join(', ')} (default: table on a terminal, else ndjson)`,
    )
    .option('--stored', 'show records as stored: personal values stay encrypted')
    .option('--no-progress', 'no progress lines on stderr while the index catches up')
    .action(async (opts: QueryFlags, cmd: Command) => {
      await runQueryCommand(opts, cmd, io);
    });
}

async function runQueryCommand(opts: QueryFlags, cmd: Command, io: Io): Promise<void> {
  const format = (opts.format ?? (io.isTTY ? 'table' : 'ndjson')) as Format;
  if (!FORMATS.includes(format))
    throw new LogsError('USAGE', `--format: expected one of ${FORMATS.join(', ')}`);
  if (opts.order !== 'asc' && opts.order !== 'desc')
    throw new LogsError('USAGE', '--order: expected asc or desc');
  const limit = Number(opts.limit);
  const layout = new LogLayout(configFor(cmd).dir);
  const meta = readMeta(layout);
  // The keystore opens encrypted channels even with --stored (which keeps personal values sealed).
  const keystore = openKeystoreIfKey(cmd, layout, meta);
  const db = IndexDb.open(layout, meta.log_id);
  const progress = new Progress(io, 'index', opts.progress !== false);
  try {
    const filter = cliFilter(opts, meta, keystore, io);
    const result = await runQuery(
      layout,
      meta.log_id,
      db,
      {
        filter,
        limit,
        ...(opts.cursor === undefined ? {} : { cursor: opts.cursor }),
        order: opts.order,
        catchUpOptions: {
          onProgress: (p: IndexProgress) =>
            progress.update(p.bytes, p.totalBytes, `${p.records.toLocaleString('en-US')} records`),
        },
      },
      opts.stored === true ? undefined : keystore,
      keystore?.channelKeyring(),
    );
    progress.done();
    const text = render(result, format);
    // Table, YAML and CSV come escaped; JSON on a terminal too (`\uXXXX`: the same JSON).
    const json = format === 'json' || format === 'ndjson';
    io.out(io.isTTY && json ? escapeTerminalLines(text) : text);
    reportAfter(result, format, io, opts.stored !== true && keystore === undefined);
    reportEncrypted(result, filter, encryptedChannels(cmd), io);
  } finally {
    progress.done();
    db.close();
    keystore?.close();
  }
}

/** A filter from the flags; people given by real id are looked up in the keystore. */
export function cliFilter(
  opts: FilterFlags,
  meta: LogMeta,
  keystore: Keystore | undefined,
  io: Io,
): QueryFilter {
  const raw: RawFilter = {
    channel: opts.channel,
    level: opts.level,
    event: opts.event,
    outcome: opts.outcome,
    actor: opts.actor,
    subject: opts.subject,
    requestId: opts.requestId,
    since: opts.since,
    until: opts.until,
    text: opts.text,
  };
  const { filter, unknownPeople } = parseFilter(raw, {
    nowMs: Date.now(),
    channels: meta.channels,
    pseudonymOf: (id) => {
      if (keystore === undefined)
        throw new LogsError(
          'MASTER_KEY_MISSING',
          `finding a person by id needs the master key (--key-file or ${MASTER_KEY_ENV}); or give their pseudonym (sub_...)`,
        );
      return keystore.find(id)?.pseudonym;
    },
  });
  if (unknownPeople.length > 0)
    io.err(
      `note: ${unknownPeople.length === 1 ? 'this person is' : `${unknownPeople.length} people are`} unknown to the keystore (never logged, or erased): no record can match\n`,
    );
  return filter;
}

/** Whether the flags name a person by a real id (not a pseudonym). */
export function needsKeystore(opts: FilterFlags): boolean {
  return [...(opts.actor ?? []), ...(opts.subject ?? [])].some((v) => !v.startsWith('sub_'));
}

/** The keystore, read-only; the master key is required. */
export function openKeystore(cmd: Command, layout: LogLayout, meta: LogMeta): Keystore {
  const masterKey = tryMasterKey(cmd, layout);
  if (masterKey === undefined)
    throw new LogsError(
      'MASTER_KEY_MISSING',
      `finding a person by id needs the master key (--key-file or ${MASTER_KEY_ENV}); or give their pseudonym (sub_...)`,
    );
  return readKeystore(layout, masterKey, meta);
}

/**
 * The keystore, read-only. A log made by an older `init` and never written to has none yet:
 * it is made empty (as `init` now does), so a query of an empty log answers "no records".
 */
function readKeystore(layout: LogLayout, masterKey: Buffer, meta: LogMeta): Keystore {
  if (!existsSync(layout.subjectsFile))
    Keystore.open(layout.subjectsFile, masterKey, meta.log_id).close();
  return Keystore.openReadOnly(layout.subjectsFile, masterKey, meta.log_id);
}

/** The keystore, read-only, when a master key is configured (undefined when none is). */
export function openKeystoreIfKey(
  cmd: Command,
  layout: LogLayout,
  meta: LogMeta,
): Keystore | undefined {
  const masterKey = tryMasterKey(cmd, layout);
  return masterKey === undefined ? undefined : readKeystore(layout, masterKey, meta);
}

/** The channels the configuration encrypts. */
export function encryptedChannels(cmd: Command): string[] {
  const channels = configFor(cmd).channels;
  return Object.keys(channels).filter((c) => channels[c]?.encrypt === true);
}

/** The master key if one is configured; undefined when none is (queries work without it). */
export function tryMasterKey(
  cmd: Command,
  layout: LogLayout,
  config: Config = configFor(cmd),
): Buffer | undefined {
  try {
    return loadMasterKey(masterKeySource(globals(cmd).keyFile, config.masterKeyFile), layout.dir);
  } catch (err) {
    if (err instanceof LogsError && err.code === 'MASTER_KEY_MISSING') return undefined;
    throw err;
  }
}

/** On stderr: what encrypted channels keep out of an answer (no key; their text not indexed). */
export function reportEncrypted(
  result: QueryResult,
  filter: QueryFilter,
  encrypted: readonly string[],
  io: Io,
): void {
  for (const c of result.indexed?.channels ?? []) {
    if (c.locked && (filter.channels === undefined || filter.channels.includes(c.channel)))
      io.err(
        `note: channel ${c.channel} is encrypted and no master key was given (--key-file or ${MASTER_KEY_ENV}): its records after #${c.indexedSeq} are not indexed yet\n`,
      );
  }
  const searched = encrypted.filter((c) => filter.channels?.includes(c) ?? true);
  if (filter.text !== undefined && searched.length > 0)
    io.err(
      `note: --text does not search the messages of encrypted channels (${searched.join(', ')}): the index keeps no clear copy of them; filter them by event, outcome, actor or time\n`,
    );
}

/** After the results, on stderr: damage found (exit 1), the next page, personal values hidden. */
function reportAfter(result: QueryResult, format: Format, io: Io, noKey: boolean): void {
  for (const d of result.damaged) {
    const why =
      d.status === 'missing'
        ? 'is no longer where it was indexed'
        : 'fails its chain hash: it was changed after it was written';
    io.err(
      escapeTerminal(`DAMAGE ${d.channel} #${d.seq} (${d.file}) ${why}; run dihya-logs verify`) +
        '\n',
    );
  }
  if (result.damaged.length > 0) process.exitCode = 1;
  // JSON and YAML carry the cursor in the document; the other forms say it on stderr.
  if (result.next !== undefined && format !== 'json' && format !== 'yaml')
    io.err(`more: --cursor ${result.next}\n`);
  if (noKey && result.records.some((r) => r.record?.pii !== undefined))
    io.err(
      `note: personal values stay encrypted: no master key (--key-file or ${MASTER_KEY_ENV})\n`,
    );
}
