import type { FastifyInstance } from 'fastify';
import { LogsError, asLogsError } from '../../errors.js';
import type { Checkpoint } from '../../integrity/checkpoint.js';
import { READERS, type ServiceContext } from '../context.js';

/** The size to prove against: the one asked, else the channel's latest signed checkpoint. */
async function sizeFor(
  ctx: ServiceContext,
  channel: string,
  size: number | undefined,
): Promise<number> {
  if (size !== undefined) return size;
  const cp = (await ctx.reads.checkpoints()).find((c) => c.channel === channel);
  if (cp === undefined)
    throw new LogsError('PROOF_UNAVAILABLE', `${channel} has no signed checkpoint yet`);
  return cp.size;
}

const channelParam = { type: 'string', pattern: '^[a-z][a-z0-9_-]{0,31}$' } as const;
const positive = { type: 'integer', minimum: 1, maximum: 2 ** 43 } as const;

/** Proofs against the signed checkpoints, the integrity state, and verification on demand. */
export function integrityRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  proofRoutes(app, ctx);
  verificationRoutes(app, ctx);
}

/** Inclusion and consistency proofs (RFC 9162), with the signed checkpoints they prove against. */
function proofRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.get<{ Querystring: { channel: string; seq: number; size?: number } }>(
    '/v1/proofs/inclusion',
    {
      config: { roles: READERS },
      schema: {
        summary: 'Inclusion proof (RFC 9162)',
        description:
          'Proves that record `seq` is in the channel\'s Merkle tree of `size` records (default: the latest signed checkpoint). `checkpoint` is the signed checkpoint of that size when one is found: check its signature with the log\'s public key, then the proof against its root (docs/integrity.md, "Checking a proof").',
        tags: ['integrity'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['channel', 'seq'],
          properties: { channel: channelParam, seq: positive, size: positive },
        },
      },
    },
    async (request) => {
      const { channel, seq } = request.query;
      if (!ctx.logs.channels.includes(channel)) throw new LogsError('NOT_FOUND', 'no such channel');
      const size = await sizeFor(ctx, channel, request.query.size);
      const proof = await ctx.reads.inclusion(channel, seq, size);
      await ctx.events.read(request, 'inclusion proof', { channel, seq, size });
      return {
        proof,
        checkpoint: (await ctx.reads.checkpointAt(channel, size)) ?? null,
        public_key: ctx.logs.publicKey,
      };
    },
  );

  app.get<{ Querystring: { channel: string; from: number; to?: number } }>(
    '/v1/proofs/consistency',
    {
      config: { roles: READERS },
      schema: {
        summary: 'Consistency proof (RFC 9162)',
        description:
          "Proves that the channel's tree of `to` records (default: the latest signed checkpoint) extends the tree of `from` records: nothing before `from` was changed or removed. `checkpoints` are the signed checkpoints of both sizes when found.",
        tags: ['integrity'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['channel', 'from'],
          properties: { channel: channelParam, from: positive, to: positive },
        },
      },
    },
    async (request) => {
      const { channel, from } = request.query;
      if (!ctx.logs.channels.includes(channel)) throw new LogsError('NOT_FOUND', 'no such channel');
      const to = await sizeFor(ctx, channel, request.query.to);
      const proof = await ctx.reads.consistency(channel, from, to);
      await ctx.events.read(request, 'consistency proof', { channel, from, to });
      const at = async (n: number): Promise<Checkpoint | null> =>
        (await ctx.reads.checkpointAt(channel, n)) ?? null;
      return {
        proof,
        checkpoints: { first: await at(from), second: await at(to) },
        public_key: ctx.logs.publicKey,
      };
    },
  );
}

/** The integrity state (last verification, latest checkpoints), and a verification run. */
function verificationRoutes(app: FastifyInstance, ctx: ServiceContext): void {
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
      const checkpoints = await ctx.reads.checkpoints();
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
      config: { roles: READERS },
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
      const by = principal === undefined ? 'service' : `token ${principal.tokenId}`;
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
