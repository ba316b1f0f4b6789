import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { LogsError, asLogsError } from '../errors.js';
import type { Ack } from '../store/store.js';
import type { LogCore } from '../log/core.js';
import type { Io } from './context.js';
import { openForCli } from './open.js';
import { escapeTerminal } from '../util/escape.js';

interface WriteOptions {
  readonly channel?: string;
  readonly level?: string;
  readonly event?: string;
  readonly msg?: string;
  readonly actor?: string;
  readonly target?: string;
  readonly outcome?: string;
  readonly requestId?: string;
  readonly idempotencyKey?: string;
  readonly subject?: string;
  readonly data?: string;
  readonly stdin?: boolean;
  readonly json?: boolean;
}

// A line longer than this is refused before it is parsed (records are limited to 64 KiB anyway).
const MAX_LINE = 1024 * 1024;

export function registerWrite(program: Command, io: Io): void {
  program
    .command('write')
    .description('write one event from flags, or NDJSON events from standard input (--stdin)')
    .option(
      '--channel <name>',
      'channel (default: from the level: AUDIT→audit, SECURITY→security, else app)',
    )
    .option('--level <level>', 'DEBUG, INFO, WARNING, ERROR, CRITICAL, AUDIT or SECURITY', 'INFO')
    .option('--event <type>', 'dotted event type, e.g. auth.login.failure')
    .option('--msg <text>', 'message')
    .option('--actor <id|json>', 'who acted: an id, or a JSON object')
    .option('--target <id|json>', 'what was acted on: an id, or a JSON object')
    .option('--outcome <outcome>', 'success, failure, denied, error, pending or unknown')
    .option('--request-id <id>', 'request id')
    .option(
      '--subject <id>',
      'whose personal data this is (default: the actor); stored pseudonymized',
    )
    .option('--data <json>', 'extra fields, as a JSON object')
    .option(
      '--idempotency-key <key>',
      'run again with the same key (within idempotency.window_ms): answered with the first seq, not stored twice',
    )
    .option('--stdin', 'read NDJSON events from standard input, one per line')
    .option('--json', 'print each acknowledgement as JSON')
    .action(async (opts: WriteOptions, cmd: Command) => {
      process.exitCode = await runWrite(opts, cmd, io);
    });
}

async function runWrite(opts: WriteOptions, cmd: Command, io: Io): Promise<number> {
  const single = opts.stdin === true ? undefined : eventFromFlags(opts); // validate flags before opening
  const logs = await openForCli(cmd, 'write');
  try {
    if (single !== undefined) {
      const ack = await logs.write(single, { wait: 'durable' });
      printAck(io, opts, ack);
      return 0;
    }
    return await writeStream(logs, opts, io);
  } finally {
    await logs.close();
  }
}

function eventFromFlags(o: WriteOptions): Record<string, unknown> {
  const e: Record<string, unknown> = { level: o.level ?? 'INFO' };
  if (o.channel !== undefined) e.channel = o.channel;
  if (o.event !== undefined) e.event = o.event;
  if (o.msg !== undefined) e.msg = o.msg;
  if (o.actor !== undefined) e.actor = idOrJson(o.actor, '--actor');
  if (o.target !== undefined) e.target = idOrJson(o.target, '--target');
  if (o.outcome !== undefined) e.outcome = o.outcome;
  if (o.requestId !== undefined) e.request_id = o.requestId;
  if (o.idempotencyKey !== undefined) e.idempotency_key = o.idempotencyKey;
  if (o.subject !== undefined) e.subject = o.subject;
  if (o.data !== undefined) e.data = parseJson(o.data, '--data');
  return e;
}

function idOrJson(value: string, flag: string): unknown {
  return value.trimStart().startsWith('{') ? parseJson(value, flag) : value;
}

function parseJson(text: string, flag: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new LogsError('USAGE', `${flag}: not valid JSON`);
  }
}

/**
 * NDJSON from stdin: each line is validated and written on its own; a bad line is reported
 * with its number and code and is not written. Durable channels are acknowledged after fsync.
 */
async function writeStream(logs: LogCore, opts: WriteOptions, io: Io): Promise<number> {
  const rl = createInterface({ input: io.stdin, crlfDelay: Infinity });
  let lineNo = 0;
  let written = 0;
  let filtered = 0;
  let rejected = 0;
  let pending: Array<Promise<void>> = [];
  for await (const line of rl) {
    lineNo += 1;
    if (line.trim() === '') continue;
    const n = lineNo;
    const fail = (err: unknown): void => {
      rejected += 1;
      const e = asLogsError(err);
      // The message may quote the line (an unknown level): shown inert.
      io.err(`dihya-logs: line ${n}: ${e.code}: ${escapeTerminal(e.message)}\n`);
    };
    let event: unknown;
    try {
      if (line.length > MAX_LINE)
        throw new LogsError('EVENT_TOO_LARGE', `the line is longer than ${MAX_LINE} bytes`);
      event = JSON.parse(line) as unknown;
    } catch (err) {
      fail(
        err instanceof SyntaxError
          ? new LogsError('EVENT_INVALID', 'the line is not valid JSON')
          : err,
      );
      continue;
    }
    pending.push(
      logs.write(event).then((ack) => {
        if (ack === null) filtered += 1;
        else written += 1;
        if (opts.json === true) printAck(io, opts, ack);
      }, fail),
    );
    if (pending.length >= 1000) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  await logs.flush();
  io.err(
    `dihya-logs: ${written} written, ${rejected} rejected, ${filtered} below their channel's minimum level\n`,
  );
  return rejected > 0 ? 2 : 0;
}

function printAck(io: Io, opts: WriteOptions, ack: Ack | null): void {
  if (opts.json === true) {
    io.out(
      `${JSON.stringify(ack ?? { written: false, reason: 'below the channel minimum level' })}\n`,
    );
  } else if (ack === null) {
    io.err("dihya-logs: not written: the level is below the channel's minimum level\n");
  } else {
    io.out(`${ack.channel} #${ack.seq} ${ack.hash}\n`);
  }
}
