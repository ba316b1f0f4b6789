import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { LogsError, asLogsError, isLogsError } from '../errors.js';
import type { WitnessConfig } from './config.js';
import { Witness, type WitnessDeps } from './witness.js';

/** The witness's HTTP app: a Fastify instance that has its Witness. */
export interface WitnessApp extends FastifyInstance {
  readonly witness: Witness;
}

const TEXT = 'text/plain; charset=utf-8';

/**
 * Build the tlog-witness HTTP app: `POST /add-checkpoint` and `GET /<origin hash>/checkpoint`.
 * Never listens (tests inject; serveWitness listens). Malformed input is a 4xx, never a 5xx.
 */
export async function buildWitnessApp(
  config: WitnessConfig,
  deps: WitnessDeps,
): Promise<WitnessApp> {
  const witness = new Witness(config, deps);
  const app = Fastify({
    logger: false,
    bodyLimit: config.bodyLimit,
    return503OnClosing: true,
    serverFactory: (handler) => {
      const server = createServer(
        { requestTimeout: 30_000, headersTimeout: 30_000, maxHeaderSize: 16 * 1024 },
        (req: IncomingMessage, res: ServerResponse) => handler(req, res),
      );
      server.keepAliveTimeout = 5000;
      return server;
    },
  });
  app.decorate('witness', witness);
  // The body is read as bytes whatever its Content-Type says: the spec names none.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: unknown, _req, reply) => {
    const e = err as { statusCode?: number; code?: string } | undefined;
    if (isLogsError(err)) return sendError(reply, err);
    if (e?.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || e?.statusCode === 413)
      return sendError(
        reply,
        new LogsError('BODY_TOO_LARGE', `the body is over ${config.bodyLimit} bytes`),
      );
    if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500)
      return sendError(reply, new LogsError('USAGE', 'malformed request'));
    return sendError(reply, asLogsError(err));
  });
  app.setNotFoundHandler((_req, reply) =>
    sendError(reply, new LogsError('NOT_FOUND', 'no such route')),
  );

  app.post('/add-checkpoint', async (req, reply) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const lines = await witness.addCheckpoint(body);
    return reply.code(200).type(TEXT).send(lines);
  });

  app.get<{ Params: { hash: string } }>('/:hash/checkpoint', async (req, reply) => {
    const note = /^[0-9a-f]{64}$/.test(req.params.hash)
      ? witness.latest(req.params.hash)
      : undefined;
    if (note === undefined)
      throw new LogsError('WITNESS_ORIGIN_UNKNOWN', 'no cosigned checkpoint for that origin');
    return reply.code(200).type(TEXT).header('cache-control', 'no-store').send(note);
  });

  await app.ready();
  return app as unknown as WitnessApp;
}

function sendError(reply: FastifyReply, err: LogsError): FastifyReply {
  if (err.code === 'WITNESS_OLD_SIZE') {
    // tlog-witness: the latest cosigned size alone, as text/x.tlog.size.
    const size = Number(err.details?.size ?? 0);
    return reply.code(409).type('text/x.tlog.size').send(`${size}\n`);
  }
  return reply.code(err.httpStatus).type(TEXT).send(`${err.code}: ${err.message}\n`);
}

/** A listening witness. */
export interface ServedWitness {
  readonly app: WitnessApp;
  /** http://host:port */
  readonly url: string;
  close(): Promise<void>;
}

/** Build the app and listen on the configured address (loopback by default). */
export async function serveWitness(
  config: WitnessConfig,
  deps: WitnessDeps,
  listen: { readonly host?: string; readonly port?: number } = {},
): Promise<ServedWitness> {
  const app = await buildWitnessApp(config, deps);
  const host = listen.host ?? config.host;
  const port = listen.port ?? config.port;
  try {
    await app.listen({ host, port });
  } catch (err) {
    await app.close();
    throw asLogsError(err);
  }
  const address = app.server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return Object.freeze({
    app,
    url: `http://${shown}:${bound}`,
    close: () => app.close(),
  });
}
