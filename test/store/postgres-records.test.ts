/**
 * The PostgreSQL store's records face (store.ts `StoreRecords`): selections by every filter,
 * event globs that stay globs (`_` and `%` are literal), full text by word, prefix and phrase,
 * keyset pages that never repeat nor skip a record (equal times across channels, times stored
 * with microseconds), the chain hash before each record, a span's dashboard counts, and tails
 * that see another instance's commits within a second. No server: the tests fail, they do not
 * skip.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { resolveConfig } from '../../src/config/resolve.js';
import { chainGenesis } from '../../src/integrity/chain.js';
import { prepareEvent, type Sealable } from '../../src/pipeline/prepare.js';
import type {
  RecordSelection,
  SelectedRecord,
  Store,
  StoreRecords,
} from '../../src/store/store.js';
import { newSpec, recordsOf, sql, storesOnSchemas } from './postgres-backend.js';
import { channelIndex, readAll } from './records.js';

type Spec = ReturnType<typeof newSpec>;

const LIMITS = resolveConfig({}, '/').limits;
const T0 = Date.UTC(2025, 0, 15, 12, 0, 0);
const KEY = randomBytes(32);
const stores = storesOnSchemas(KEY);
/** Open the store on `spec`'s schema (the security channel encrypted, as by default). */
const open = (spec: Spec): Promise<Store> => stores.open(spec);
after(() => stores.dispose());

interface Fields {
  level?: string;
  event: string;
  msg?: string;
  actor?: Record<string, unknown>;
  outcome?: 'success' | 'failure' | 'denied';
  request_id?: string;
  /** A subject's pseudonym, as classification would have set it. */
  sub?: string;
}

/** Store one record of `channel` at `tsMs`, durable; its seq. */
async function put(store: Store, channel: string, tsMs: number, f: Fields): Promise<number> {
  const { sub, ...input } = f;
  const p = prepareEvent({ channel, ...input }, { ...LIMITS });
  const sealable: Sealable = sub === undefined ? p : { ...p, mid: `"sub":"${sub}",${p.mid}` };
  const ts = new Date(tsMs).toISOString();
  const ack = await store.append(channelIndex(store, channel), sealable, ts, 0, 'd');
  assert.ok(ack !== undefined);
  return ack.seq;
}

const ids = (rs: readonly SelectedRecord[]): string[] => rs.map((r) => `${r.channel}#${r.seq}`);
const sorted = (rs: readonly SelectedRecord[]): string[] => ids(rs).sort();

/** The records of the shared log, as `channel#seq`. */
const LOG: ReadonlyArray<[string, number, Fields]> = [
  [
    'app',
    0,
    {
      event: 'auth.login',
      outcome: 'failure',
      actor: { id: 'u1' },
      request_id: 'r1',
      msg: 'Login failed for account',
    },
  ],
  [
    'audit',
    500,
    {
      level: 'AUDIT',
      event: 'project.delete',
      outcome: 'denied',
      actor: { id: 'u1' },
      sub: 'sub_alice',
      request_id: 'r2',
      msg: 'delete denied for project alpha',
    },
  ],
  [
    'app',
    1000,
    {
      level: 'WARNING',
      event: 'auth.login',
      outcome: 'success',
      actor: { id: 'u2' },
      msg: 'login succeeded quickly',
    },
  ],
  [
    'audit',
    1500,
    {
      level: 'AUDIT',
      event: 'project.create',
      outcome: 'success',
      actor: { type: 'service' },
      sub: 'sub_bob',
      msg: 'project beta created',
    },
  ],
  ['app', 2000, { level: 'ERROR', event: 'a_b', msg: 'underscore event' }],
  [
    'security',
    2500,
    {
      level: 'SECURITY',
      event: 'auth.mfa',
      outcome: 'failure',
      actor: { id: 'u1' },
      msg: 'second factor refused',
    },
  ],
  [
    'security',
    2600,
    {
      level: 'SECURITY',
      event: 'auth.lockout',
      outcome: 'failure',
      actor: { ip: '198.51.100.7' },
      sub: 'sub_carol',
    },
  ],
  ['app', 3000, { event: 'axb', msg: 'x event' }],
  ['app', 4000, { event: 'a--b', msg: "it's 100% done" }],
  ['app', 12_000, { event: 'late', msg: 'outside the span' }],
];

