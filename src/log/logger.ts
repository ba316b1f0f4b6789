import type { Level } from '../event/levels.js';
import type { EventInput } from '../event/record.js';

/** What a Logger needs from the logs it writes to. */
export interface LogSink {
  /** Fire-and-forget: failures go to the logs' onError, never to the caller. */
  emit(input: EventInput): void;
}

type Fields = Record<string, unknown>;

// Fields that are part of a record; every other key a caller logs goes under `data`.
const TOP_LEVEL = new Set(['event', 'msg', 'actor', 'target', 'outcome', 'request_id']);

/**
 * A pino-like logger bound to a channel (or, for the root logger, routing by level: AUDIT to
 * `audit`, SECURITY to `security`, the rest to `app`).
 *
 *   log.info('started')
 *   log.warning({ event: 'quota.near', actor: userId, used: 0.93 }, 'quota almost used')
 *   log.error(err, 'payment failed')            // the Error lands in data.err
 *   const reqLog = log.child({ request_id })    // bound fields on every record
 *
 * Calls never throw: an invalid event is reported through the logs' onError and dropped.
 */
export class Logger {
  constructor(
    private readonly sink: LogSink,
    readonly channel: string | undefined,
    private readonly bound: Fields = {},
  ) {}

  /** A logger that adds `bindings` to every record (its own fields win over the parent's). */
  child(bindings: Fields): Logger {
    return new Logger(this.sink, this.channel, { ...this.bound, ...bindings });
  }

  debug(objOrMsg?: unknown, msg?: string): void {
    this.write('DEBUG', objOrMsg, msg);
  }

  info(objOrMsg?: unknown, msg?: string): void {
    this.write('INFO', objOrMsg, msg);
  }

  warning(objOrMsg?: unknown, msg?: string): void {
    this.write('WARNING', objOrMsg, msg);
  }

  /** Alias of warning(), as in pino. */
  warn(objOrMsg?: unknown, msg?: string): void {
    this.write('WARNING', objOrMsg, msg);
  }

  error(objOrMsg?: unknown, msg?: string): void {
    this.write('ERROR', objOrMsg, msg);
  }

  critical(objOrMsg?: unknown, msg?: string): void {
    this.write('CRITICAL', objOrMsg, msg);
  }

  /** Alias of critical(), as in pino. */
  fatal(objOrMsg?: unknown, msg?: string): void {
    this.write('CRITICAL', objOrMsg, msg);
  }

  audit(objOrMsg?: unknown, msg?: string): void {
    this.write('AUDIT', objOrMsg, msg);
  }

  security(objOrMsg?: unknown, msg?: string): void {
    this.write('SECURITY', objOrMsg, msg);
  }

  private write(level: Level, objOrMsg: unknown, msg: string | undefined): void {
    const input: EventInput & { data?: Fields } = { level };
    if (this.channel !== undefined) input.channel = this.channel;
    let data: Fields | undefined;
    const take = (fields: Fields): void => {
      for (const key of Object.keys(fields)) {
        const value = fields[key];
        if (TOP_LEVEL.has(key)) {
          (input as Fields)[key] = value;
        } else if (key === 'data' && isPlainObject(value)) {
          data = { ...data, ...value };
        } else {
          // A null-prototype object: a key named __proto__ stays a plain key.
          data ??= Object.create(null) as Fields;
          data[key] = value;
        }
      }
    };
    take(this.bound);
    if (typeof objOrMsg === 'string') {
      input.msg = objOrMsg;
    } else if (objOrMsg instanceof Error) {
      data = { ...data, err: objOrMsg };
      input.msg = objOrMsg.message;
    } else if (isPlainObject(objOrMsg)) {
      take(objOrMsg);
    } else if (objOrMsg !== undefined && objOrMsg !== null) {
      data = { ...data, value: objOrMsg };
    }
    if (msg !== undefined) input.msg = msg;
    if (data !== undefined) input.data = data;
    this.sink.emit(input);
  }
}

function isPlainObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
