import type { FastifyInstance } from 'fastify';
import { LogsError } from '../../errors.js';
import { NdjsonBody, ProtobufBody } from '../body.js';
import { INGEST, type ServiceContext } from '../context.js';
import {
  OTLP_CONTENT_TYPES,
  decodeOtlpLogs,
  encodeOtlpResponse,
  otlpJsonEvents,
  type OtlpLimits,
} from '../otlp.js';
import { idempotencyHeader } from '../idempotency.js';
import { ingest } from './ingest.js';

/**
 * OpenTelemetry OTLP/HTTP logs (`/v1/otlp/logs`, the path exporters use by default under
 * their endpoint), JSON or protobuf, stored all or nothing like `POST /v1/events`.
 */
export function otlpRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const limits: OtlpLimits = {
    maxRecords: ctx.config.maxEvents,
    // An attribute's map sits at depth 4 of the stored record (record, data, attributes, key).
    maxDepth: Math.max(2, ctx.logs.config.limits.maxDepth - 3),
    maxStringLength: ctx.logs.config.limits.maxRecordBytes,
  };
  app.post(
    '/v1/otlp/logs',
    {
      config: { roles: INGEST },
      schema: {
        summary: 'OpenTelemetry logs (OTLP/HTTP)',
        description:
          'An ExportLogsServiceRequest in JSON (application/json) or protobuf (application/x-protobuf); severity becomes the level, attributes go under data.attributes, trace and span ids are kept (docs/service-otlp.md). All records are stored or none. The answer is an empty ExportLogsServiceResponse in the request’s encoding. Any other Content-Type (NDJSON included) or a JSON charset other than UTF-8 is 415; an empty body is 400. With an Idempotency-Key header, record i gets the key `<key>:<i>`: a retried export stores nothing again.',
        tags: ['ingest'],
      },
    },
    async (request, reply) => {
      const body: unknown = request.body;
      const key = idempotencyHeader(request.headers);
      // No body, or no bytes of protobuf: an exporter never sends that (it exports records;
      // `{}` at the least in JSON); answering 200 would acknowledge nothing as stored.
      if (body === undefined || (body instanceof ProtobufBody && body.bytes.length === 0))
        throw new LogsError('USAGE', 'the body is empty: an ExportLogsServiceRequest is expected');
      // OTLP/HTTP has two encodings; NDJSON is not one of them.
      if (body instanceof NdjsonBody)
        throw new LogsError(
          'MEDIA_TYPE_UNSUPPORTED',
          'OTLP logs are application/json or application/x-protobuf',
        );
      const protobuf = body instanceof ProtobufBody;
      const events = protobuf
        ? decodeOtlpLogs(body.bytes, 'protobuf', limits)
        : otlpJsonEvents(body, limits);
      // An export with no record is a success (OTLP): nothing to store.
      // With an Idempotency-Key, record i gets `<key>:<i>`, as in a batch of POST /v1/events.
      if (events.length > 0) await ingest(ctx, events, key);
      return protobuf
        ? reply.type(OTLP_CONTENT_TYPES.protobuf).send(encodeOtlpResponse('protobuf'))
        : reply.type(OTLP_CONTENT_TYPES.json).send(encodeOtlpResponse('json'));
    },
  );
}
