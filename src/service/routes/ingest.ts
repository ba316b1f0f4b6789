import type { FastifyInstance } from 'fastify';
import { LogsError } from '../../errors.js';
import type { Ack } from '../../store/store.js';
import { NdjsonBody, ProtobufBody } from '../body.js';
import { INGEST, type ServiceContext } from '../context.js';
import { foreignEvent } from '../foreign.js';
import { headerKeyError, idempotencyHeader, withIdempotencyKeys } from '../idempotency.js';

/** What an ingest request answers: per event, where it was stored (or why not). */
export interface IngestResult {
  readonly stored: number;
  readonly events: ReadonlyArray<
    { readonly channel: string; readonly seq: number } | { readonly dropped: 'below_min_level' }
  >;
}

/**
 * Store a batch all or nothing, and say where each event went. With an `Idempotency-Key`
 * (`key`), each event gets its key from it (see withIdempotencyKeys; `single`: the body was one
 * event), so that a retry is answered as the first request was, and stores nothing again.
 */
export async function ingest(
  ctx: ServiceContext,
  given: unknown[],
  key?: string,
  single = false,
): Promise<IngestResult> {
  if (given.length === 0) throw new LogsError('USAGE', 'no event in the request');
  if (given.length > ctx.config.maxEvents)
    throw new LogsError(
      'BATCH_TOO_LARGE',
      `a request holds at most ${ctx.config.maxEvents} events (this one ${given.length}); split it`,
    );
  const { events, fromHeader } =
    key === undefined
      ? { events: given, fromHeader: undefined }
      : withIdempotencyKeys(given, key, single);
  let acks: Array<Ack | null>;
  try {
    acks = await ctx.logs.writeAll(events);
  } catch (err) {
    ctx.health.writeFailed(err);
    throw fromHeader === undefined ? err : headerKeyError(err, fromHeader);
  }
  ctx.health.writeSucceeded(acks);
  let stored = 0;
  const out = acks.map((a) => {
    if (a === null) return { dropped: 'below_min_level' as const };
    stored += 1;
    ctx.metrics.ingested(a.channel);
    return { channel: a.channel, seq: a.seq };
  });
  return { stored, events: out };
}

export function ingestRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.post<{ Querystring: { foreign?: boolean; channel?: string } }>(
    '/v1/events',
    {
      config: { roles: INGEST },
      schema: {
        summary: 'Store events',
        description:
          "One event (JSON object), an array of events, or NDJSON (application/x-ndjson). All are stored or none: a bad event is named by its index. audit and security events are acknowledged once durable (after fsync). At most service.max_events events and service.body_limit bytes. With an Idempotency-Key header (1-128 visible ASCII characters), a retry within idempotency.window_ms stores nothing again and gets the same answer: a single event's key is the header, event i of a batch gets `<key>:<i>` unless it has an idempotency_key of its own. With `foreign=true`, each object is a log shipper's record (syslog-ng, Fluent Bit, Vector): its message, severity and time are read and the rest goes under data, in `channel` (default app); see docs/shippers.md.",
        tags: ['ingest'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            foreign: { type: 'boolean' },
            channel: { type: 'string', pattern: '^[a-z][a-z0-9_-]{0,31}$' },
          },
        },
      },
    },
    async (request) => {
      const body: unknown = request.body;
      const key = idempotencyHeader(request.headers);
      let events: unknown[];
      if (body instanceof NdjsonBody) events = body.values;
      else if (body instanceof ProtobufBody)
        throw new LogsError(
          'MEDIA_TYPE_UNSUPPORTED',
          'events are JSON or NDJSON here; OTLP protobuf goes to /v1/otlp/logs',
        );
      else if (Array.isArray(body)) events = body;
      else if (typeof body === 'object' && body !== null) events = [body];
      else
        throw new LogsError(
          'USAGE',
          'expected an event (JSON object), an array of events, or NDJSON',
        );
      const { foreign, channel } = request.query;
      if (foreign === true) events = events.map((e) => foreignEvent(e, channel ?? 'app'));
      else if (channel !== undefined)
        throw new LogsError('USAGE', 'channel= is for foreign records (foreign=true)');
      return ingest(ctx, events, key, !Array.isArray(body) && !(body instanceof NdjsonBody));
    },
  );
}
