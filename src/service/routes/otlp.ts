import type { FastifyInstance } from 'fastify';
import { LogsError } from '../../errors.js';
import { ProtobufBody } from '../body.js';
import { INGEST, type ServiceContext } from '../context.js';
import {
  OTLP_CONTENT_TYPES,
  decodeOtlpLogs,
  encodeOtlpResponse,
  otlpJsonEvents,
  type OtlpLimits,
} from '../otlp.js';
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
          'An ExportLogsServiceRequest in JSON (application/json) or protobuf (application/x-protobuf); severity becomes the level, attributes go under data.attributes, trace and span ids are kept (docs/service-otlp.md). All records are stored or none. The answer is an empty ExportLogsServiceResponse in the request’s encoding.',
        tags: ['ingest'],
      },
    },
    async (request, reply) => {
      const body: unknown = request.body;
      const protobuf = body instanceof ProtobufBody;
      let events;
      if (protobuf) events = decodeOtlpLogs(body.bytes, 'protobuf', limits);
      else if (typeof body === 'object' && body !== null && !Array.isArray(body))
        events = otlpJsonEvents(body, limits);
      else
        throw new LogsError(
          'MEDIA_TYPE_UNSUPPORTED',
          'OTLP logs are application/json or application/x-protobuf',
        );
      // An export with no record is a success (OTLP): nothing to store.
      if (events.length > 0) await ingest(ctx, events);
      return protobuf
        ? reply.type(OTLP_CONTENT_TYPES.protobuf).send(encodeOtlpResponse('protobuf'))
        : reply.type(OTLP_CONTENT_TYPES.json).send(encodeOtlpResponse('json'));
    },
  );
}
