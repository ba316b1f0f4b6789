import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { LogsError } from '../errors.js';
import type { EventInput, Outcome } from '../event/record.js';
import type { Logs } from '../log/logs.js';
import { countBytes } from './byte-count.js';
import { bodyField, headersField, pathField, queryField, type Bounded } from './request-fields.js';

/** Who made a request: their id, or an object with their `id` (and, say, `email`). */
export type RequestUser = string | number | Readonly<Record<string, unknown>>;

/** Where the request id comes from and where it goes. */
export interface RequestIdOptions {
  /** The request header read, and the response header set. Default `x-request-id`. */
  readonly header?: string;
  /** Makes an id when the request has none (or an invalid one). Default `crypto.randomUUID`. */
  readonly generate?: () => string;
  /** Set the id on the response header, so the client and the app see it. Default true. */
  readonly expose?: boolean;
}

/** Options of the Express middleware and of the Fastify plugin. */
export interface RequestLogOptions<Req> {
  /** The open logs (from `openLogs()`) the events are written to. */
  readonly logs: Logs;
  /** The channel of the events. Default `api`. */
  readonly channel?: string;
  /** The signed-in user: their id, or an object with `id`. Default: `req.user?.id`. */
  readonly user?: (req: Req) => RequestUser | null | undefined;
  readonly requestId?: RequestIdOptions;
  /** Record the parsed request body (classified). Default true. */
  readonly body?: boolean;
  /** A body whose JSON is larger is left out. Default 16 KiB (at most a quarter of a record). */
  readonly bodyLimit?: number;
  /**
   * Record the raw path too. Default false: ids in a path (`/users/u-42`) would be stored as
   * they are, out of reach of erasure; the route template is kept either way.
   */
  readonly path?: boolean;
  /** Requests to leave out of the logs (health checks...). */
  readonly ignore?: (req: Req) => boolean;
  /**
   * Failures: an event that could not be written, a `user`/`ignore` callback that threw. Must
   * not throw. Default: write failures go to the logs' own `onError`, the rest to stderr.
   */
  readonly onError?: (err: unknown) => void;
}

/** What a framework tells about a request, read when its response is done. */
export interface Framework<Req, Rep> {
  /** The matched route's template (`/users/:id`), or undefined when no route matched. */
  route(req: Req): string | undefined;
  /** The parsed body, if any. */
  body(req: Req): unknown;
  /** The client's address, as the framework sees it (proxy settings applied). */
  ip(req: Req): string | undefined;
  /** The user when no `user` option is given. */
  user(req: Req): RequestUser | undefined;
  setHeader(reply: Rep, name: string, value: string): void;
}

/** One request on its way: what was known when it arrived, and counters. */
export interface Tracked {
  readonly raw: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: string;
  /** Read on arrival: once the client is gone, its socket no longer says. */
  readonly ip: string | undefined;
  readonly start: number;
  readonly requestId: string;
  /** The Content-Length of the request; undefined when the body was counted. */
  readonly declaredIn: number | undefined;
  bytesIn: number;
  bytesOut: number;
  done: boolean;
}

/** Shown as the route of a request no route matched: never the raw path. */
export const UNMATCHED = '(unmatched)';

const DEFAULT_BODY_LIMIT = 16 * 1024;
// 1-128 visible ASCII characters: what a record's request_id may hold.
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;
const ids = new WeakMap<IncomingMessage, string>();

/**
 * The request id given to a request by the middleware (read from its header or generated), for
 * the app's own events: `logs.app.info({ request_id: requestIdOf(req) }, ...)`.
 */
export function requestIdOf(
  req: IncomingMessage | { readonly raw: IncomingMessage },
): string | undefined {
  return ids.get('raw' in req ? req.raw : req);
}

/**
 * The framework-independent half of the middleware: starts the clock when a request arrives and
 * writes one event when its response is done or the client went away. Nothing here throws into
 * the app, nor waits for the write: failures go to `onError`.
 */
export class RequestLog<Req, Rep> {
  private readonly logs: Logs;
  private readonly channel: string;
  private readonly header: string;
  private readonly generate: () => string;
  private readonly expose: boolean;
  private readonly withBody: boolean;
  private readonly withPath: boolean;
  private readonly limits: {
    body: number;
    headers: number;
    query: number;
    path: number;
    depth: number;
  };
  private readonly report: (err: unknown) => void;

  constructor(
    private readonly options: RequestLogOptions<Req>,
    private readonly framework: Framework<Req, Rep>,
  ) {
    this.logs = options.logs;
    this.channel = options.channel ?? 'api';
    if (!this.logs.channels.includes(this.channel)) {
      throw new LogsError(
        'EVENT_CHANNEL_UNKNOWN',
        `dihya-logs middleware: channel "${this.channel}" is not configured (configured: ${this.logs.channels.join(', ')})`,
      );
    }
    this.header = (options.requestId?.header ?? 'x-request-id').toLowerCase();
    this.generate = options.requestId?.generate ?? randomUUID;
    this.expose = options.requestId?.expose ?? true;
    this.withBody = options.body ?? true;
    this.withPath = options.path ?? false;
    // Every field is bounded so that the whole record stays under the record limit, even with
    // its personal values moved, encrypted, into `pii` (about 4/3 of their size).
    const max = this.logs.config.limits.maxRecordBytes;
    this.limits = {
      body: Math.min(options.bodyLimit ?? DEFAULT_BODY_LIMIT, Math.floor(max / 4)),
      headers: Math.floor(max / 8),
      query: Math.floor(max / 16),
      path: Math.floor(max / 32),
      // The record is level 1, data 2: a body at 3 may hold this many levels.
      depth: this.logs.config.limits.maxDepth - 2,
    };
    const onError = options.onError;
    const logs = this.logs;
    this.report =
      onError === undefined
        ? (err) => logs.reportError(asError(err)) // the onError given to openLogs
        : (err) => {
            try {
              onError(err);
            } catch {
              // onError must not throw; if it does, the app still must not see it.
            }
          };
  }

