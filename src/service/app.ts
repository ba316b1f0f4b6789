import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import type { ServiceConfig } from '../config/resolve.js';
import { LogsError, asLogsError } from '../errors.js';
import type { LogCore } from '../log/core.js';
import { VERSION } from '../version.js';
import { FailureThrottle, registerAuth } from './auth.js';
import { Sessions } from '../access/sessions.js';
import { sessionRoutes } from './routes/session.js';
import { registerBodyParsers } from './body.js';
import { Health, type ServiceContext } from './context.js';
import { rawErrorResponse, sendError, toLogsError } from './errors.js';
import { ServiceEvents } from './events.js';
import { readsOf, type Reads } from './reads.js';
import { Metrics } from './metrics.js';
import { gdprRoutes } from './routes/gdpr.js';
import { healthRoutes } from './routes/health.js';
import { ingestRoutes } from './routes/ingest.js';
import { otlpRoutes } from './routes/otlp.js';
import { integrityRoutes } from './routes/integrity.js';
import { tlogRoutes } from './routes/tlog.js';
import { latestCheckpointNote } from './checkpoint-note.js';
import { readRoutes } from './routes/read.js';
import { tailRoutes } from './routes/tail.js';
import { tokenRoutes } from './routes/tokens.js';
import type { TokenBook } from '../access/tokens.js';
import { Verification } from './verification.js';
import { registerWeb } from './web.js';
import { freeBytesOf } from '../detect/watch.js';
import { LogLayout } from '../store/file/index.js';

export interface ServiceDeps {
  /** The open logs: the service writes and reads through them (and owns their lock). */
  readonly logs: LogCore;
  readonly tokens: TokenBook;
  /** The master key: GDPR exports decrypt personal data with it. */
  readonly masterKey: Buffer;
  /** Default: the logs' configuration (`service:`). */
  readonly config?: ServiceConfig;
  readonly clock?: () => number;
  /** Failures no request waits for. Default: the logs' error reporting. */
  readonly onError?: (err: LogsError) => void;
}

/** The built app and what it shares with `serve` (verification, the tail streams). */
export interface ServiceApp extends FastifyInstance {
  readonly service: ServiceContext;
}

/**
 * Build the service: routes, authentication, limits and error answers. Never listens (tests
 * inject requests; `serve` listens). Closing it ends the tail streams and the index
 * connection; the logs and the token store stay the caller's.
 */
export async function buildApp(deps: ServiceDeps): Promise<ServiceApp> {
  const config = deps.config ?? deps.logs.config.service;
  const onError = deps.onError ?? ((err: LogsError) => deps.logs.reportError(err));
  const app = createFastify(config);

  const reads = readsOf(deps.logs);
  const ctx = contextOf(deps, config, reads, onError);
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) {
      if (method === 'HEAD') continue; // Fastify's automatic twin of each GET
      ctx.routes.push({
        method,
        url: r.url,
        roles: r.config?.roles,
        public: r.config?.public === true,
      });
    }
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'dihya-logs',
        version: VERSION,
        description:
          'Structured, secret-free, tamper-evident, GDPR-erasable logs: ingest, query, live tail, integrity proofs, GDPR requests. Every route but /healthz, /readyz and this document needs `Authorization: Bearer <token>`; errors are `{ "error": { "code", "message", "id" } }`.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      },
      security: [{ bearer: [] }],
    },
  });

  registerBodyParsers(app);
  registerAuth(app, ctx);
  registerAnswers(app, ctx);

  ingestRoutes(app, ctx);
  otlpRoutes(app, ctx);
  readRoutes(app, ctx);
  tailRoutes(app, ctx);
  integrityRoutes(app, ctx);
  tlogRoutes(app, ctx, {
    checkpointNote: (channel) =>
      latestCheckpointNote(ctx.reads.index('checkpoint notes').layout, deps.logs.logId, channel),
  });
  gdprRoutes(app, ctx);
  tokenRoutes(app, ctx);
  sessionRoutes(app, ctx);
  registerWeb(app);
  healthRoutes(app, ctx);
  app.get(
    '/v1/openapi.json',
    {
      config: { public: true },
      schema: { summary: 'This API, as OpenAPI 3.1', tags: ['health'] },
    },
    () => app.swagger(),
  );

  app.addHook('onClose', (_instance, done) => {
    for (const stop of [...ctx.streams]) stop();
    reads.close();
    done();
  });
  // A Fastify instance is thenable (it resolves once ready): returning it from an async
  // function awaits `ready()`, and the type seen through `await` is Fastify's own.
  const built: unknown = Object.assign(app, { service: ctx });
  return built as ServiceApp;
}

