import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LogsError } from '../errors.js';
import type { ServiceConfig } from '../config/resolve.js';
import type { ServiceEvents } from './events.js';
import { sendError } from './errors.js';
import type { Principal } from '../access/principal.js';
import type { Role, TokenInfo, TokenStore } from '../access/tokens.js';
import { SESSION_COOKIE, type Sessions } from '../access/sessions.js';
import { requestCookie } from './cookies.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Roles allowed on this route; absent on public routes. */
    roles?: readonly Role[];
    /** No authentication (health, readiness, the OpenAPI document). */
    public?: boolean;
    /**
     * Also answers a caller that presents no credential at all (no session cookie, no
     * `Authorization` header), with no principal: the admin page's signed-out session probe.
     * A credential that fails is still refused and recorded.
     */
    signedOut?: boolean;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** The principal of an authenticated route's request (the auth hook has set it). */
export function principalOf(request: FastifyRequest): Principal {
  const p = request.principal;
  if (p === undefined) throw new LogsError('INTERNAL', 'no principal on an authenticated route');
  return p;
}

/**
 * Failed authentications per client address: after `slowAfter` in a window answers are
 * delayed (doubling, at most 2 s), after `maxFailures` the address is refused for `lockoutMs`.
 * Bounded: the oldest addresses are forgotten first.
 */
export class FailureThrottle {
  private readonly byAddress = new Map<
    string,
    { failures: number; since: number; lockedUntil: number }
  >();
  private static readonly MAX_ADDRESSES = 10_000;

  constructor(private readonly cfg: ServiceConfig['auth']) {}

  /** Milliseconds the address is still refused for (0: not refused). */
  lockedFor(address: string, now: number): number {
    const e = this.byAddress.get(address);
    return e === undefined ? 0 : Math.max(0, e.lockedUntil - now);
  }

  /** Count a failure; returns how long to delay the answer, and whether it locked the address. */
  fail(address: string, now: number): { delayMs: number; locked: boolean } {
    let e = this.byAddress.get(address);
    if (e === undefined || now - e.since > this.cfg.windowMs) {
      e = { failures: 0, since: now, lockedUntil: 0 };
      this.byAddress.delete(address);
      if (this.byAddress.size >= FailureThrottle.MAX_ADDRESSES) {
        const oldest = this.byAddress.keys().next().value;
        if (oldest !== undefined) this.byAddress.delete(oldest);
      }
      this.byAddress.set(address, e);
    }
    e.failures += 1;
    if (e.failures >= this.cfg.maxFailures) {
      e.lockedUntil = now + this.cfg.lockoutMs;
      return { delayMs: 0, locked: true };
    }
    const over = e.failures - this.cfg.slowAfter;
    return { delayMs: over <= 0 ? 0 : Math.min(2000, 100 * 2 ** (over - 1)), locked: false };
  }
}

/** Refuse a request from an address locked out by failed authentications (a security event). */
export function sendThrottled(
  request: FastifyRequest,
  reply: FastifyReply,
  events: ServiceEvents,
  lockedMs: number,
): FastifyReply {
  events.denied(request, 'AUTH_THROTTLED', undefined);
  return sendError(
    reply,
    request,
    new LogsError(
      'AUTH_THROTTLED',
      'too many failed authentications from this address; try again later',
    ),
    { 'retry-after': String(Math.ceil(lockedMs / 1000)) },
  );
}

export interface AuthOptions {
  readonly tokens: TokenStore;
  readonly sessions: Sessions;
  readonly throttle: FailureThrottle;
  readonly events: ServiceEvents;
  readonly clock: () => number;
}

// Methods that change nothing: a session needs no CSRF token for them.
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Every route is authenticated unless it is marked public, and allowed only to the roles it
 * names: by a bearer token, or by the admin page's session cookie (with its CSRF token on
 * every state-changing call). Runs on `onRequest`, before the body is read: a refused
 * request's body is never buffered. Every refusal is a `security` event. A route marked
 * `signedOut` lets a caller with no credential at all through, with no principal.
 */