let store: Store;
let records: StoreRecords;

before(async () => {
  store = await open(newSpec());
  records = recordsOf(store);
  for (const [channel, dt, f] of LOG) await put(store, channel, T0 + dt, f);
});

/** Every record the selection finds (one page). */
async function find(s: Omit<RecordSelection, 'order' | 'limit'>): Promise<string[]> {
  return sorted(await records.select({ order: 'asc', limit: 100, ...s }));
}

test('postgres records: each filter selects what it names, and filters combine', async () => {
  assert.deepEqual(await find({ channels: ['audit'] }), ['audit#1', 'audit#2']);
  assert.deepEqual(await find({ channels: [] }), [], 'an empty list matches nothing');
  assert.deepEqual(await find({ levels: ['WARNING', 'ERROR'] }), ['app#2', 'app#3']);
  assert.deepEqual(await find({ outcomes: ['denied'] }), ['audit#1']);
  assert.deepEqual(await find({ actors: ['u1'] }), ['app#1', 'audit#1', 'security#1']);
  assert.deepEqual(await find({ subjects: ['sub_bob', 'sub_carol'] }), ['audit#2', 'security#2']);
  assert.deepEqual(await find({ requestIds: ['r1', 'r2'] }), ['app#1', 'audit#1']);
  assert.deepEqual(
    await find({ sinceMs: T0 + 1000, untilMs: T0 + 2000 }),
    ['app#2', 'audit#2'],
    'since is inclusive, until exclusive',
  );
  assert.deepEqual(await find({ actors: ['u1'], channels: ['app', 'security'] }), [
    'app#1',
    'security#1',
  ]);
  assert.deepEqual(await find({ actors: ["u1' OR '1'='1"] }), [], 'values are parameters');
});

test('postgres records: event types by name and by glob; _ % and \\ are no wildcards', async () => {
  assert.deepEqual(await find({ events: [{ text: 'auth.login', glob: false }] }), [
    'app#1',
    'app#2',
  ]);
  assert.deepEqual(await find({ events: [{ text: 'auth.*', glob: true }] }), [
    'app#1',
    'app#2',
    'security#1',
    'security#2',
  ]);
  const glob = (text: string): Promise<string[]> => find({ events: [{ text, glob: true }] });
  assert.deepEqual(await glob('a_b'), ['app#3'], 'a_b does not match axb');
  assert.deepEqual(await glob('a?b'), ['app#3', 'app#4']);
  assert.deepEqual(await glob('a*b'), ['app#3', 'app#4', 'app#5']);
  assert.deepEqual(await glob('a%b'), [], '% is itself');
  assert.deepEqual(await glob('a\\b'), []);
  assert.deepEqual(await glob('a\\_b'), []);
  assert.deepEqual(await glob('*.login'), ['app#1', 'app#2']);
  assert.deepEqual(
    await find({
      events: [
        { text: 'axb', glob: false },
        { text: 'project.*', glob: true },
      ],
    }),
    ['app#4', 'audit#1', 'audit#2'],
  );
  assert.deepEqual(
    await find({
      channels: ['app', 'security'],
      excludeEvents: [
        { text: 'auth.*', glob: true },
        { text: 'late', glob: false },
      ],
    }),
    ['app#3', 'app#4', 'app#5'],
  );
  assert.deepEqual(await find({ events: [] }), [], 'an empty list matches nothing');
  assert.equal((await find({ excludeEvents: [] })).length, LOG.length, 'excluding none');
});

