import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { asLogsError } from '../../errors.js';
import { parseCheckpoint, type Checkpoint } from '../../integrity/checkpoint.js';
import type { LogLayout } from '../../store/file/layout.js';
import { ADMIN, READERS, type ServiceContext } from '../context.js';
import { actorOf } from '../events.js';

const TAIL_BYTES = 256 * 1024;

/**
 * The latest signed checkpoint of each channel, from the end of the checkpoint log. Read-only
 * (the writer may be appending: an unfinished last line is skipped, never moved aside).
 */
export function latestCheckpoints(layout: LogLayout, logId: string): Checkpoint[] {
  const fd = openSync(layout.checkpointsFile, 'r');
  let text: string;
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - TAIL_BYTES);
    const buf = Buffer.alloc(size - start);
    readSync(fd, buf, 0, buf.length, start);
    text = buf.toString('utf8');
  } finally {
    closeSync(fd);
  }
  const lines = text.split('\n');
  lines.pop(); // after the last newline: empty, or a line being written
  const latest = new Map<string, Checkpoint>();
  for (const line of lines) {
    try {
      const cp = parseCheckpoint(line);
      if (cp.log_id === logId) latest.set(cp.channel, cp);
    } catch {
      // the first line may be cut by the window; an unreadable one is verify's business
    }
  }
  return [...latest.values()].sort((a, b) => a.channel.localeCompare(b.channel));
}

export function integrityRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.get(
    '/v1/integrity',
    {
      config: { roles: READERS },
      schema: {
        summary: 'Integrity state',
        description:
          'The last verification (when, by whom, result and the damage it named), a verification in progress, the latest signed checkpoint of each channel and the public key to check them with.',
        tags: ['integrity'],
      },
    },
    async (request) => {
      const checkpoints = latestCheckpoints(ctx.index.layout, ctx.logs.logId);
      await ctx.events.read(request, 'integrity', {});
      return {
        log_id: ctx.logs.logId,
        public_key: ctx.logs.publicKey,
        last_verification: ctx.verification.last ?? null,
        running: ctx.verification.progress ?? null,
        checkpoints,
      };
    },
  );

  app.post<{ Querystring: { wait?: boolean } }>(
    '/v1/integrity/verify',
    {
      config: { roles: [...READERS, ...ADMIN] },
      schema: {
        summary: 'Run verification',
        description:
          'Starts `verify` over the whole logs directory (in the background; one run at a time). Answers 202 with the progress; GET /v1/integrity shows it and, when done, the result. With wait=true, answers with the result when it is done.',
        tags: ['integrity'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { wait: { type: 'boolean', default: false } },
        },
      },
    },
    async (request, reply) => {
      await ctx.logs.flush(); // what was acknowledged is signed, so nothing reads as unsigned
      const principal = request.principal;
      const by = principal === undefined ? 'service' : actorOf(principal).id;
      const run = ctx.verification.run(by);
      await ctx.events.admin(request, 'log.verify.requested', `verification requested by ${by}`, {
        route: '/v1/integrity/verify',
      });
      if (request.query.wait === true) return { result: await run };
      run.catch((err: unknown) => ctx.onError(asLogsError(err)));
      return reply.code(202).send({ running: ctx.verification.progress ?? null });
    },
  );
}
