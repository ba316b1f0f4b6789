import { parseCookie, stringifySetCookie } from 'cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The one cookie the service uses (the admin page's session), read and written with the
 * `cookie` package directly: Fastify's cookie plugin would add signing we do not need and, in
 * its current releases, a dependency that requires Node 22.
 */

/** The value of cookie `name` in the request's `Cookie` header, or undefined. */
export function requestCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined || header === '') return undefined;
  return parseCookie(header)[name];
}

export interface CookieOptions {
  readonly httpOnly: boolean;
  readonly sameSite: 'strict' | 'lax';
  readonly secure: boolean;
  readonly path: string;
  readonly maxAge: number;
}

/** Adds a `Set-Cookie` header to the answer. */
export function setCookie(
  reply: FastifyReply,
  name: string,
  value: string,
  options: CookieOptions,
): FastifyReply {
  return reply.header('set-cookie', stringifySetCookie(name, value, options));
}

/** Tells the browser to forget cookie `name` (same path as it was set with). */
export function clearCookie(reply: FastifyReply, name: string, path: string): FastifyReply {
  return reply.header(
    'set-cookie',
    stringifySetCookie(name, '', { path, expires: new Date(0), maxAge: 0 }),
  );
}
