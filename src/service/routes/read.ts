import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LogsError } from '../../errors.js';
import { ReadSubjects } from '../../gdpr/read-subjects.js';
import { FILTER_LIMITS, parseFilter, type QueryFilter } from '../../query/filter.js';
import { resultObject } from '../../query/format.js';
import { MAX_LIMIT } from '../../query/search.js';
import { principalOf } from '../auth.js';
import { READERS, REVEALING, type ServiceContext } from '../context.js';

const list = { type: 'array', items: { type: 'string', maxLength: 256 }, maxItems: 50 } as const;
const text = { type: 'string', maxLength: 512 } as const;

/** The filters of `query` as query string parameters (repeat a key, or comma-separate). */
export const FILTER_QUERYSTRING = {
  type: 'object',
  additionalProperties: false,
  properties: {
    channel: list,
    level: text,
    event: list,
    outcome: list,
    actor: list,
    subject: list,
    request_id: list,
    since: text,
    until: text,
    text,
  },
} as const;

export interface FilterQuery {
  channel?: string[];
  level?: string;
  event?: string[];
  /** `/v1/events` only: event types or globs left out (the page leaves out `log.read`). */
  exclude_event?: string[];
  outcome?: string[];
  actor?: string[];
  subject?: string[];
  request_id?: string[];
  since?: string;
  until?: string;
  text?: string;
}

/**
 * A query filter from query string parameters; people by real id through the keystore, for
 * the roles that see real identities (dpo, admin). Anyone else filters by pseudonym: a real id
 * from them is refused (403), so that an auditor cannot link a person to their pseudonym.
 */
export async function filterOf(
  ctx: ServiceContext,
  q: FilterQuery,
  request: FastifyRequest,
): Promise<QueryFilter> {
  const revealing = reveals(request);
  const known = revealing
    ? await peopleByIds(ctx, [...(q.actor ?? []), ...(q.subject ?? [])])
    : undefined;
  return parseFilter(
    {
      channel: q.channel,
      level: q.level,
      event: q.event,
      excludeEvent: q.exclude_event,
      outcome: q.outcome,
      actor: q.actor,
      subject: q.subject,
      requestId: q.request_id,
      since: q.since,
      until: q.until,
      text: q.text,
    },
    {
      nowMs: ctx.clock(),
      channels: ctx.logs.channels,
      pseudonymOf: (id) => {
        if (revealing) return known?.get(id) ?? ctx.logs.keys.pseudonymOf(id);
        ctx.events.denied(request, 'FORBIDDEN', principalOf(request));
        throw new LogsError(
          'FORBIDDEN',
          `the role ${principalOf(request).role} filters people by pseudonym (sub_...): a real id is for the dpo and admin roles`,
        );
      },
    },
  ).filter;
}

/**
 * Every pseudonym a database store holds for the real ids among these filter values (a person
 * another instance first met is not in this one's memory; two instances that met them at once
 * each made one). Undefined for the file store: its keystore answers.
 */
async function peopleByIds(
  ctx: ServiceContext,
  values: readonly string[],
): Promise<Map<string, string[]> | undefined> {
  const people = ctx.logs.people;
  if (people === undefined) return undefined;
  const ids = values.flatMap((v) => v.split(',')).map((v) => v.trim());
  const real = ids.filter((v) => v !== '' && !v.startsWith('sub_'));
  const out = new Map<string, string[]>();
  if (real.length === 0) return out;
  await people.settled(); // an erased person is unknown, even just erased elsewhere
  for (const k of await people.keysOf(real.slice(0, FILTER_LIMITS.values)))
    out.set(k.id, [...(out.get(k.id) ?? []), k.pseudonym]);
  return out;
}

/** The filter as recorded in the read's audit event (classified there like any event data). */
export function filterForAudit(q: FilterQuery): Record<string, unknown> {
  return Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined));
}

/**
 * Whose records a read returns, for its audit record: the export of any of those people lists
 * the read as a consultation of their data (docs/gdpr.md).
 */
export function readSubjects(ctx: ServiceContext): ReadSubjects {
  return new ReadSubjects({
    pseudonymOf: (id) => ctx.logs.keys.pseudonymOf(id),
    personTypes: ctx.logs.config.classification.personTypes,
    maxRecordBytes: ctx.logs.config.limits.maxRecordBytes,
  });
}

export function reveals(request: FastifyRequest): boolean {
  return REVEALING.includes(principalOf(request).role);
}

/** Reading the logs: records found by a filter, one record, and counts for charts. */
export function readRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  eventsRoute(app, ctx);
  recordRoute(app, ctx);
  statsRoute(app, ctx);
}

