import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { LogsError } from '../errors.js';
import { sendError } from './errors.js';

/** The admin page may load its own files only: no inline script or style, no framing. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

// Asset names the bundler writes: a flat directory, no dot files, no paths.
const ASSET_NAME = /^[\w-]+(?:\.[\w-]+)*\.(?:js|css|map|svg|png|woff2)$/;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

/**
 * The package's root: the nearest folder above this file whose package.json names dihya-logs
 * (this file runs from dist/service/ when installed, from build/src/service/ in the tests).
 */
function packageRoot(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'dihya-logs')
          return dir;
      } catch {
        // not ours: keep looking up
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** `dist/web` of the package, resolved through links and checked to stay inside the package. */
export function webRoot(): string | undefined {
  const root = packageRoot();
  if (root === undefined) return undefined;
  try {
    const realRoot = realpathSync(root);
    const web = realpathSync(path.join(realRoot, 'dist', 'web'));
    if (!web.startsWith(realRoot + path.sep)) return undefined;
    return existsSync(path.join(web, 'index.html')) ? web : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The admin page: `GET /` (index.html) and `GET /assets/{name}` (the bundle), public (the page
 * signs in through /v1/session), from a fixed root. Sets the security headers on every answer
 * of the service, API included.
 */
export function registerWeb(app: FastifyInstance, root = webRoot()): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    return payload;
  });
  const missing = (): LogsError =>
    new LogsError('NOT_FOUND', 'the admin page is not built (npm run build)');
  // The page is a handful of files the build wrote into a fixed root (no directory listing,
  // no path from the request: a name is one flat, checked component), read as they are asked.
  const send = async (reply: FastifyReply, file: string, cache: string): Promise<FastifyReply> =>
    reply
      .header('cache-control', cache)
      .type(CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream')
      .send(await readFile(file));

  app.get(
    '/',
    {
      config: { public: true },
      schema: { summary: 'The admin page (HTML)', tags: ['web'] },
    },
    async (request, reply) => {
      if (root === undefined) return sendError(reply, request, missing());
      return send(reply, path.join(root, 'index.html'), 'no-store');
    },
  );
  app.get<{ Params: { name: string } }>(
    '/assets/:name',
    {
      config: { public: true },
      schema: {
        summary: 'The admin page’s script and style sheet',
        tags: ['web'],
        params: {
          type: 'object',
          required: ['name'],
          properties: { name: { type: 'string', pattern: ASSET_NAME.source, maxLength: 100 } },
        },
      },
    },
    async (request, reply) => {
      const name = request.params.name;
      if (root === undefined) return sendError(reply, request, missing());
      // The pattern keeps the name flat (no separator, no dot file); the file must exist.
      const file = path.join(root, 'assets', name);
      if (!ASSET_NAME.test(name) || !existsSync(file))
        return sendError(reply, request, new LogsError('NOT_FOUND', 'no such file'));
      return send(reply, file, 'no-cache');
    },
  );
}
