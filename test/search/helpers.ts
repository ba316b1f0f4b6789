import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';
import { LEVEL_RANK, type Level } from '../../src/event/levels.js';
import { IndexDb } from '../../src/search/index-db.js';
import { catchUp } from '../../src/search/indexer.js';
import { LogLayout } from '../../src/store/file/layout.js';
import { readSegmentBook } from '../../src/store/file/segment-log.js';
import { channelSources, scanSource } from '../../src/store/file/sources.js';
import type { LogCore } from '../../src/log/core.js';
import { newLog, type TestLog } from '../helpers.js';

/** Personal values the seeded log is given: none may ever reach the index. */
export const PERSONAL = [
  'marie.curie@example.org',
  'jean.dupont@example.fr',
  'u-secret-4711',
  '203.0.113.77',
  '+33 6 12 34 56 78',
] as const;

/** Write `n` varied app records and a few audit records holding personal data. */
export async function writeSome(logs: LogCore, n: number, from = 0): Promise<void> {
  const events = ['project.generate', 'template.export', 'job.run', 'access.denied'];
  for (let i = from; i < from + n; i++) {
    const fields = {
      event: events[i % events.length],
      actor: { id: `u-${i % 7}`, type: 'user' },
      target: { type: 'project', id: `p-${i % 11}` },
      request_id: `req-${i}`,
      outcome: i % 5 === 0 ? 'failure' : 'success',
      n: i,
    };
    if (i % 3 === 0) logs.app.warning(fields, `quota almost used by project number ${i}`);
    else logs.app.info(fields, `generated project number ${i} from zanzibar template`);
  }
  await logs.audit({
    event: 'auth.login.success',
    actor: { id: PERSONAL[2], ip: PERSONAL[3] },
    msg: `signed in as ${PERSONAL[0]}`,
    outcome: 'success',
  });
  await logs.audit({
    event: 'data.export',
    actor: 'dpo-1',
    subject: PERSONAL[1],
    msg: `export for ${PERSONAL[1]}, phone ${PERSONAL[4]}`,
  });
  await logs.flush();
}

/**
 * A log with sealed archives and an active file in `app`, and records in `audit` (with
 * personal data) and `scheduler` (rotation events).
 */
export async function seededLog(): Promise<TestLog> {
  const t = newLog();
  const logs = await t.open();
  await writeSome(logs, 120, 0);
  await logs.lifecycle.rotate('app');
  await writeSome(logs, 90, 120);
  await logs.lifecycle.rotate('app');
  await writeSome(logs, 50, 210);
  await logs.close();
  return t;
}

/** A record as the index should hold it, read from the log files themselves. */
export interface ExpectedRow {
  channel: string;
  seq: number;
  ts_ms: number;
  level_rank: number;
  event: string;
  outcome: string | null;
  sub: string | null;
  request_id: string | null;
  actor_ref: string | null;
  target_ref: string | null;
  hash: string;
}

/** Every stored line of these channels, segment by segment (archives decompressed), in order. */
export async function forEachStoredLine(
  t: TestLog,
  channels: readonly string[],
  onLine: (bytes: Buffer, channel: string) => void,
): Promise<void> {
  const layout = new LogLayout(t.dir);
  const book = readSegmentBook(layout, t.logId);
  for (const channel of channels) {
    for (const src of channelSources(layout, book, channel)) {
      if (src.kind === 'deleted' || !existsSync(src.file)) continue;
      await scanSource(src, (bytes) => {
        onLine(bytes, channel);
      });
    }
  }
}

/** Every record of every channel, in (channel number, seq) order as the index lists them. */
export async function expectedRows(
  t: TestLog,
  channels: readonly string[],
): Promise<ExpectedRow[]> {
  const out: ExpectedRow[] = [];
  await forEachStoredLine(t, channels, (bytes, channel) => {
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    } catch {
      return; // damage: the index skips it too
    }
    const actor = r.actor as { id?: string } | undefined;
    const target = r.target as { id?: string; type?: string } | undefined;
    out.push({
      channel,
      seq: r.seq as number,
      ts_ms: Date.parse(r.ts as string),
      level_rank: LEVEL_RANK[r.level as Level],
      event: r.event as string,
      outcome: (r.outcome as string | undefined) ?? null,
      sub: (r.sub as string | undefined) ?? null,
      request_id: (r.request_id as string | undefined) ?? null,
      actor_ref: actor?.id ?? null,
      target_ref:
        target?.id === undefined
          ? null
          : target.type === undefined
            ? target.id
            : `${target.type}:${target.id}`,
      hash: r.hash as string,
    });
  });
  return out;
}

/** A seeded log indexed once: what the index held (channels and rows); the index is closed. */
export async function indexedSeededLog(): Promise<{
  t: TestLog;
  layout: LogLayout;
  channels: string[];
  rows: ExpectedRow[];
}> {
  const t = await seededLog();
  const layout = new LogLayout(t.dir);
  const db = openIndex(t);
  try {
    await catchUp(layout, t.logId, db);
    const channels = channelsOf(db);
    return { t, layout, channels, rows: indexRows(db, channels) };
  } finally {
    db.close();
  }
}

/** The index's rows with their strings, channels in `channels` order. */
export function indexRows(db: IndexDb, channels: readonly string[]): ExpectedRow[] {
  const rows = db.connection
    .prepare(
      `SELECT channel, seq, ts_ms, level_rank, event, outcome, sub, request_id, actor_ref,
              target_ref, lower(hex(hash)) AS hash
       FROM records_view ORDER BY id`,
    )
    .all() as ExpectedRow[];
  const order = new Map(channels.map((c, i) => [c, i]));
  return rows.sort(
    (a, b) => (order.get(a.channel) ?? 99) - (order.get(b.channel) ?? 99) || a.seq - b.seq,
  );
}

/** The stored line of a record, read back from where the index says it lives. */
export function lineAt(t: TestLog, db: IndexDb, channel: string, seq: number): string {
  const where = db.locate(channel, seq);
  if (where === undefined) throw new Error(`${channel} #${seq} is not in the index`);
  const file = path.join(t.dir, where.file);
  const bytes = where.kind === 'sealed' ? gunzipSync(readFileSync(file)) : readFileSync(file);
  const end = bytes.indexOf(10, where.offset);
  return bytes.subarray(where.offset, end).toString('utf8');
}

/** Channels of a test log, in the order the index numbers them on a first build. */
export function channelsOf(db: IndexDb): string[] {
  return db.states().map((s) => s.channel);
}

export function openIndex(t: TestLog): IndexDb {
  return IndexDb.open(new LogLayout(t.dir), t.logId);
}
