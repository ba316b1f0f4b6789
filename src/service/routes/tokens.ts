import type { FastifyInstance } from 'fastify';
import { LogsError } from '../../errors.js';
import { ADMIN, type ServiceContext } from '../context.js';
import { ROLES, parseExpiry, type Role } from '../../access/tokens.js';

export function tokenRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.get(
    '/v1/tokens',
    {
      config: { roles: ADMIN },
      schema: {
        summary: 'List tokens',
        description: 'Every token: id, name, role, dates. Never a secret.',
        tags: ['tokens'],
      },
    },
    async (request) => {
      await ctx.events.read(request, 'token list', {});
      return { tokens: await ctx.tokens.list() };
    },
  );

  app.post<{ Body: { role: Role; name: string; expires?: string } }>(
    '/v1/tokens',
    {
      config: { roles: ADMIN },
      schema: {
        summary: 'Create a token',
        description:
          'Answers with the token once (`token`); only its hash is kept. `expires`: 30d, 12h, 90m or an ISO date.',
        tags: ['tokens'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['role', 'name'],
          properties: {
            role: { type: 'string', enum: [...ROLES] },
            name: { type: 'string', minLength: 1, maxLength: 100 },
            expires: { type: 'string', maxLength: 40 },
          },
        },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const expires = b.expires === undefined ? undefined : parseExpiry(b.expires, ctx.clock());
      const made = await ctx.tokens.create(b.role, b.name, expires, new Date(ctx.clock()));
      await ctx.events.admin(request, 'token.created', `token ${made.info.id} created`, {
        token_id: made.info.id,
        name: made.info.name,
        role: made.info.role,
        expires: made.info.expires ?? null,
      });
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ token: made.token, ...made.info });
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/tokens/:id',
    {
      config: { roles: ADMIN },
      schema: {
        summary: 'Revoke a token',
        description: 'It stops working at once; it stays listed, marked revoked.',
        tags: ['tokens'],
        params: {
          type: 'object',
          properties: { id: { type: 'string', pattern: '^[0-9a-f]{12}$' } },
          required: ['id'],
        },
      },
    },
    async (request) => {
      const id = request.params.id;
      const before = await ctx.tokens.get(id);
      if (before === undefined) throw new LogsError('NOT_FOUND', 'no token with that id');
      // Said, not repeated: a second revocation changes nothing and records nothing.
      if (before.revoked !== undefined)
        throw new LogsError(
          'TOKEN_ALREADY_REVOKED',
          `token ${id} was already revoked at ${before.revoked}; nothing recorded`,
        );
      if (!(await ctx.tokens.revoke(id, new Date(ctx.clock()))))
        throw new LogsError('NOT_FOUND', 'no token with that id');
      await ctx.events.admin(request, 'token.revoked', `token ${id} revoked`, { token_id: id });
      return await ctx.tokens.get(id);
    },
  );
}
