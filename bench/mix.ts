import { randomUUID } from 'node:crypto';

/**
 * A realistic mix for the full pipeline (classification, chain, encryption), per 10 events:
 * 4 API requests (a user and an IP address: personal data, encrypted), 3 application events
 * (nothing personal), 2 audit events (an actor id: pseudonymized), 1 failed login (an e-mail,
 * an IP and a password in the payload: removed and encrypted). Both loggers get the same calls.
 */
export interface MixCall {
  /** dihya-logs channel; pino ignores it. */
  readonly channel: 'api' | 'app' | 'audit' | 'security';
  readonly level: 'info' | 'warning' | 'audit' | 'security';
  readonly fields: Record<string, unknown>;
  readonly msg: string;
}

const ROUTES = ['/v1/projects/:id', '/v1/templates', '/v1/users/me', '/v1/projects/:id/files'];
const TEMPLATES = ['react-admin', 'vue-shop', 'express-api', 'django-blog'];

function call(i: number): MixCall {
  const u = i % 20_000;
  const user = `user-${String(100_000 + u)}`;
  // A person connects from the same address most of the time.
  const ip = `203.0.${String((u >> 8) % 256)}.${String(u % 256)}`;
  switch (i % 10) {
    case 0:
    case 1:
    case 2:
    case 3:
      return {
        channel: 'api',
        level: 'info',
        msg: 'request handled',
        fields: {
          event: 'http.request',
          actor: { id: user },
          request_id: randomUUID(),
          data: {
            method: 'GET',
            route: ROUTES[i % ROUTES.length],
            status: 200,
            duration_ms: 3 + (i % 90),
            ip,
            user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/131.0',
          },
        },
      };
    case 4:
    case 5:
    case 6:
      return {
        channel: 'app',
        level: 'info',
        msg: i % 2 === 0 ? 'cache miss' : 'template rendered',
        fields: {
          event: i % 2 === 0 ? 'cache.miss' : 'template.render',
          data: { key: `project:${String(i % 9_973)}`, ttl_s: 60, took_ms: i % 40 },
        },
      };
    case 7:
    case 8:
      return {
        channel: 'audit',
        level: 'audit',
        msg: 'project generated from template',
        fields: {
          event: 'project.generate',
          actor: { id: user, type: 'user' },
          target: { type: 'project', id: `proj-${String(i % 9_973).padStart(6, '0')}` },
          outcome: 'success',
          request_id: randomUUID(),
          data: { template: TEMPLATES[i % TEMPLATES.length], files: 20 + (i % 180) },
        },
      };
    default:
      return {
        channel: 'security',
        level: 'security',
        msg: `login failed for ${user}@example.com from ${ip}`,
        fields: {
          event: 'auth.login.failure',
          actor: { email: `${user}@example.com`, ip },
          outcome: 'failure',
          data: { reason: 'bad password', password: `pw-${String(i)}` },
        },
      };
  }
}

export function mixPool(size = 4096): MixCall[] {
  return Array.from({ length: size }, (_, i) => call(i));
}

/** What a pino user would redact for the same events: three paths. */
export const PINO_REDACT_PATHS = ['data.password', 'actor.email', 'data.ip'];
