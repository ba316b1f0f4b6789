import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LogsError } from '../errors.js';
import type { ServiceConfig } from '../config/resolve.js';
import type { ServiceEvents } from './events.js';
import { sendError } from './errors.js';
import type { Principal } from '../access/principal.js';
import type { Role, TokenBook, TokenInfo } from '../access/tokens.js';
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
 * Failed authentications, counted per client address and per failing credential (the digest of
 * a bad token, so that one misconfigured client with a stale token is slowed down wherever it
 * sends from): after `slowAfter` in a window answers are delayed (doubling, at most 2 s), after
 * `maxFailures` the address or credential is refused for `lockoutMs`. Only failures are
 * throttled: a valid token or session is always let through, so that producers sharing an
 * address (127.0.0.1) cannot be locked out by someone guessing tokens. Bounded: the oldest
 * entries are forgotten first.
 */
export class FailureThrottle {
  private readonly entries = new Map<
    string,
    { failures: number; since: number; lockedUntil: number }
  >();
  private static readonly MAX_ENTRIES = 10_000;

  constructor(private readonly cfg: ServiceConfig['auth']) {}

  /** Milliseconds any of the keys is still refused for (0: not refused). */
  lockedFor(keys: readonly string[], now: number): number {
    let ms = 0;
    for (const key of keys) {
      const e = this.entries.get(key);
      if (e !== undefined) ms = Math.max(ms, e.lockedUntil - now);
    }
    return ms;
  }

  /** Count a failure against each key; how long to delay the answer, and whether one locked. */
  fail(keys: readonly string[], now: number): { delayMs: number; locked: boolean } {
    let delayMs = 0;
    let locked = false;
    for (const key of keys) {
      const r = this.failOne(key, now);
      delayMs = Math.max(delayMs, r.delayMs);
      locked ||= r.locked;
    }
    return { delayMs: locked ? 0 : delayMs, locked };
  }

  private failOne(key: string, now: number): { delayMs: number; locked: boolean } {
    let e = this.entries.get(key);
    if (e === undefined || (now - e.since > this.cfg.windowMs && e.lockedUntil <= now)) {
      e = { failures: 0, since: now, lockedUntil: 0 };
      this.entries.delete(key);
      if (this.entries.size >= FailureThrottle.MAX_ENTRIES) {
        const oldest = this.entries.keys().next().value;
        if (oldest !== undefined) this.entries.delete(oldest);
      }
      this.entries.set(key, e);
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

/** What a failed authentication is counted against: the client's address and the credential. */
export function failureKeys(address: string, credential: string | undefined): string[] {
  const keys = [`address ${address}`];
  if (credential !== undefined)
    keys.push(`credential ${createHash('sha256').update(credential).digest('base64url')}`);
  return keys;
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
      'too many failed authentications from this address or with this credential; try again later',
    ),
    { 'retry-after': String(Math.ceil(lockedMs / 1000)) },
  );
}

export interface AuthOptions {
  readonly tokens: TokenBook;
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
    const token = bearer(request.headers.authorization);
    if (token === undefined && request.headers.authorization === undefined) {
      const fromSession = await sessionPrincipal(request, now);
      if (fromSession instanceof LogsError) return refuse(request, reply, fromSession);
      if (fromSession !== undefined) return allow(request, reply, fromSession, roles);
    }
    // A valid token is let through whatever the throttle says: only failures are throttled.
    const info: TokenInfo | undefined =
      token === undefined ? undefined : await options.tokens.check(token, now);
    if (info === undefined) return failed(options, request, reply, token, now);
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
  async function sessionPrincipal(
    request: FastifyRequest,
    now: number,
  ): Promise<Principal | LogsError | undefined> {
    const id = requestCookie(request, SESSION_COOKIE);
    if (id === undefined) return undefined;
    const session = options.sessions.get(id);
    if (session === undefined)
      return new LogsError('AUTH_REQUIRED', 'the session has ended: sign in again');
    // The token behind it may have been revoked or have expired since.
    const info = await options.tokens.get(session.principal.tokenId);
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

/** No valid credential: 401 (slowed down after a few failures), or 429 once throttled. */
async function failed(
  options: AuthOptions,
  request: FastifyRequest,
  reply: FastifyReply,
  token: string | undefined,
  now: number,
): Promise<FastifyReply> {
  const keys = failureKeys(request.ip, token);
  const lockedMs = options.throttle.lockedFor(keys, now);
  if (lockedMs > 0) return sendThrottled(request, reply, options.events, lockedMs);
  const code = token === undefined ? 'AUTH_REQUIRED' : 'AUTH_INVALID';
  // A missing token is a client that forgot; a wrong one counts towards the throttle.
  const { delayMs, locked } =
    code === 'AUTH_INVALID' ? options.throttle.fail(keys, now) : { delayMs: 0, locked: false };
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