test('postgres records: text by word, prefix and phrase, all of them needed', async () => {
  const text = (
    words: Array<{ word: string; prefix: boolean }>,
    phrases: string[][] = [],
  ): Promise<string[]> => find({ text: { words, phrases } });
  assert.deepEqual(await text([{ word: 'login', prefix: false }]), ['app#1', 'app#2']);
  assert.deepEqual(await text([{ word: 'succ', prefix: true }]), ['app#2']);
  assert.deepEqual(await text([{ word: 'succ', prefix: false }]), [], 'a word is whole');
  assert.deepEqual(await text([], [['project', 'beta']]), ['audit#2']);
  assert.deepEqual(await text([], [['beta', 'project']]), [], 'a phrase keeps its order');
  assert.deepEqual(
    await text(
      [
        { word: 'project', prefix: false },
        { word: 'den', prefix: true },
      ],
      [['for', 'project']],
    ),
    ['audit#1'],
  );
  // Not letters and digits (the caller's job), yet no input becomes tsquery syntax.
  for (const word of ["it's", "x' | 'login", '\\', "'", '&', '!login', ':*', '('])
    await text([{ word, prefix: true }], [[word, 'done']]);
  assert.deepEqual(await text([{ word: "login' | 'beta", prefix: false }]), []);
  assert.equal((await text([], [])).length, LOG.length, 'no word: no text filter');
});

test('postgres records: order, limit, the chain hash before each record, and one()', async () => {
  const asc = await records.select({ order: 'asc', limit: 100 });
  assert.deepEqual(
    asc.map((r) => r.tsMs),
    LOG.map(([, dt]) => T0 + dt),
  );
  const desc = await records.select({ order: 'desc', limit: 3 });
  assert.deepEqual(ids(desc), ['app#6', 'app#5', 'app#4']);
  for (const channel of ['app', 'audit', 'security']) {
    const stored = await readAll(store, channel);
    for (const r of asc.filter((x) => x.channel === channel)) {
      const line = stored.find((s) => s.seq === r.seq)?.line;
      assert.equal(r.line, line);
      assert.equal(r.hash, (JSON.parse(r.line) as { hash: string }).hash);
      const before = stored.find((s) => s.seq === r.seq - 1);
      const prev =
        before === undefined
          ? chainGenesis(store.logId, channel)
          : (JSON.parse(before.line) as { hash: string }).hash;
      assert.equal(r.prev, prev, `${channel}#${r.seq}: prev`);
    }
  }
  const one = await records.one('audit', 2);
  assert.deepEqual(
    one,
    asc.find((r) => r.channel === 'audit' && r.seq === 2),
  );
  assert.equal(await records.one('audit', 3), undefined);
  assert.equal(await records.one('nope', 1), undefined);
  assert.equal(await records.one('audit', 1.5), undefined);
  assert.deepEqual(await records.select({ order: 'asc', limit: 0 }), []);
  await assert.rejects(records.select({ order: 'asc', limit: -1 }), { code: 'USAGE' });
  await assert.rejects(records.select({ order: 'asc', limit: 5, sinceMs: Number.NaN }), {
    code: 'USAGE',
  });
  await assert.rejects(
    records.select({ order: 'asc', limit: 5, after: { tsMs: 1.5, channel: 'app', seq: 1 } }),
    { code: 'QUERY_CURSOR_INVALID' },
  );
  // Bounds beyond what PostgreSQL holds select as the end they pass do.
  assert.equal(
    (await find({ sinceMs: -Number.MAX_SAFE_INTEGER, untilMs: Number.MAX_SAFE_INTEGER })).length,
    LOG.length,
  );
});

test('postgres records: where retention removed the row before, prev is what its signed cut names', async () => {
  const [first] = await records.select({ order: 'asc', limit: 1, channels: ['audit'] });
  assert.equal(first?.prev, chainGenesis(store.logId, 'audit'));
  const spec = newSpec();
  const s = await open(spec);
  const r = recordsOf(s);
  for (let i = 0; i < 3; i++) await put(s, 'api', T0 + i, { event: 'x' });
  const [third] = await r.select({ order: 'desc', limit: 1, channels: ['api'] });
  await s.rotate({ channel: 'api' });
  for (let i = 3; i < 6; i++) await put(s, 'api', T0 + i, { event: 'x' });
  await s.tombstone('api', 1, 3, 'test');
  assert.deepEqual(ids(await r.select({ order: 'asc', limit: 10 })), ['api#4', 'api#5', 'api#6']);
  assert.equal((await r.one('api', 4))?.prev, third?.hash, 'the cut at 3 names its head');
  // A row gone behind the store's back, where no cut is: the store does not know.
  await sql(spec.schema, "DELETE FROM dl_records WHERE channel = 'api' AND seq = 5");
  assert.equal((await r.one('api', 6))?.prev, undefined);
});

