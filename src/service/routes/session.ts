import type { FastifyInstance } from 'fastify';
import { LogsError } from '../../errors.js';
import { failureKeys, sendThrottled } from '../auth.js';
import { READERS, INGEST, type ServiceContext } from '../context.js';
import { sendError } from '../errors.js';
import { SESSION_COOKIE, Sessions } from '../../access/sessions.js';
import { clearCookie, requestCookie, setCookie } from '../cookies.js';
import { ROLES } from '../../access/tokens.js';

// The two answers of GET /v1/session, as /v1/openapi.json describes them.
const SIGNED_IN = {
  type: 'object',
  description: 'Signed in, by a token or a session',
  additionalProperties: false,
  required: ['tokenId', 'name', 'role'],
  properties: {
    tokenId: { type: 'string' },
    name: { type: 'string' },
    role: { type: 'string', enum: ROLES },
    csrf: { type: 'string', description: 'For a session: send it as X-CSRF-Token' },
  },
} as const;

const SIGNED_OUT = {
  type: 'object',
  description: 'No credential came with the request',
  additionalProperties: false,
  required: ['signedIn'],
  properties: { signedIn: { type: 'boolean', const: false } },
} as const;

/**
 * The admin page signs in with a token and then holds a session cookie (HttpOnly,
 * SameSite=Strict, Secure over HTTPS); state-changing calls carry its CSRF token.
 */
export function sessionRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const everyone = [...new Set([...READERS, ...INGEST])];

  app.post<{ Body: { token: string } }>(
    '/v1/session',
    {
      config: { public: true },
      schema: {
        summary: 'Sign in (admin page)',
        description:
          'Exchanges a token for a session cookie. Answers the role and the CSRF token to send as X-CSRF-Token on POST and DELETE calls. Failed sign-ins count towards the throttle of the address and of the token given; a valid token always signs in.',
        tags: ['session'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['token'],
          properties: { token: { type: 'string', minLength: 1, maxLength: 200 } },
        },
      },
    },
    async (request, reply) => {
      const now = ctx.clock();
      // A valid token signs in whatever the throttle says: only failures are throttled.
      const info = await ctx.tokens.check(request.body.token, now);
      if (info === undefined) {
        const keys = failureKeys(request.ip, request.body.token);
        const locked = ctx.throttle.lockedFor(keys, now);
        if (locked > 0) return sendThrottled(request, reply, ctx.events, locked);
        const { delayMs } = ctx.throttle.fail(keys, now);
        ctx.events.denied(request, 'AUTH_INVALID', undefined);
        if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
        return sendError(
          reply,
          request,
          new LogsError('AUTH_INVALID', 'the token is unknown, revoked or expired'),
        );
      }
      const session = ctx.sessions.create({ tokenId: info.id, name: info.name, role: info.role });
      request.principal = session.principal;
      await ctx.events.admin(
        request,
        'session.started',
        `signed in to the admin page with token ${info.id}`,
        {
          token_id: info.id,
          role: info.role,
        },
      );
      return setCookie(reply, SESSION_COOKIE, session.id, {
        httpOnly: true,
        sameSite: 'strict',
        secure: request.protocol === 'https',
        path: '/',
        maxAge: Sessions.maxAgeSeconds,
      })
        .code(201)
        .send({ tokenId: info.id, name: info.name, role: info.role, csrf: session.csrf });
    },
  );

  app.get(
    '/v1/session',
    {
      // The page asks at every load, before anyone signed in: that is not a failed sign-in.
      config: { roles: everyone, signedOut: true },
      schema: {
        summary: 'Who is signed in',
        description:
          'The role and name of the caller; for a session, its CSRF token too. Without any credential (no session cookie, no Authorization header) it answers `{ "signedIn": false }`, and records nothing; a credential that fails is refused (401) and recorded like on any route.',
        tags: ['session'],
        response: { 200: { oneOf: [SIGNED_IN, SIGNED_OUT] } },
      },
    },
    (request) => {
      const p = request.principal;
      // Only a caller with no credential at all comes here without one (`signedOut` above).
      if (p === undefined) return { signedIn: false };
      const session = ctx.sessions.get(requestCookie(request, SESSION_COOKIE));
      return {
        tokenId: p.tokenId,
        name: p.name,
        role: p.role,
        ...(session === undefined ? {} : { csrf: session.csrf }),
      };
    },
  );

  app.delete(
    '/v1/session',
    {
      config: { roles: everyone },
      schema: { summary: 'Sign out', description: 'Ends the session.', tags: ['session'] },
    },
    async (request, reply) => {
      ctx.sessions.end(requestCookie(request, SESSION_COOKIE));
      return clearCookie(reply, SESSION_COOKIE, '/').code(204).send();
    },
  );
}
