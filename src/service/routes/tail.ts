import type { FastifyInstance, FastifyRequest } from 'fastify';
import { openIfSealed } from '../../crypto/body-cipher.js';
import { recordMatcher, type QueryFilter } from '../../query/filter.js';
import { reveal } from '../../pipeline/reveal.js';
import { asLogsError } from '../../errors.js';
import { pseudonymsIn } from '../../query/store-query.js';
import { READERS, type ServiceContext } from '../context.js';
import {
  FILTER_QUERYSTRING,
  filterForAudit,
  filterOf,
  readSubjects,
  reveals,
  type FilterQuery,
} from './read.js';

const POLL_MS = 250;
const HEARTBEAT_MS = 15_000;
const BACKLOG_MAX = 1000;

/** Where a stream stands: the last seq sent per channel, and the time of the last record. */
interface Position {
  t: number;
  p: Record<string, number>;
}

function encodePosition(pos: Position): string {
  return Buffer.from(JSON.stringify(pos)).toString('base64url');
}

/** A Last-Event-ID this service gave out; anything else is ignored (the stream starts now). */
function decodePosition(text: unknown, channels: readonly string[]): Position | undefined {
  if (typeof text !== 'string' || text.length > 4096) return undefined;
  try {
    const v = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (typeof v !== 'object' || v === null) return undefined;
    const { t, p } = v as { t?: unknown; p?: unknown };
    if (typeof t !== 'number' || !Number.isFinite(t) || typeof p !== 'object' || p === null)
      return undefined;
    const out: Record<string, number> = {};
    for (const c of channels) {
      const seq = (p as Record<string, unknown>)[c];
      if (typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0) out[c] = seq;
    }
    return { t, p: out };
  } catch {
    return undefined;
  }
}

type Rec = Record<string, unknown>;

/**
 * A tail's audit records: one before it starts (its filter, the people the filter names), and
 * one when a stream that sent records ends, naming whose records it sent (docs/gdpr.md).
 */
async function auditedTail(
  ctx: ServiceContext,
  request: FastifyRequest<{ Querystring: FilterQuery }>,
  filter: QueryFilter,
): Promise<{ sent: (record: Rec) => void; ended: () => void }> {
  const named = readSubjects(ctx);
  named.addFilter(filter);
  const { filter_subjects: people } = named.data();
  const audited = { filter: filterForAudit(request.query) };
  await ctx.events.read(request, 'tail', {
    ...audited,
    ...(people === undefined ? {} : { filter_subjects: people }),
  });
  const subjects = readSubjects(ctx);
  let count = 0;
  return {
    sent: (record) => {
      count += 1;
      subjects.addRecord(record);
    },
    ended: () => {
      if (count > 0)
        ctx.events.readEnded(request, 'tail ended', { ...audited, count, ...subjects.data() });
    },
  };
}

/**
 * New stored lines as the records a stream sends: parsed, an encrypted channel's opened, those
 * matching the filter; for a reader allowed to see them, personal values put back (a database
 * store first applies erasures answered elsewhere and learns people met elsewhere).
 */
async function recordsOf(
  ctx: ServiceContext,
  lines: ReadonlyArray<{ channel: string; line: string }>,
  matches: (rec: Rec) => boolean,
  revealing: boolean,
): Promise<Array<{ channel: string; seq: number; ts: number; record: Rec }>> {
  const ring = ctx.logs.keys.channelKeyring();
  const opened: Rec[] = [];
  for (const { line } of lines) {
    try {
      const rec = openIfSealed(JSON.parse(line) as Rec, ring).record;
      if (matches(rec) && typeof rec.seq === 'number') opened.push(rec);
    } catch {
      // not a record: verify reports it
    }
  }
  const people = ctx.logs.people;
  if (revealing && people !== undefined && opened.length > 0) {
    await people.settled();
    await people.learn(pseudonymsIn(opened.map((record) => ({ record }))));
  }
  const lookup = revealing ? ctx.logs.keys.subjectLookup() : undefined;
  const out: Array<{ channel: string; seq: number; ts: number; record: Rec }> = [];
  for (let rec of opened) {
    if (lookup !== undefined) {
      try {
        rec = reveal(rec, lookup, ctx.logs.logId).record;
      } catch {
        // shown as stored
      }
    }
    out.push({
      channel: String(rec.channel),
      seq: Number(rec.seq),
      ts: Date.parse(String(rec.ts)),
      record: rec,
    });
  }
  return out;
}

/**
 * Live tail as Server-Sent Events: each matching record as one `data:` line of JSON, with an
 * id that resumes the stream (`Last-Event-ID`: the records written meanwhile are sent first,
 * up to 1,000, from the index). The same filters as `/v1/events`.
 */
export function tailRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.get<{ Querystring: FilterQuery }>(
    '/v1/tail',
    {
      config: { roles: READERS },
      schema: {
        summary: 'Live tail (Server-Sent Events)',
        description:
          'New records matching the filters, as they are written: `event: record`, `data:` the record as JSON, `id:` a position to resume from with Last-Event-ID. A comment line every 15 s keeps the connection open.',
        tags: ['read'],
        querystring: FILTER_QUERYSTRING,
      },
    },
    async (request, reply) => {
      const filter = await filterOf(ctx, request.query, request);
      const matches = recordMatcher(filter);
      const channels = filter.channels ?? ctx.logs.channels;
      const revealing = reveals(request);
      const audit = await auditedTail(ctx, request, filter);
      // The source starts at the end before the backlog is read: nothing written in between
      // is missed, and what both see is sent once (by seq).
      const source = await ctx.reads.follow(channels);
      const resume = decodePosition(request.headers['last-event-id'], channels);
      const pos: Position = { t: resume?.t ?? 0, p: { ...resume?.p } };
      const raw = reply.raw;
      reply.hijack();
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      raw.write(': dihya-logs tail\n\n');
      const send = (channel: string, seq: number, ts: number, record: Rec): void => {
        if (seq <= (pos.p[channel] ?? 0)) return;
        pos.p[channel] = seq;
        pos.t = Math.max(pos.t, ts);
        raw.write(`id: ${encodePosition(pos)}\nevent: record\ndata: ${JSON.stringify(record)}\n\n`);
        audit.sent(record);
      };
      const state = { closed: false };
      const open = (): boolean => !state.closed;
      if (resume !== undefined) {
        const backlog = await ctx.reads.query(
          { filter: { ...filter, sinceMs: resume.t }, order: 'asc', limit: BACKLOG_MAX },
          revealing,
        );
        for (const r of backlog.records)
          if (r.record !== undefined)
            send(r.channel, r.seq, Date.parse(String(r.record.ts)), r.record);
      }
      // One poll at a time; each waits for news (a database's notification, or POLL_MS).
      const loop = async (): Promise<void> => {
        while (open()) {
          try {
            const lines = await source.poll();
            for (const r of await recordsOf(ctx, lines, matches, revealing))
              send(r.channel, r.seq, r.ts, r.record);
          } catch (err) {
            ctx.onError(asLogsError(err)); // the stream stays; the next poll tries again
          }
          if (open()) await source.wait(POLL_MS);
        }
      };
      const heartbeat = setInterval(() => raw.write(': ping\n\n'), HEARTBEAT_MS);
      const stop = (): void => {
        if (state.closed) return;
        state.closed = true;
        clearInterval(heartbeat);
        source.close();
        ctx.streams.delete(stop);
        raw.end();
        audit.ended();
      };
      ctx.streams.add(stop);
      request.raw.once('close', stop);
      void loop();
    },
  );
}
