import type { FastifyInstance } from 'fastify';
import { LogsError } from '../../errors.js';
import { READERS, type ServiceContext } from '../context.js';

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
          'Ready when the writer runs and the last write to disk succeeded; 503 with the code of the failure otherwise.',
        tags: ['health'],
      },
    },
    () => {
      const problem = ctx.health.problem();
      if (problem !== undefined)
        throw new LogsError(
          problem.code === 'CHANNEL_FAILED' ? 'CHANNEL_FAILED' : 'WRITE_FAILED',
          'not ready: a write to disk failed',
        );
      return { status: 'ready' };
    },
  );

  app.get(
    '/metrics',
    {
      config: { roles: READERS },
      schema: {
        summary: 'Prometheus metrics',
        description:
          'Events ingested per channel, requests per route and status, answer times, the writer’s counters, process metrics. Needs a token (Prometheus: authorization.credentials).',
        tags: ['health'],
      },
    },
    async (_request, reply) =>
      reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics()),
  );
}
