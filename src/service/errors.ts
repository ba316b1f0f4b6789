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
};

/**
 * Any error as a LogsError whose message can be sent: ours as they are (their messages never
 * hold values from the input), Fastify's mapped to a code, anything else INTERNAL with no
 * detail (a stack trace or a driver's message may reveal paths or data).
 */
export function toLogsError(err: unknown): LogsError {
  if (err instanceof LogsError) return err as LogsError;
  const f = err as Partial<FastifyError> | undefined;
  if (typeof f?.code === 'string') {
    const known = FASTIFY_CODES[f.code];
    if (known !== undefined) return new LogsError(known[0], known[1], { cause: err });
    if (f.code === 'FST_ERR_VALIDATION' && typeof f.message === 'string')
      // Ajv's messages name the parameter and the rule, not the value.
      return new LogsError('USAGE', f.message.slice(0, 300), { cause: err });
  }
  if (typeof f?.statusCode === 'number' && f.statusCode >= 400 && f.statusCode < 500)
    return new LogsError('USAGE', 'the request is malformed', { cause: err });
  const e = asLogsError(err);
  return e.code === 'INTERNAL' || e.code === 'IO_ERROR'
    ? new LogsError(e.code, 'an internal error occurred; its id is in the service log', {
        cause: err,
      })
    : e;
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