/** Fastify with our limits, and a server of our own whose timeouts stop slow clients. */
function createFastify(config: ServiceConfig): FastifyInstance {
  return Fastify({
    logger: false,
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy,
    genReqId: () => randomUUID(),
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    // The router's refusals (a bad percent-encoding, a path segment too long) in our shape:
    // Fastify's own answers repeat the URL.
    frameworkErrors: (err, request, reply) => {
      void sendError(reply, request, toLogsError(err));
    },
    // Our own server: its timeouts are the defence against slow clients (a request not fully
    // received in requestTimeoutMs is answered 408 and closed).
    serverFactory: (handler) => {
      const server = createServer(
        {
          requestTimeout: config.requestTimeoutMs,
          headersTimeout: Math.min(config.requestTimeoutMs, 60_000),
          connectionsCheckingInterval: Math.min(1000, config.requestTimeoutMs),
          maxHeaderSize: 16 * 1024,
        },
        (req: IncomingMessage, res: ServerResponse) => handler(req, res),
      );
      server.keepAliveTimeout = 5000;
      return server;
    },
    clientErrorHandler: (err: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) return;
      const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
      socket.end(
        timeout
          ? rawErrorResponse(408, 'REQUEST_TIMEOUT', 'the request was not received in time')
          : err.code === 'HPE_HEADER_OVERFLOW'
            ? rawErrorResponse(431, 'USAGE', 'the request headers are too large')
            : rawErrorResponse(400, 'USAGE', 'the request is malformed HTTP'),
      );
    },
  });
}

/** What every route shares: the logs, the index, the event and metric recorders, the limits. */
function contextOf(
  deps: ServiceDeps,
  config: ServiceConfig,
  reads: Reads,
  onError: (err: LogsError) => void,
): ServiceContext {
  return {
    logs: deps.logs,
    tokens: deps.tokens,
    config,
    reads,
    events: new ServiceEvents(deps.logs, onError),
    metrics: new Metrics(deps.logs),
    health: new Health(
      deps.logs,
      config.minFreeBytes,
      () => freeBytesOf(deps.logs.dir),
      deps.clock ?? Date.now,
    ),
    verification: new Verification(
      new LogLayout(deps.logs.dir),
      deps.logs.config.integrity.publicKey,
      {
        logName: deps.logs.config.integrity.logName,
        witnesses: deps.logs.config.integrity.witnesses,
      },
      deps.logs.config.store.kind === 'postgres' ? deps.logs.config.store : undefined,
    ),
    masterKey: deps.masterKey,
    sessions: new Sessions(deps.clock ?? Date.now),
    throttle: new FailureThrottle(config.auth),
    clock: deps.clock ?? Date.now,
    onError,
    routes: [],
    streams: new Set(),
  };
}

/** What every answer gets: safety headers, a metric, and errors in one shape. */
function registerAnswers(app: FastifyInstance, ctx: ServiceContext): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    ctx.metrics.answered(
      request.routeOptions.url ?? '(unmatched)',
      request.method,
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
  });
  app.setErrorHandler(async (err, request, reply) => {
    const e = toLogsError(err);
    if (e.httpStatus >= 500) ctx.events.failed(request, asLogsError(err));
    if (
      e.code === 'WRITE_FAILED' ||
      e.code === 'CHANNEL_FAILED' ||
      e.code === 'DATABASE_UNAVAILABLE'
    )
      ctx.health.writeFailed(e);
    return sendError(reply, request, e);
  });
  app.setNotFoundHandler(async (request, reply) =>
    sendError(reply, request, new LogsError('NOT_FOUND', 'no such route')),
  );
}
