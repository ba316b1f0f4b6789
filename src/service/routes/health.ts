import type { FastifyInstance } from 'fastify';
import { LogsError } from '../../errors.js';
import { READERS, type ServiceContext } from '../context.js';
import { sendError } from '../errors.js';

export function healthRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.get(
    '/healthz',
    {
      config: { public: true },
      schema: { summary: 'Liveness', description: 'The process answers.', tags: ['health'] },
    },
    () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      config: { public: true },
      schema: {
        summary: 'Readiness',
        description:
          'Ready when the writer runs, the last durable write succeeded and the logs’ filesystem has at least service.min_free_bytes free; 503 with the code of the problem otherwise (WRITE_FAILED, CHANNEL_FAILED, DISK_LOW).',
        tags: ['health'],
      },
    },
    (request, reply) => {
      const problem = ctx.health.problem();
      if (problem === undefined) return { status: 'ready' };
      // Answered here, not thrown: a probe polled every few seconds is not a failed request to
      // record (each record would go to the disk that is failing or filling).
      return sendError(
        reply,
        request,
        problem.code === 'DISK_LOW'
          ? new LogsError('DISK_LOW', `not ready: ${problem.message}`)
          : new LogsError(
              problem.code === 'CHANNEL_FAILED' ? 'CHANNEL_FAILED' : 'WRITE_FAILED',
              'not ready: a write to disk failed',
            ),
      );
    },
  );

  app.get(
    '/metrics',
    {
      config: { roles: READERS },
      schema: {
        summary: 'Prometheus metrics',
        description:
          'Events ingested per channel, requests per route and status, answer times, the writer’s counters, process metrics. Needs a token (Prometheus: authorization.credentials). Not audited: it holds counters only, labelled by channel, route template, method and status, never record content or ids.',
        tags: ['health'],
      },
    },
    async (_request, reply) =>
      reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics()),
  );
}
