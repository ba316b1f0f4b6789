import type { Transform } from 'node:stream';
import build from 'pino-abstract-transport';
import { LogsError } from '../errors.js';
import type { EventInput } from '../event/record.js';
import { BatchSender } from './batch-sender.js';
import { PINO_EVENT, pinoEvent, type PinoMapping } from './pino-event.js';

export { PINO_EVENT, pinoEvent, type PinoMapping } from './pino-event.js';

/**
 * Options of the pino transport (`target: 'dihya-logs/pino'`). Give `dir` to write a logs
 * directory from the transport's thread, or `url` and `token` to send to a running service.
 */
export interface PinoTransportOptions {
  /** The logs directory, opened (and locked) by the transport. */
  readonly dir?: string;
  /** The master key, base64 of 32 bytes. Default: DIHYA_LOGS_MASTER_KEY, then a key file. */
  readonly masterKey?: string | Uint8Array;
  /** A master key file (0600, outside the logs directory). */
  readonly keyFile?: string;
  /** A configuration file (`dihya-logs.yaml`). Default: found as the CLI finds it. */
  readonly config?: string;
  /** Settings given inline instead, the same keys as the YAML file. */
  readonly settings?: Record<string, unknown>;

  /** The service's base URL (`http://127.0.0.1:8080`): events go to `{url}/v1/events`. */
  readonly url?: string;
  /** A service token with the `ingest` role. */
  readonly token?: string;
  /** Most events per request. Default 1000. */
  readonly batchSize?: number;
  /** Most bytes per request. Default 1,000,000 (the service takes 1 MiB by default). */
  readonly maxBatchBytes?: number;
  /** How long an event waits for a batch. Default 100 ms. */
  readonly flushIntervalMs?: number;
  /** Most events waiting while the service is slow or away; the oldest go first. Default 10,000. */
  readonly maxQueue?: number;
  /** First and longest wait between tries of a batch. Default 100 ms and 5 s. */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /** One request's time limit. Default 10 s. */
  readonly timeoutMs?: number;
  /**
   * How long closing keeps trying to deliver. Default 5 s. pino's `transport.end()` waits for
   * the transport to close, blocking the app's thread, and gives up after 10 s.
   */
  readonly closeTimeoutMs?: number;

  /** The channel of the events. Default `app`. */
  readonly channel?: string;
  /** pino's `messageKey`, if the app changed it. Default `msg`. */
  readonly messageKey?: string;
}

type Source = Transform & build.OnUnknown;

/**
 * The pino transport: `pino({ transport: { target: 'dihya-logs/pino', options } })`. pino runs
 * it in a worker thread; each log line becomes an event of the `app` channel (see
 * `pinoEvent`), classified like any other. Ends (flushing everything) when pino's transport
 * ends. Invalid options, or logs that cannot be opened, fail the transport at start.
 */
export default async function dihyaPinoTransport(
  options: PinoTransportOptions = {},
): Promise<Source> {
  const mapping: PinoMapping = {
    channel: text(options.channel, 'channel') ?? 'app',
    messageKey: text(options.messageKey, 'messageKey') ?? 'msg',
  };
  const hasDir = options.dir !== undefined;
  const hasUrl = options.url !== undefined;
  if (hasDir === hasUrl) {
    throw new LogsError('USAGE', 'dihya-logs/pino: give either `dir` or `url` (with `token`)');
  }
  if (hasDir) return toDirectory(options, mapping);
  return toService(options, mapping);
}

async function toDirectory(o: PinoTransportOptions, mapping: PinoMapping): Promise<Source> {
  const dir = text(o.dir, 'dir') as string;
  const file = text(o.config, 'config');
  const settings = o.settings;
  // Loaded here: the url mode has no use for the writer (nor its SQLite keystore).
  const [{ openLogs }, { loadConfig }] = await Promise.all([
    import('../log/open.js'),
    import('../config/load.js'),
  ]);
  const logs = await openLogs({
    dir,
    ...(settings === undefined ? { config: loadConfig({ file, dir }) } : { settings }),
    ...(o.masterKey === undefined ? {} : { masterKey: o.masterKey }),
    ...(o.keyFile === undefined ? {} : { keyFile: o.keyFile }),
    // pino ends the transport on exit; signals do not reach a worker thread.
    handleExit: false,
    owner: `pid ${process.pid}: pino transport (dihya-logs/pino)`,
  });
  if (!logs.channels.includes(mapping.channel)) {
    await logs.close();
    throw new LogsError(
      'EVENT_CHANNEL_UNKNOWN',
      `dihya-logs/pino: channel "${mapping.channel}" is not configured`,
    );
  }
  return build(
    async (source) => {
      source.on('unknown', (line) => logs.emit(unparsed(line, mapping)));
      for await (const line of source as AsyncIterable<unknown>) {
        if (isObject(line)) logs.emit(pinoEvent(line, mapping));
      }
    },
    { close: () => logs.close() },
  );
}

function toService(o: PinoTransportOptions, mapping: PinoMapping): Source {
  const url = text(o.url, 'url') as string;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new LogsError('USAGE', 'dihya-logs/pino: `url` is not a URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new LogsError('USAGE', 'dihya-logs/pino: `url` must be http: or https:');
  const token = text(o.token, 'token');
  if (token === undefined || token === '')
    throw new LogsError('USAGE', 'dihya-logs/pino: `url` needs a `token` (role ingest)');
  const sender = new BatchSender({
    url,
    token,
    batchSize: count(o.batchSize, 'batchSize', 1000),
    maxBatchBytes: count(o.maxBatchBytes, 'maxBatchBytes', 1_000_000),
    flushIntervalMs: count(o.flushIntervalMs, 'flushIntervalMs', 100),
    maxQueue: count(o.maxQueue, 'maxQueue', 10_000),
    retryMinMs: count(o.retryMinMs, 'retryMinMs', 100),
    retryMaxMs: count(o.retryMaxMs, 'retryMaxMs', 5000),
    timeoutMs: count(o.timeoutMs, 'timeoutMs', 10_000),
    closeTimeoutMs: count(o.closeTimeoutMs, 'closeTimeoutMs', 5000),
  });
  return build(
    async (source) => {
      source.on('unknown', (line) => sender.push(JSON.stringify(unparsed(line, mapping))));
      for await (const line of source as AsyncIterable<unknown>) {
        if (isObject(line)) sender.push(JSON.stringify(pinoEvent(line, mapping)));
      }
    },
    { close: () => sender.close() },
  );
}

/** A line that is not JSON (written to the stream by something else than pino): its text. */
function unparsed(line: string, mapping: PinoMapping): EventInput {
  return { channel: mapping.channel, level: 'INFO', event: PINO_EVENT, msg: line };
}

function text(v: unknown, name: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '')
    throw new LogsError('USAGE', `dihya-logs/pino: \`${name}\` must be a non-empty string`);
  return v;
}

function count(v: unknown, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)
    throw new LogsError('USAGE', `dihya-logs/pino: \`${name}\` must be a positive integer`);
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