test('postgres records: pages of equal times across channels never repeat nor skip', async () => {
  const spec = newSpec();
  const s = await open(spec);
  const r = recordsOf(s);
  // Three channels, 20 records each, on 4 distinct milliseconds.
  for (let i = 0; i < 20; i++)
    for (const channel of ['api', 'app', 'audit'])
      await put(s, channel, T0 + Math.floor(i / 5), { event: 'page', msg: `m ${i}` });
  const check = async (label: string): Promise<void> => {
    for (const [order, text] of [
      ['asc', undefined],
      ['desc', undefined],
      ['desc', { words: [{ word: 'm', prefix: false }], phrases: [] }],
    ] as const) {
      const all = ids(await r.select({ order, limit: 1000, ...(text ? { text } : {}) }));
      assert.equal(all.length, 60);
      assert.equal(new Set(all).size, 60);
      for (const limit of [1, 7, 20]) {
        const paged: string[] = [];
        let cursor: RecordSelection['after'];
        for (;;) {
          const page = await r.select({
            order,
            limit,
            ...(cursor ? { after: cursor } : {}),
            ...(text ? { text } : {}),
          });
          paged.push(...ids(page));
          const last = page[page.length - 1];
          if (page.length < limit || last === undefined || paged.length > 60) break;
          cursor = { tsMs: last.tsMs, channel: last.channel, seq: last.seq };
        }
        assert.deepEqual(paged, all, `${label}, ${order}, pages of ${limit}`);
      }
    }
  };
  await check('milliseconds');
  // Times with microseconds (a line imported from another writer): the same, exactly.
  await sql(
    spec.schema,
    `UPDATE dl_records SET ts = ts + (CASE channel WHEN 'api' THEN 700 WHEN 'app' THEN 100
       ELSE 400 END) * interval '1 microsecond' WHERE seq % 2 = 0`,
  );
  await check('microseconds');
});

test('postgres records: a word in more messages than are sorted in memory pages the same', async () => {
  const spec = newSpec();
  const s = await open(spec);
  const r = recordsOf(s);
  // 6000 rows on 3 channels and 600 distinct milliseconds; every 1000th names a rare word.
  await sql(spec.schema, `SELECT dl_make_partition('2025-01-15')`);
  await sql(
    spec.schema,
    `INSERT INTO dl_records (channel, seq, ts, level, event, msg, line, hash)
     SELECT (ARRAY['api', 'app', 'audit'])[1 + g % 3], g / 3 + 1,
            to_timestamp($1::bigint / 1000.0) + (g / 10) * interval '1 millisecond', 'INFO', 'x',
            CASE WHEN g % 1000 = 7 THEN 'common rare' ELSE 'common' END, '{}', md5(g::text)
       FROM generate_series(0, 5999) g`,
    [T0],
  );
  const common = { words: [{ word: 'common', prefix: false }], phrases: [] };
  for (const order of ['asc', 'desc'] as const) {
    const all = ids(await r.select({ order, limit: 10_000 }));
    const paged: string[] = [];
    let cursor: RecordSelection['after'];
    for (let i = 0; i < 4; i++) {
      const page = await r.select({
        order,
        limit: 333,
        text: common,
        ...(cursor ? { after: cursor } : {}),
      });
      paged.push(...ids(page));
      const last = page[page.length - 1];
      if (last !== undefined) cursor = { tsMs: last.tsMs, channel: last.channel, seq: last.seq };
    }
    assert.deepEqual(paged, all.slice(0, 4 * 333), order);
  }
  const rare = await r.select({
    order: 'asc',
    limit: 3,
    text: { words: [{ word: 'rare', prefix: false }], phrases: [] },
  });
  assert.deepEqual(ids(rare), ['app#3', 'audit#336', 'api#670']);
});

