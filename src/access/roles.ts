/**
 * Who may do what through `dihya-logs serve`, as the policy states it. The service decides
 * from each route's `config.roles` (src/service/routes/); the policy and the service both read
 * this table (a lower layer than either), and test/policy/access.test.ts checks it against the
 * routes the service registers.
 */

export const POLICY_ROLES = ['ingest', 'auditor', 'dpo', 'admin'] as const;
export type PolicyRole = (typeof POLICY_ROLES)[number];

export interface RouteAccess {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly url: string;
  readonly roles: readonly PolicyRole[];
  readonly what: string;
}

const INGEST: readonly PolicyRole[] = ['ingest', 'admin'];
const READERS: readonly PolicyRole[] = ['auditor', 'dpo', 'admin'];
const GDPR: readonly PolicyRole[] = ['dpo', 'admin'];
const ADMIN: readonly PolicyRole[] = ['admin'];
const EVERYONE: readonly PolicyRole[] = ['auditor', 'dpo', 'admin', 'ingest'];

/** Every route that needs a token, with the roles allowed. */
export const ROUTE_ACCESS: readonly RouteAccess[] = [
  { method: 'POST', url: '/v1/events', roles: INGEST, what: 'write events' },
  { method: 'POST', url: '/v1/otlp/logs', roles: INGEST, what: 'write OpenTelemetry logs' },
  { method: 'GET', url: '/v1/events', roles: READERS, what: 'query records' },
  { method: 'GET', url: '/v1/events/:channel/:seq', roles: READERS, what: 'read one record' },
  { method: 'GET', url: '/v1/tail', roles: READERS, what: 'follow new records (live tail)' },
  { method: 'GET', url: '/v1/stats', roles: READERS, what: 'counts for charts' },
  { method: 'GET', url: '/v1/integrity', roles: READERS, what: 'integrity state, checkpoints' },
  { method: 'POST', url: '/v1/integrity/verify', roles: READERS, what: 'run a verification' },
  { method: 'GET', url: '/v1/proofs/inclusion', roles: READERS, what: 'inclusion proof' },
  { method: 'GET', url: '/v1/proofs/consistency', roles: READERS, what: 'consistency proof' },
  { method: 'GET', url: '/metrics', roles: READERS, what: 'Prometheus metrics' },
  { method: 'POST', url: '/v1/gdpr/exports', roles: GDPR, what: 'GDPR export of a person' },
  { method: 'GET', url: '/v1/gdpr/exports/:id', roles: GDPR, what: 'download an export bundle' },
  { method: 'POST', url: '/v1/gdpr/erasures', roles: GDPR, what: 'GDPR erasure of a person' },
  { method: 'GET', url: '/v1/gdpr/requests', roles: GDPR, what: 'the GDPR request register' },
  { method: 'GET', url: '/v1/tokens', roles: ADMIN, what: 'list tokens' },
  { method: 'POST', url: '/v1/tokens', roles: ADMIN, what: 'create a token' },
  { method: 'DELETE', url: '/v1/tokens/:id', roles: ADMIN, what: 'revoke a token' },
  { method: 'GET', url: '/v1/session', roles: EVERYONE, what: 'who is signed in (admin page)' },
  { method: 'DELETE', url: '/v1/session', roles: EVERYONE, what: 'sign out (admin page)' },
];

/** Routes open without a token. */
export const PUBLIC_ROUTES: readonly string[] = [
  'GET /healthz',
  'GET /readyz',
  'GET /v1/openapi.json',
  'POST /v1/session',
  'GET /',
  'GET /assets/:name',
  'GET /v1/tlog/:channel/checkpoint',
  'GET /v1/tlog/:channel/tile/*',
];

/** Roles that see personal values put back (decrypted); the others see pseudonyms. */
export const REVEALING_ROLES: readonly PolicyRole[] = ['dpo', 'admin'];

/** What each role may do, in words, for the policy and for its summary. */
export const ROLE_DUTIES: Readonly<Record<PolicyRole, readonly string[]>> = {
  ingest: ['write events (JSON, NDJSON, OpenTelemetry)'],
  auditor: [
    'query and read records, as stored (pseudonyms and placeholders, no personal value)',
    'live tail',
    'statistics and metrics',
    'integrity state, verification runs, inclusion and consistency proofs',
  ],
  dpo: [
    'everything auditor may, with personal values put back',
    'GDPR exports, erasures and the request register',
  ],
  admin: [
    'everything: writing, reading with personal values, GDPR requests',
    'tokens: create, list, revoke',
  ],
};