export function registerAuth(app: FastifyInstance, options: AuthOptions): void {
  const { throttle } = options;
  app.addHook('onRequest', async (request, reply) => {
    const cfg = request.routeOptions.config;
    // No such route: the not-found handler answers 404 (a mistyped URL is not a refusal).
    if (cfg.public === true || request.routeOptions.url === undefined) return;
    const roles = cfg.roles;
    // A route without roles and not public is a mistake: refuse rather than open it.
    if (roles === undefined) {
      return refuse(request, reply, new LogsError('FORBIDDEN', 'this route is not available'));
    }
    // Nothing presented, so nothing failed: not a refusal, no security event, no throttle.
    if (cfg.signedOut === true && noCredential(request)) return;
    const now = options.clock();
    const lockedMs = throttle.lockedFor(request.ip, now);
    if (lockedMs > 0) return sendThrottled(request, reply, options.events, lockedMs);
    const token = bearer(request.headers.authorization);
    if (token === undefined && request.headers.authorization === undefined) {
      const fromSession = sessionPrincipal(request, now);
      if (fromSession instanceof LogsError) return refuse(request, reply, fromSession);
      if (fromSession !== undefined) return allow(request, reply, fromSession, roles);
    }
    const info: TokenInfo | undefined =
      token === undefined ? undefined : options.tokens.check(token, now);
    if (info === undefined) {
      const code = token === undefined ? 'AUTH_REQUIRED' : 'AUTH_INVALID';
      // A missing token is a client that forgot; a wrong one counts towards the throttle.
      const { delayMs, locked } =
        code === 'AUTH_INVALID' ? throttle.fail(request.ip, now) : { delayMs: 0, locked: false };
      options.events.denied(request, locked ? 'AUTH_THROTTLED' : code, undefined);
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      return sendError(
        reply,
        request,
        new LogsError(
          code,
          code === 'AUTH_REQUIRED'
            ? 'this route needs a token: Authorization: Bearer <token>'
            : 'the token is unknown, revoked or expired',
        ),
        { 'www-authenticate': 'Bearer realm="dihya-logs"' },
      );
    }
    return allow(request, reply, { tokenId: info.id, name: info.name, role: info.role }, roles);
  });

  function allow(
    request: FastifyRequest,
    reply: FastifyReply,
    principal: Principal,
    roles: readonly Role[],
  ): FastifyReply | undefined {
    if (!roles.includes(principal.role)) {
      options.events.denied(request, 'FORBIDDEN', principal);
      return sendError(
        reply,
        request,
        new LogsError('FORBIDDEN', `the role ${principal.role} may not use this route`),
      );
    }
    request.principal = principal;
    return undefined;
  }

  /** The principal of a session cookie; an error when it is stale or lacks its CSRF token. */
  function sessionPrincipal(
    request: FastifyRequest,
    now: number,
  ): Principal | LogsError | undefined {
    const id = requestCookie(request, SESSION_COOKIE);
    if (id === undefined) return undefined;
    const session = options.sessions.get(id);
    if (session === undefined)
      return new LogsError('AUTH_REQUIRED', 'the session has ended: sign in again');
    // The token behind it may have been revoked or have expired since.
    const info = options.tokens.get(session.principal.tokenId);
    if (
      info === undefined ||
      info.revoked !== undefined ||
      (info.expires !== undefined && Date.parse(info.expires) <= now)
    ) {
      options.sessions.end(id);
      return new LogsError('AUTH_INVALID', 'the token of this session was revoked or expired');
    }
    if (
      !SAFE_METHODS.has(request.method) &&
      !options.sessions.csrfMatches(session, request.headers['x-csrf-token'])
    )
      return new LogsError(
        'FORBIDDEN',
        'a state-changing call needs the session’s X-CSRF-Token header',
      );
    return session.principal;
  }

  function refuse(request: FastifyRequest, reply: FastifyReply, err: LogsError): FastifyReply {
    options.events.denied(request, err.code, undefined);
    return sendError(reply, request, err);
  }
}

/** The request carries no credential at all: no `Authorization` header, no session cookie. */
function noCredential(request: FastifyRequest): boolean {
  return (
    request.headers.authorization === undefined &&
    requestCookie(request, SESSION_COOKIE) === undefined
  );
}

/** The token of an `Authorization: Bearer <token>` header. */
function bearer(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^Bearer +(\S{1,200})\s*$/i.exec(header);
  return m?.[1];
}
