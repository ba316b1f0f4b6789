import type { FastifyRequest } from 'fastify';
import { asLogsError, type ErrorCode, type LogsError } from '../errors.js';
import type { LogCore } from '../log/core.js';
import type { Principal } from '../access/principal.js';

/** How a principal appears in events: its token id (public) and name, never its secret. */
export function actorOf(p: Principal): { id: string; type: string; name: string; role: string } {
  return { id: `token:${p.tokenId}`, type: 'token', name: p.name, role: p.role };
}

/**
 * The service's own events: refusals in `security`, reads, exports and erasures in `audit`,
 * its failures in `app`. Refusals are not awaited (a flood of bad requests must not wait on
 * fsync), reads are: a read is answered only once its audit event is durable.
 */
export class ServiceEvents {
  constructor(
    private readonly logs: LogCore,
    private readonly onError: (err: LogsError) => void,
  ) {}

  /** A refused request (no token, a bad one, a role not allowed, throttled). */
  denied(request: FastifyRequest, code: ErrorCode, principal: Principal | undefined): void {
    this.logs
      .write(
        {
          channel: 'security',
          level: 'SECURITY',
          event: code === 'FORBIDDEN' ? 'access.denied' : 'auth.failure',
          outcome: 'denied',
          msg: `${request.method} ${routeOf(request)} refused: ${code}`,
          request_id: request.id,
          ...(principal === undefined ? {} : { actor: actorOf(principal) }),
          data: {
            method: request.method,
            route: routeOf(request),
            code,
            ip: request.ip,
            ...(principal === undefined ? {} : { role: principal.role }),
          },
        },
        { wait: 'accepted' },
      )
      .catch((err: unknown) => this.onError(asLogsError(err)));
  }

  /** A read (query, record, tail, stats, export download): durable before the answer. */
  async read(request: FastifyRequest, what: string, data: Record<string, unknown>): Promise<void> {
    await this.logs.audit({
      event: 'log.read',
      outcome: 'success',
      msg: `${what} by ${principalName(request)}`,
      request_id: request.id,
      ...(request.principal === undefined ? {} : { actor: actorOf(request.principal) }),
      data: { route: routeOf(request), ...data },
    });
  }

  /**
   * The end of a read that streamed (a tail): what it sent, once the stream has closed. Not
   * awaited, there is nobody left to answer; a failure to record it is reported.
   */
  readEnded(request: FastifyRequest, what: string, data: Record<string, unknown>): void {
    this.read(request, what, data).catch((err: unknown) => this.onError(asLogsError(err)));
  }

  /** An administrative action (tokens, verification runs). */
  async admin(
    request: FastifyRequest,
    event: string,
    msg: string,
    data: Record<string, unknown>,
  ): Promise<void> {
    await this.logs.audit({
      event,
      outcome: 'success',
      msg,
      request_id: request.id,
      ...(request.principal === undefined ? {} : { actor: actorOf(request.principal) }),
      data,
    });
  }

  /** A failure of the service itself (5xx): the id in the response leads here. */
  failed(request: FastifyRequest, err: LogsError): void {
    this.onError(err);
    this.logs
      .write(
        {
          channel: 'app',
          level: 'ERROR',
          event: 'service.error',
          outcome: 'error',
          msg: `${request.method} ${routeOf(request)} failed: ${err.code}`,
          request_id: request.id,
          data: { code: err.code, cause: causeOf(err) },
        },
        { wait: 'accepted' },
      )
      .catch((e: unknown) => this.onError(asLogsError(e)));
  }
}

function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? '(unmatched)';
}

function principalName(request: FastifyRequest): string {
  const p = request.principal;
  return p === undefined ? 'anonymous' : `token ${p.tokenId} (${p.role})`;
}

/** The cause's message, classified like any event text when it is written. */
function causeOf(err: LogsError): string | undefined {
  const cause = err.cause;
  return cause instanceof Error ? cause.message.slice(0, 500) : undefined;
}
