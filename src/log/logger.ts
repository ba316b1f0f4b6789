import type { Level } from '../event/levels.js';
import type { EventInput } from '../event/record.js';

/** What a Logger needs from the logs it writes to. */
export interface LogSink {
  /** Fire-and-forget: failures go to the logs' onError, never to the caller. */
  emit(input: EventInput): void;
}

type Fields = Record<string, unknown>;

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
    private readonly bound: Fields = NO_FIELDS,
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
    const input: Fields = { level };
    if (this.channel !== undefined) input.channel = this.channel;
    let data = this.bound === NO_FIELDS ? undefined : absorb(input, undefined, this.bound);
    if (typeof objOrMsg === 'string') {
      input.msg = objOrMsg;
    } else if (objOrMsg instanceof Error) {
      data = setField(data ?? {}, 'err', objOrMsg);
      input.msg = objOrMsg.message;
    } else if (isPlainObject(objOrMsg)) {
      data = absorb(input, data, objOrMsg);
    } else if (objOrMsg !== undefined && objOrMsg !== null) {
      data = setField(data ?? {}, 'value', objOrMsg);
    }
    if (msg !== undefined) input.msg = msg;
    if (data !== undefined) input.data = data;
    this.sink.emit(input);
  }
}

const NO_FIELDS: Fields = Object.freeze({});

/**
 * Copy a caller's fields into the record being built: the record's own fields to the top, the
 * rest under `data`. A plain function, not a closure, because it runs for every log call.
 */
function absorb(input: Fields, data: Fields | undefined, fields: Fields): Fields | undefined {
  const keys = Object.keys(fields);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const value = fields[key];
    switch (key) {
      case 'event':
      case 'msg':
      case 'actor':
      case 'target':
      case 'outcome':
      case 'request_id':
      case 'subject':
        input[key] = value;
        continue;
      case 'data':
        if (isPlainObject(value)) {
          // A `data` object is merged under data, whatever its keys are called.
          data ??= {};
          for (const k of Object.keys(value)) setField(data, k, value[k]);
          continue;
        }
    }
    data = setField(data ?? {}, key, value);
  }
  return data;
}

/** Set a field, keeping a key named `__proto__` a plain key instead of a prototype change. */
function setField(target: Fields, key: string, value: unknown): Fields {
  if (key === '__proto__') {
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    target[key] = value;
  }
  return target;
}

function isPlainObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
