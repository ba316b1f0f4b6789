import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { LogsError, asLogsError, type ErrorCode } from '../errors.js';

/** The body of every error response: a stable code, a message safe to show, the request id. */
export interface ErrorBody {
  readonly error: {
    readonly code: ErrorCode;
    readonly message: string;
    /** The request's id: the service's own `service.error` event carries it too. */
    readonly id: string;
    /** For a batch: the position of the event that was refused. */
    readonly index?: number;
  };
}

// Fastify's own errors (body parsing, validation, routing) and what they mean here.
const FASTIFY_CODES: Readonly<Record<string, [ErrorCode, string]>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['BODY_TOO_LARGE', 'the request body is over the limit'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [
    'MEDIA_TYPE_UNSUPPORTED',
    'this Content-Type is not accepted here',
  ],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [
    'USAGE',
    'the body does not have the length its Content-Length says',
  ],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['USAGE', 'the body is empty'],
  FST_ERR_CTP_INVALID_TYPE: ['USAGE', 'the Content-Type header is malformed'],
  FST_ERR_CTP_EMPTY_TYPE: ['USAGE', 'the Content-Type header is empty'],
  FST_ERR_NOT_FOUND: ['NOT_FOUND', 'no such route'],
  // The router's own refusals (through `frameworkErrors`): Fastify's answers repeat the URL.
  FST_ERR_BAD_URL: ['USAGE', 'the URL is malformed (a bad percent-encoding)'],
  FST_ERR_MAX_PARAM_LENGTH: ['USAGE', 'a segment of the URL path is too long'],
};

/**
 * Any error as a LogsError whose message can be sent: ours as they are (their messages never
 * hold values from the input), Fastify's mapped to a code, the disk's (a system error, SQLite's
 * I/O errors) as WRITE_FAILED or IO_ERROR naming only their code, anything else INTERNAL with
 * no detail (a stack trace or a driver's message may reveal paths or data).
 */
export function toLogsError(err: unknown): LogsError {
  if (err instanceof LogsError && err.code !== 'INTERNAL' && err.code !== 'IO_ERROR')
    return err as LogsError;
  const f = err as Partial<FastifyError> | undefined;
  if (!(err instanceof LogsError) && typeof f?.code === 'string') {
    const known = FASTIFY_CODES[f.code];
    if (known !== undefined) return new LogsError(known[0], known[1], { cause: err });
    if (f.code === 'FST_ERR_VALIDATION' && typeof f.message === 'string')
      // Ajv's messages name the parameter and the rule, not the value.
      return new LogsError('USAGE', f.message.slice(0, 300), { cause: err });
  }
  const disk = diskError(err);
  if (disk !== undefined) return disk;
  if (typeof f?.statusCode === 'number' && f.statusCode >= 400 && f.statusCode < 500)
    return new LogsError('USAGE', 'the request is malformed', { cause: err });
  const e = asLogsError(err);
  if (e.code === 'IO_ERROR')
    return new LogsError(e.code, 'a file operation failed; its id is in the service log', {
      cause: err,
    });
  return e.code === 'INTERNAL'
    ? new LogsError(e.code, 'an internal error occurred; its id is in the service log', {
        cause: err,
      })
    : e;
}

// A full or read-only disk refused a write: the same failure as the writer's WRITE_FAILED.
const WRITE_REFUSED = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'EROFS']);
const SQLITE_WRITE_REFUSED = /^SQLITE_(?:FULL|READONLY|IOERR_(?:WRITE|FSYNC|DIR_FSYNC|TRUNCATE))$/;
const SQLITE_IO = /^SQLITE_(?:IOERR|CANTOPEN)/;

/**
 * The disk's failure under an error (itself or a cause: a read's index catch-up, a file read),
 * as a 503 naming the system's code and nothing else (its message names a path). Undefined
 * when the error is not the disk's.
 */
function diskError(err: unknown): LogsError | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const { code, syscall, name } = e as NodeJS.ErrnoException;
    const sqlite = name === 'SqliteError';
    if (typeof code !== 'string' || (!sqlite && typeof syscall !== 'string')) continue;
    if (sqlite ? SQLITE_WRITE_REFUSED.test(code) : WRITE_REFUSED.has(code))
      return new LogsError('WRITE_FAILED', `the disk refused a write (${code})`, { cause: err });
    if (!sqlite || SQLITE_IO.test(code))
      return new LogsError('IO_ERROR', `a file operation failed (${code})`, { cause: err });
  }
  return undefined;
}

export function errorBody(err: LogsError, requestId: string): ErrorBody {
  const index = err.details?.index;
  return {
    error: {
      code: err.code,
      message: err.message,
      id: requestId,
      ...(typeof index === 'number' ? { index } : {}),
    },
  };
}

/** Answer with an error. */
export function sendError(
  reply: FastifyReply,
  request: FastifyRequest,
  err: LogsError,
  headers: Record<string, string> = {},
): FastifyReply {
  return reply
    .code(err.httpStatus)
    .headers(headers)
    .type('application/json; charset=utf-8')
    .send(errorBody(err, request.id));
}

/** The raw HTTP answer for errors before Fastify has a request (timeouts, bad framing). */
export function rawErrorResponse(status: number, code: ErrorCode, message: string): string {
  const body = JSON.stringify({ error: { code, message, id: '-' } });
  const reason =
    status === 408
      ? 'Request Timeout'
      : status === 431
        ? 'Request Header Fields Too Large'
        : 'Bad Request';
  return (
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}