/** Records matching the filters of `query`, a page at a time. */
function eventsRoute(app: FastifyInstance, ctx: ServiceContext): void {
  app.get<{ Querystring: FilterQuery & { limit?: number; cursor?: string; order?: string } }>(
    '/v1/events',
    {
      config: { roles: READERS },
      schema: {
        summary: 'Find records',
        description:
          'The filters of `dihya-logs query`, and `exclude_event` (event types or globs left out, as `log.read` for the reads of the log). Each record is read back from its segment and checked against its chain hash; damaged ones are listed in `damaged`. Personal values are put back for the dpo and admin roles. Pages: pass `next` as `cursor`.',
        tags: ['read'],
        querystring: {
          ...FILTER_QUERYSTRING,
          properties: {
            ...FILTER_QUERYSTRING.properties,
            exclude_event: list,
            limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 100 },
            cursor: { type: 'string', maxLength: 512 },
            order: { type: 'string', enum: ['asc', 'desc'], default: 'desc' },
          },
        },
      },
    },
    async (request) => {
      const { limit, cursor, order, ...q } = request.query;
      const filter = await filterOf(ctx, q, request);
      const result = await ctx.reads.query(
        {
          filter,
          ...(limit === undefined ? {} : { limit }),
          ...(cursor === undefined ? {} : { cursor }),
          ...(order === 'asc' || order === 'desc' ? { order } : {}),
        },
        reveals(request),
      );
      const subjects = readSubjects(ctx);
      subjects.addFilter(filter);
      for (const r of result.records) subjects.addRecord(r.record);
      await ctx.events.read(request, 'query', {
        filter: filterForAudit(q),
        count: result.records.length,
        ...subjects.data(),
      });
      const locked = (result.indexed?.channels ?? []).filter((c) => c.locked).map((c) => c.channel);
      return { ...resultObject(result), ...(locked.length > 0 ? { locked } : {}) };
    },
  );
}

/** One record by channel and seq, checked against its chain hash. */
function recordRoute(app: FastifyInstance, ctx: ServiceContext): void {
  app.get<{ Params: { channel: string; seq: number } }>(
    '/v1/events/:channel/:seq',
    {
      config: { roles: READERS },
      schema: {
        summary: 'One record',
        description:
          'A record by channel and seq, read back and checked against its chain hash (`status`).',
        tags: ['read'],
        params: {
          type: 'object',
          properties: {
            channel: { type: 'string', pattern: '^[a-z][a-z0-9_-]{0,31}$' },
            seq: { type: 'integer', minimum: 1 },
          },
          required: ['channel', 'seq'],
        },
      },
    },
    async (request) => {
      const { channel, seq } = request.params;
      if (!ctx.logs.channels.includes(channel)) throw new LogsError('NOT_FOUND', 'no such channel');
      const r = await ctx.reads.one(channel, seq, reveals(request));
      if (r?.record === undefined)
        throw new LogsError(
          'NOT_FOUND',
          `no record ${channel} #${seq} (never written, removed by retention, or an erased person's)`,
        );
      const subjects = readSubjects(ctx);
      subjects.addRecord(r.record);
      await ctx.events.read(request, 'record', { channel, seq, count: 1, ...subjects.data() });
      return { channel, seq, status: r.status, file: r.file, record: r.record };
    },
  );
}

/** Counts per time bucket, channel, level and event type, for the admin page's charts. */
function statsRoute(app: FastifyInstance, ctx: ServiceContext): void {
  app.get<{ Querystring: { since?: string; until?: string; bucket?: string; top?: number } }>(
    '/v1/stats',
    {
      config: { roles: READERS },
      schema: {
        summary: 'Counts for charts',
        description:
          'Records per time bucket, per channel and per level; failed sign-ins and denied accesses per bucket; the `top` event types and sources of security events (a source is the actor, or for an actor known only by an e-mail address or an IP, the subject inferred from it: its pseudonym as `source`, and who it is as `id` for the dpo and admin roles). Default: the last 24 hours by hour.',
        tags: ['read'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            since: text,
            until: text,
            bucket: { type: 'string', enum: ['minute', 'hour', 'day'] },
            top: { type: 'integer', minimum: 1, maximum: 100, default: 10 },
          },
        },
      },
    },
    async (request) => {
      const stats = await ctx.reads.stats(request.query, ctx.clock(), reveals(request));
      // The top sources name people (by pseudonym, by id for dpo and admin): each is consulted.
      const subjects = readSubjects(ctx);
      for (const s of stats.topSecuritySources) subjects.addId(s.source);
      await ctx.events.read(request, 'stats', {
        since: stats.since,
        until: stats.until,
        ...subjects.data(),
      });
      return stats;
    },
  );
}