test('postgres records: a span counted as the file index counts it', async () => {
  const counts = await records.activity({ sinceMs: T0, untilMs: T0 + 10_000, bucketMs: 1000 }, 3);
  const b = Math.floor(T0 / 1000);
  const byCl = counts.byChannelLevel
    .map((c) => `${c.bucket - b} ${c.channel} ${c.levelRank} ${c.records}`)
    .sort();
  assert.deepEqual(byCl, [
    '0 app 20 1',
    '0 audit 60 1',
    '1 app 30 1',
    '1 audit 60 1',
    '2 app 40 1',
    '2 security 70 2',
    '3 app 20 1',
    '4 app 20 1',
  ]);
  assert.deepEqual(counts.failedSignIns, [
    { bucket: b, records: 1 },
    { bucket: b + 2, records: 2 },
  ]);
  assert.deepEqual(counts.denied, [{ bucket: b, records: 1 }]);
  assert.deepEqual(counts.topEvents, [
    { event: 'auth.login', count: 2 },
    { event: 'a--b', count: 1 },
    { event: 'a_b', count: 1 },
  ]);
  // The actor's id, or without one the subject.
  assert.deepEqual(counts.topSecuritySources, [
    { source: 'sub_carol', count: 1 },
    { source: 'u1', count: 1 },
  ]);
  const none = await records.activity({ sinceMs: 0, untilMs: 1, bucketMs: 60_000 }, 10);
  assert.deepEqual(none, {
    byChannelLevel: [],
    failedSignIns: [],
    denied: [],
    topEvents: [],
    topSecuritySources: [],
  });
  await assert.rejects(records.activity({ sinceMs: 0, untilMs: 1, bucketMs: 0 }, 1), {
    code: 'USAGE',
  });
});

test('postgres records: a tail on one instance sees what another commits, within a second', async () => {
  const spec = newSpec();
  const a = await open(spec);
  const b = await open(spec);
  for (let i = 0; i < 3; i++) await put(b, 'app', Date.now(), { event: 'before' });
  const follower = await recordsOf(a).follow(['app', 'audit']);
  try {
    assert.deepEqual(await follower.poll(), [], 'nothing from before the start');
    const waited = follower.wait(10_000);
    const t = Date.now();
    await put(b, 'app', Date.now(), { event: 'after.1' });
    await waited;
    assert.ok(Date.now() - t < 1000, `woken in ${Date.now() - t} ms`);
    for (const [channel, event] of [
      ['audit', 'after.2'],
      ['api', 'elsewhere'],
      ['app', 'after.3'],
      ['audit', 'after.4'],
    ] as const)
      await put(b, channel, Date.now(), { event });
    const got: Array<{ channel: string; seq: number; event: string }> = [];
    const until = Date.now() + 1000;
    while (got.length < 4 && Date.now() < until) {
      for (const r of await follower.poll())
        got.push({ ...r, event: (JSON.parse(r.line) as { event: string }).event });
      if (got.length < 4) await follower.wait(until - Date.now());
    }
    assert.deepEqual(got.map((r) => `${r.channel}#${r.seq} ${r.event}`).sort(), [
      'app#4 after.1',
      'app#5 after.3',
      'audit#1 after.2',
      'audit#2 after.4',
    ]);
    for (const channel of ['app', 'audit']) {
      const seqs = got.filter((r) => r.channel === channel).map((r) => r.seq);
      assert.deepEqual(
        seqs,
        [...seqs].sort((x, y) => x - y),
        `${channel} in seq order`,
      );
    }
    assert.deepEqual(await follower.poll(), []);
    await assert.rejects(recordsOf(a).follow(['nope']), { code: 'CHANNEL_UNKNOWN' });
  } finally {
    follower.close();
  }
  const t = Date.now();
  await follower.wait(5000);
  assert.ok(Date.now() - t < 100, 'a closed follower waits for nothing');
  await a.close();
  await assert.rejects(recordsOf(a).follow(['app']), { code: 'LOGS_CLOSED' });
});