  /** A request arrived: returns its state, or undefined when it is ignored. Never throws. */
  start(
    req: Req,
    reply: Rep,
    raw: IncomingMessage,
    res: ServerResponse,
    url: string,
  ): Tracked | undefined {
    try {
      if (this.ignored(req)) return undefined;
      const given = raw.headers[this.header];
      const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : this.newId();
      ids.set(raw, requestId);
      if (this.expose && !res.headersSent) this.framework.setHeader(reply, this.header, requestId);
      const length = Number(raw.headers['content-length']);
      const t: Tracked = {
        raw,
        res,
        url,
        ip: this.framework.ip(req) ?? raw.socket.remoteAddress,
        start: performance.now(),
        requestId,
        declaredIn: Number.isSafeInteger(length) && length >= 0 ? length : undefined,
        bytesIn: 0,
        bytesOut: 0,
        done: false,
      };
      countBytes(t);
      res.once('close', () => {
        // After a normal end, 'finish' came first; here the client went away before the end.
        if (!res.writableFinished) this.end(t, req, true);
      });
      return t;
    } catch (err) {
      this.report(err);
      return undefined;
    }
  }

  /** The response is done (or the client went away): write the request's event, once. */
  end(t: Tracked, req: Req, aborted: boolean): void {
    if (t.done) return;
    t.done = true;
    try {
      this.send(this.event(t, req, aborted));
    } catch (err) {
      this.report(err);
    }
  }

  private ignored(req: Req): boolean {
    if (this.options.ignore === undefined) return false;
    try {
      return this.options.ignore(req);
    } catch (err) {
      this.report(err);
      return false;
    }
  }

  private newId(): string {
    const id = this.generate();
    return typeof id === 'string' && REQUEST_ID.test(id) ? id : randomUUID();
  }

  private event(t: Tracked, req: Req, aborted: boolean): EventInput {
    const status = aborted ? 499 : t.res.statusCode;
    const method = t.raw.method ?? 'GET';
    const route = this.framework.route(req) ?? UNMATCHED;
    const q = t.url.indexOf('?');
    const omitted: Record<string, string> = {};
    const data: Record<string, unknown> = { method, route };
    if (this.withPath)
      put(data, omitted, 'path', pathField(q < 0 ? t.url : t.url.slice(0, q), this.limits.path));
    data.status = status;
    data.duration_ms = Math.round((performance.now() - t.start) * 1000) / 1000;
    data.bytes_in = t.declaredIn ?? t.bytesIn;
    data.bytes_out = t.bytesOut;
    if (t.ip !== undefined) data.ip = t.ip;
    const agent = t.raw.headers['user-agent'];
    if (agent !== undefined) data.user_agent = agent;
    put(data, omitted, 'headers', headersField(t.raw.headers, this.limits.headers));
    if (q >= 0) put(data, omitted, 'query', queryField(t.url.slice(q + 1), this.limits.query));
    if (this.withBody) {
      const body = this.framework.body(req);
      put(
        data,
        omitted,
        'body',
        bodyField(body, t.declaredIn ?? t.bytesIn, this.limits.body, this.limits.depth),
      );
    }
    if (Object.keys(omitted).length > 0) data.omitted = omitted;
    const event: EventInput = {
      channel: this.channel,
      level: status >= 500 ? 'ERROR' : status >= 400 ? 'WARNING' : 'INFO',
      event: 'http.request',
      msg: `${method} ${route} ${status}`,
      outcome: outcomeOf(status, aborted),
      request_id: t.requestId,
      data,
    };
    const actor = actorOf(this.user(req));
    if (actor !== undefined) event.actor = actor;
    return event;
  }

  private user(req: Req): RequestUser | null | undefined {
    try {
      return this.options.user === undefined ? this.framework.user(req) : this.options.user(req);
    } catch (err) {
      this.report(err);
      return undefined;
    }
  }

  // Fire and forget: the buffered path (failures to the logs' onError), or a write whose
  // failure goes to the caller's onError. Neither delays the response: it is already sent.
  private send(event: EventInput): void {
    if (this.options.onError === undefined) this.logs.emit(event);
    else this.logs.write(event).catch(this.report);
  }
}

/** The id of `req.user`, as set by Passport, @fastify/jwt and most authentication code. */
export function userId(id: unknown): RequestUser | undefined {
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}

function put(
  data: Record<string, unknown>,
  omitted: Record<string, string>,
  key: string,
  b: Bounded,
): void {
  if (b === undefined) return;
  if ('omitted' in b) omitted[key] = b.omitted;
  else data[key] = b.value;
}

function outcomeOf(status: number, aborted: boolean): Outcome {
  if (aborted || status >= 500) return 'error';
  return status >= 400 ? 'failure' : 'success';
}

function actorOf(user: RequestUser | null | undefined): EventInput['actor'] {
  if (typeof user === 'string') return user === '' ? undefined : user;
  if (typeof user === 'number') return String(user);
  if (typeof user === 'object' && user !== null) return { ...user };
  return undefined;
}

function asError(err: unknown): LogsError {
  if (err instanceof LogsError) return err as LogsError;
  // The app's callback threw: name what threw, not its message (it may hold personal data).
  const type = err instanceof Error ? err.constructor.name : typeof err;
  return new LogsError('INTERNAL', `a callback given to the middleware threw (${type})`, {
    cause: err,
  });
}
