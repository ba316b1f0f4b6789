/** An event dihya-logs writes by itself, besides the catalogue's (src/event/catalogue.ts). */
export interface BuiltInEvent {
  readonly event: string;
  readonly channel: string;
  /** One of the seven levels, or a description of how it is chosen. */
  readonly level: string;
  readonly by: string;
  readonly description: string;
}

/**
 * The events of the HTTP service (src/service/events.ts, routes/), of GDPR requests
 * (src/gdpr/), of the writer and of the producers' adapters (middleware, OpenTelemetry, pino).
 * Alerts (`alert.*`) are listed with the detectors that raise them.
 */
export const BUILT_IN_EVENTS: readonly BuiltInEvent[] = [
  {
    event: 'auth.failure',
    channel: 'security',
    level: 'SECURITY',
    by: 'service',
    description:
      'A request without a valid token (none, unknown, revoked, expired) or throttled: route, method, code, token id, the address encrypted.',
  },
  {
    event: 'log.read',
    channel: 'audit',
    level: 'AUDIT',
    by: 'service',
    description:
      'Every answered read (query, record, tail, stats, integrity, request register, export download): token, filter, count, the pseudonyms of the people it returned; durable before the answer.',
  },
  {
    event: 'token.created',
    channel: 'audit',
    level: 'AUDIT',
    by: 'service, CLI',
    description: 'A service token was created: its id, name, role and expiry (never its secret).',
  },
  {
    event: 'token.revoked',
    channel: 'audit',
    level: 'AUDIT',
    by: 'service, CLI',
    description: 'A service token was revoked.',
  },
  {
    event: 'session.started',
    channel: 'audit',
    level: 'AUDIT',
    by: 'service',
    description: 'Someone signed in to the admin page with a token.',
  },
  {
    event: 'log.verify.requested',
    channel: 'audit',
    level: 'AUDIT',
    by: 'service',
    description: 'A verification of the whole log was started through the service.',
  },
  {
    event: 'service.error',
    channel: 'app',
    level: 'ERROR',
    by: 'service',
    description: 'A failure of the service itself (a 5xx answer): its code and request id.',
  },
  {
    event: 'gdpr.export',
    channel: 'audit',
    level: 'AUDIT',
    by: 'GDPR export',
    description:
      'A GDPR access or portability request: request id, the person as a pseudonym, counts per channel, reason (no personal value).',
  },
  {
    event: 'gdpr.erasure',
    channel: 'audit',
    level: 'AUDIT',
    by: 'GDPR erasure',
    description:
      'A GDPR erasure request, written before anything is destroyed; status done or scheduled (retention duty), due date.',
  },
  {
    event: 'keys.rotated',
    channel: 'audit',
    level: 'AUDIT',
    by: 'writer',
    description: 'New keys for encrypted channels (`dihya-logs keys rotate`).',
  },
  {
    event: 'http.request',
    channel: 'api',
    level: 'INFO, WARNING (4xx), ERROR (5xx)',
    by: 'Express and Fastify middleware',
    description:
      'One HTTP request of the application: method, route, status, duration, sizes, user agent, selected headers and query (classified).',
  },
  {
    event: 'otel.log',
    channel: 'app',
    level: 'from the OpenTelemetry severity',
    by: 'service (OTLP ingest)',
    description:
      'A log record received over OTLP/HTTP without an event name of its own; attribute `dihya.channel` picks another channel.',
  },
  {
    event: 'pino.log',
    channel: 'app',
    level: 'from the pino level',
    by: 'pino transport',
    description: 'A pino log line without an event type of its own.',
  },
];
