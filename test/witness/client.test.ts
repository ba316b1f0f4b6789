import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { cpSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parsePublicKey } from '../../src/crypto/sign.js';
import type { EventInput } from '../../src/event/record.js';
import { catchUp } from '../../src/search/indexer.js';
import { consistencyProofFromIndex } from '../../src/search/proofs.js';
import { parseCheckpoint, type Checkpoint } from '../../src/integrity/checkpoint.js';
import {
  channelOrigin,
  checkpointNote,
  checkpointNoteText,
  logVerifierKey,
} from '../../src/integrity/checkpoint-note.js';
import {
  cosigner,
  openNote,
  parseVerifierKey,
  signCosignature,
  verifyCosignature,
  type Cosigner,
} from '../../src/integrity/note/index.js';
import {
  appendCosignatures,
  readCosignatures,
  type Cosignature,
} from '../../src/store/file/cosignatures.js';
import { LogLayout } from '../../src/store/file/layout.js';
import {
  WitnessClient,
  WitnessStateStore,
  parseAddCheckpoint,
  resolveWitnessConfig,
  serveWitness,
  witnessVerifierKey,
  type ServedWitness,
  type WitnessClientDeps,
} from '../../src/witness/index.js';
import { newLog, readLines, tempDir, type TestLog } from '../helpers.js';
import { openIndex } from '../search/helpers.js';

const CHANNELS = ['app', 'audit', 'security', 'scheduler', 'api'];
const INTERVAL = 5000;

/** A real log, and what a client needs to read it: checkpoints, the index, the cosignatures. */
interface Rig {
  readonly t: TestLog;
  readonly layout: LogLayout;
  /** Write `n` records to app and `m` to scheduler, then close (checkpoints signed). */
  write(n: number, m?: number): Promise<void>;
  latest(): Checkpoint[];
  origin(channel: string): string;
  /** The log's note verifier keys, one per channel origin (what witnesses are configured with). */
  readonly logs: Array<{ origin: string; keys: string[] }>;
}

function rig(): Rig {
  const t = newLog();
  const layout = new LogLayout(t.dir);
  const origin = (channel: string): string => channelOrigin(undefined, t.logId, channel);
  const pub = parsePublicKey(t.publicKey);
  let k = 0;
  return {
    t,
    layout,
    origin,
    logs: CHANNELS.map((c) => ({ origin: origin(c), keys: [logVerifierKey(origin(c), pub)] })),
    write: async (n, m = 0) => {
      const logs = await t.open();
      for (let i = 0; i < n; i++) logs.app.info({ event: 'job.run', n: k++ }, `run ${k}`);
      for (let i = 0; i < m; i++) logs.logger('scheduler').info({ event: 'job.run' }, 'tick');
      await logs.flush();
      await logs.close();
    },
    latest: () => {
      const by = new Map<string, Checkpoint>();
      for (const line of readLines(layout.checkpointsFile)) {
        const cp = parseCheckpoint(line);
        by.set(cp.channel, cp);
      }
      return [...by.values()];
    },
  };
}

/** A real witness on loopback, with its key; `restart` serves it again on the same port. */
interface LiveWitness {
  readonly name: string;
  readonly key: Cosigner;
  readonly vkey: string;
  readonly stateDir: string;
  served: ServedWitness;
  restart(): Promise<void>;
}

async function liveWitness(
  r: Rig,
  name: string,
  stateDir = path.join(tempDir(), 'state'),
): Promise<LiveWitness> {
  const key = cosigner(name, generateKeyPairSync('ed25519').privateKey);
  const config = resolveWitnessConfig(
    { name, key_file: '/nonexistent/witness.key', state_dir: stateDir, logs: r.logs },
    '/',
  );
  const served = await serveWitness(config, { key }, { host: '127.0.0.1', port: 0 });
  const port = Number(new URL(served.url).port);
  const w: LiveWitness = {
    name,
    key,
    vkey: witnessVerifierKey(key),
    stateDir,
    served,
    restart: async () => {
      w.served = await serveWitness(config, { key }, { host: '127.0.0.1', port });
    },
  };
  return w;
}

interface Driven {
  readonly client: WitnessClient;
  readonly events: EventInput[];
  /** URLs of the requests made, in order. */
  readonly requests: Array<{ url: string; body: string }>;
  readonly now: { ms: number };
}

function drive(
  r: Rig,
  witnesses: ReadonlyArray<{ url: string; key: string }>,
  options: Partial<WitnessClientDeps> & { store?: WitnessClientDeps['store'] } = {},
): Driven {
  const events: EventInput[] = [];
  const requests: Array<{ url: string; body: string }> = [];
  const now = { ms: Date.parse('2025-01-01T00:00:00Z') };
  const client = new WitnessClient({
    witnesses,
    quorum: 2,
    intervalMs: INTERVAL,
    latest: () => r.latest(),
    consistency: async (channel, from, to) => {
      const db = openIndex(r.t);
      try {
        await catchUp(r.layout, r.t.logId, db);
        return consistencyProofFromIndex(db, channel, from, to).hashes;
      } finally {
        db.close();
      }
    },
    store: {
      read: () => readCosignatures(r.layout),
      append: (list) => appendCosignatures(r.layout, list),
    },
    onEvent: (e) => {
      events.push(e);
      return Promise.resolve();
    },
    fetch: (url, init) => {
      requests.push({ url, body: typeof init.body === 'string' ? init.body : '' });
      return fetch(url, init);
    },
    clock: () => now.ms,
    random: () => 0,
    ...options,
  });
  return { client, events, requests, now };
}

const endpoint = (w: LiveWitness): { url: string; key: string } => ({
  url: w.served.url,
  key: w.vkey,
});

/** The newest size of `origin` each witness has a kept cosignature for. */
function keptSizes(r: Rig, origin: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const c of readCosignatures(r.layout))
    if (c.origin === origin) m.set(c.witness, Math.max(m.get(c.witness) ?? 0, c.size));
  return m;
}

function assertVerifiable(r: Rig, c: Cosignature, vkey: string): void {
  const v = parseVerifierKey(vkey);
  const text = checkpointNoteText(c.origin, c.size, c.root);
  assert.ok(verifyCosignature(v, text, c.line) > 0);
  // The log's note with the line appended opens with the witness's key.
  const cp = r.latest().find((x) => x.origin === c.origin && x.size === c.size);
  if (cp !== undefined)
    assert.equal(openNote(`${checkpointNote(cp)}${c.line}\n`, [v]).verified.length, 1);
}

const byEvent = (events: EventInput[], name: string): EventInput[] =>
  events.filter((e) => e.event === name);

test('two witnesses cosign the latest checkpoints; a second round sends consistency proofs', async () => {
  const r = rig();
  await r.write(5, 3);
  const w1 = await liveWitness(r, 'w1.example.org/witness');
  const w2 = await liveWitness(r, 'w2.example.org/witness');
  const d = drive(r, [endpoint(w1), endpoint(w2)]);
  await d.client.syncNow();
  const app = r.origin('app');
  const sched = r.origin('scheduler');
  assert.deepEqual(
    keptSizes(r, app),
    new Map([
      ['w1.example.org/witness', 5],
      ['w2.example.org/witness', 5],
    ]),
  );
  assert.equal(keptSizes(r, sched).get('w2.example.org/witness'), 3);
  const kept = readCosignatures(r.layout);
  assert.equal(kept.length, 4);
  for (const c of kept) assertVerifiable(r, c, c.witness === w1.name ? w1.vkey : w2.vkey);
  assert.ok(d.requests.every((q) => q.body.startsWith('old 0\n\n')));
  assert.deepEqual(d.events, []);
  const st = d.client.status().find((s) => s.channel === 'app');
  assert.equal(st?.witnessed.size, 5);
  assert.deepEqual(
    st.witnesses.map((w) => [w.name, w.size, w.reachable]),
    [
      [w1.name, 5, true],
      [w2.name, 5, true],
    ],
  );

  // New records: each witness gets old 5 and the proof from 5 to 12; both accept.
  await r.write(7);
  d.requests.length = 0;
  await d.client.syncNow();
  assert.equal(d.requests.length, 2);
  for (const q of d.requests) {
    const req = parseAddCheckpoint(Buffer.from(q.body));
    assert.equal(req.oldSize, 5);
    assert.ok(req.proof.length > 0);
  }
  assert.equal(keptSizes(r, app).get(w1.name), 12);
  assert.equal(keptSizes(r, app).get(w2.name), 12);
  for (const c of readCosignatures(r.layout))
    assertVerifiable(r, c, c.witness === w1.name ? w1.vkey : w2.vkey);
  assert.equal(d.client.status().find((s) => s.channel === 'app')?.witnessed.size, 12);

  // Nothing new: nothing sent.
  d.requests.length = 0;
  await d.client.syncNow();
  assert.equal(d.requests.length, 0);

  // A new process knows the sizes from the store: it confirms once (old = size, no proof),
  // keeps no duplicate cosignature, then sends nothing more.
  const before = readCosignatures(r.layout).length;
  const again = drive(r, [endpoint(w1), endpoint(w2)]);
  await again.client.syncNow();
  assert.ok(again.requests.every((q) => /^old (?:12|3)\n\n/.test(q.body)));
  assert.equal(readCosignatures(r.layout).length, before);
  again.requests.length = 0;
  await again.client.syncNow();
  assert.equal(again.requests.length, 0);
  assert.deepEqual(again.events, []);
  await Promise.all([d.client.close(), again.client.close()]);
  await Promise.all([w1.served.close(), w2.served.close()]);
});

test('a witness that is down is backed off, reported once, and catches up when it is back', async () => {
  const r = rig();
  await r.write(4);
  const w1 = await liveWitness(r, 'w1.example.org/witness');
  const w2 = await liveWitness(r, 'w2.example.org/witness');
  const d = drive(r, [endpoint(w1), endpoint(w2)]);
  await d.client.syncNow();
  const app = r.origin('app');
  assert.equal(keptSizes(r, app).get(w2.name), 4);

  await w2.served.close();
  await r.write(3);
  await d.client.syncNow();
  assert.equal(keptSizes(r, app).get(w1.name), 7);
  assert.equal(keptSizes(r, app).get(w2.name), 4);
  const down = byEvent(d.events, 'log.witness.unreachable');
  assert.equal(down.length, 1);
  assert.equal(down[0]?.level, 'WARNING');
  assert.equal(down[0].data?.witness, w2.name);
  const st = d.client.status().find((s) => s.channel === 'app');
  assert.equal(st?.witnesses[1]?.reachable, false);
  assert.equal(st.witnessed.size, 4); // quorum 2: the newest size both cosigned

  // Backed off: no request to w2 before intervalMs, then 2 x intervalMs (no jitter here).
  const toW2 = (): number => d.requests.filter((q) => q.url.startsWith(w2.served.url)).length;
  const tried = toW2();
  await r.write(2);
  await d.client.syncNow();
  assert.equal(toW2(), tried);
  assert.equal(keptSizes(r, app).get(w1.name), 9);
  d.now.ms += INTERVAL;
  await d.client.syncNow();
  assert.equal(toW2(), tried + 1);
  d.now.ms += INTERVAL * 1.5;
  await d.client.syncNow();
  assert.equal(toW2(), tried + 1);
  assert.equal(byEvent(d.events, 'log.witness.unreachable').length, 1);

  // Back on the same state and port: the next round converges.
  await w2.restart();
  d.now.ms += 10 * 60_000;
  await d.client.syncNow();
  assert.equal(keptSizes(r, app).get(w2.name), 9);
  const back = byEvent(d.events, 'log.witness.reachable');
  assert.equal(back.length, 1);
  assert.equal(back[0]?.level, 'INFO');
  const after = d.client.status().find((s) => s.channel === 'app');
  assert.equal(after?.witnessed.size, 9);
  assert.ok(after.witnesses.every((w) => w.reachable && w.size === 9));
  await d.client.close();
  await Promise.all([w1.served.close(), w2.served.close()]);
});

test('a log rolled back behind a witness is reported once, CRITICAL, with both sizes', async () => {
  const r = rig();
  await r.write(5);
  const w1 = await liveWitness(r, 'w1.example.org/witness');
  const w2 = await liveWitness(r, 'w2.example.org/witness');
  const d = drive(r, [endpoint(w1), endpoint(w2)]);
  await d.client.syncNow();
  const copy = path.join(r.t.root, 'copy');
  cpSync(r.t.dir, copy, { recursive: true });
  await r.write(4);
  await d.client.syncNow();
  assert.equal(keptSizes(r, r.origin('app')).get(w1.name), 9);
  // Restore the older copy (its cosignatures.log too).
  rmSync(r.t.dir, { recursive: true, force: true });
  cpSync(copy, r.t.dir, { recursive: true });

  const check = (events: EventInput[]): void => {
    const rb = byEvent(events, 'log.integrity.rollback');
    assert.equal(rb.length, 2, JSON.stringify(events));
    for (const e of rb) {
      assert.equal(e.level, 'CRITICAL');
      assert.equal(e.channel, 'security');
      assert.equal(e.data?.channel, 'app');
      assert.equal(e.data.origin, r.origin('app'));
      assert.equal(e.data.witnessed_size, 9);
      assert.equal(e.data.size, 5);
    }
    assert.deepEqual(rb.map((e) => e.data?.witness).sort(), [w1.name, w2.name]);
  };
  // The running client knows the witnesses are at 9.
  await d.client.syncNow();
  await d.client.syncNow();
  check(d.events);
  // A new process, from the restored store (which says 5): the witnesses answer 409 with 9.
  const fresh = drive(r, [endpoint(w1), endpoint(w2)]);
  await fresh.client.syncNow();
  fresh.now.ms += 3_600_000;
  await fresh.client.syncNow();
  check(fresh.events);
  assert.equal(keptSizes(r, r.origin('app')).get(w1.name), 5);
  await Promise.all([d.client.close(), fresh.client.close()]);
  await Promise.all([w1.served.close(), w2.served.close()]);
});

test('a witness that holds another root (at our size, or below it) answers 422: log.integrity.fork', async () => {
  const r = rig();
  await r.write(6);
  const app = r.origin('app');
  const forged = (size: number): { origin: string; size: number; root: Buffer } => ({
    origin: app,
    size,
    root: randomBytes(32),
  });
  const dir1 = path.join(tempDir(), 'state');
  const dir2 = path.join(tempDir(), 'state');
  new WitnessStateStore(dir1).put({ ...forged(6), timestamp: 1, checkpoint: 'x\n' });
  new WitnessStateStore(dir2).put({ ...forged(3), timestamp: 1, checkpoint: 'x\n' });
  const w1 = await liveWitness(r, 'w1.example.org/witness', dir1);
  const w2 = await liveWitness(r, 'w2.example.org/witness', dir2);
  const d = drive(r, [endpoint(w1), endpoint(w2)]);
  await d.client.syncNow();
  d.now.ms += 3_600_000;
  await d.client.syncNow();
  const forks = byEvent(d.events, 'log.integrity.fork');
  assert.equal(forks.length, 2, JSON.stringify(d.events));
  for (const e of forks) {
    assert.equal(e.level, 'CRITICAL');
    assert.equal(e.data?.origin, app);
    assert.equal(e.data.size, 6);
  }
  assert.deepEqual(forks.map((e) => [e.data?.witness, e.data?.old_size]).sort(), [
    [w1.name, 6],
    [w2.name, 3],
  ]);
  assert.equal(keptSizes(r, app).size, 0);
  await d.client.close();
  await Promise.all([w1.served.close(), w2.served.close()]);
});

/** A fake witness on loopback whose answer is chosen per test case. */
async function fakeWitness(
  answer: (req: IncomingMessage, body: Buffer, res: ServerResponse) => void,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => answer(req, Buffer.concat(chunks), res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

test('malformed witness answers never throw and store nothing', async () => {
  const r = rig();
  await r.write(3);
  const name = 'w1.example.org/witness';
  const key = cosigner(name, generateKeyPairSync('ed25519').privateKey);
  const impostor = cosigner(name, generateKeyPairSync('ed25519').privateKey);
  const other = cosigner('other.example.org/w', generateKeyPairSync('ed25519').privateKey);
  const noteText = (body: Buffer): string => parseAddCheckpoint(body).note.text;
  const line = (signer: Cosigner, body: Buffer): string =>
    signCosignature(signer, noteText(body), 1_700_000_000);
  const flipped = (body: Buffer): string => {
    const l = line(key, body);
    const b64 = l.slice(l.lastIndexOf(' ') + 1, -1);
    const raw = Buffer.from(b64, 'base64');
    raw[raw.length - 1]! ^= 1;
    return `\u2014 ${name} ${raw.toString('base64')}\n`;
  };
  const text = (res: ServerResponse, status: number, body: string | Buffer, type = 'text/plain') =>
    res.writeHead(status, { 'content-type': type }).end(body);
  const cases: Record<string, (req: IncomingMessage, body: Buffer, res: ServerResponse) => void> = {
    'impostor key, same name': (_q, b, res) => text(res, 200, line(impostor, b)),
    'signature changed': (_q, b, res) => text(res, 200, flipped(b)),
    'another witness': (_q, b, res) => text(res, 200, line(other, b)),
    garbage: (_q, _b, res) => text(res, 200, 'hello\n\u2014 \n\0\0\0'),
    'empty 200': (_q, _b, res) => text(res, 200, ''),
    'not UTF-8': (_q, _b, res) => text(res, 200, Buffer.from([0xff, 0xfe, 0x0a])),
    'huge, chunked': (_q, b, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      // A valid line after a megabyte of padding: never read.
      for (let i = 0; i < 16; i++) res.write(Buffer.alloc(65536, 0x41));
      res.end(`\n${line(key, b)}`);
    },
    'valid line past the line limit': (_q, b, res) =>
      text(res, 200, `${'x\n'.repeat(100)}${line(key, b)}`),
    'huge, declared': (_q, _b, res) => {
      res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
      res.write('a');
    },
    '409 garbage': (_q, _b, res) => text(res, 409, 'twelve\n', 'text/x.tlog.size'),
    '409 without the type': (_q, _b, res) => text(res, 409, '1\n'),
    '409 past 2^53': (_q, _b, res) => text(res, 409, '99999999999999999\n', 'text/x.tlog.size'),
    '409 with the same size': (_q, _b, res) => text(res, 409, '0\n', 'text/x.tlog.size'),
    '400': (_q, _b, res) => text(res, 400, 'NOTE_MALFORMED: no\n'),
    '404': (_q, _b, res) => text(res, 404, 'WITNESS_ORIGIN_UNKNOWN: who\n'),
    redirect: (_q, _b, res) => res.writeHead(302, { location: 'http://127.0.0.1:1/' }).end(),
    '500': (_q, _b, res) => text(res, 500, 'oops'),
    reset: (q) => q.socket.destroy(),
    'no answer': () => undefined,
  };
  for (const [label, answer] of Object.entries(cases)) {
    const fake = await fakeWitness(answer);
    const kept: Cosignature[] = [];
    const d = drive(r, [{ url: fake.url, key: witnessVerifierKey(key) }], {
      quorum: 1,
      timeoutMs: 300,
      store: { read: () => kept, append: (l) => kept.push(...l) },
    });
    await d.client.syncNow();
    await d.client.syncNow();
    await d.client.close();
    await fake.close();
    assert.deepEqual(kept, [], label);
    assert.ok(d.requests.length >= 1, label);
    assert.ok(
      d.events.every((e) => e.event === 'log.witness.unreachable' && e.level === 'WARNING'),
      `${label}: ${JSON.stringify(d.events)}`,
    );
    assert.equal(d.events.length, 1, `${label}: ${JSON.stringify(d.events)}`);
    const reason = ['400', 'redirect'].includes(label)
      ? 'refused'
      : label === '404'
        ? 'misconfigured'
        : ['500', 'reset', 'no answer'].includes(label)
          ? 'unreachable'
          : 'bad_answer';
    assert.equal(d.events[0]?.data?.reason, reason, label);
  }
  // The same fake, answering right, is believed: the cases above failed for their answers.
  const good = await fakeWitness((_q, b, res) => text(res, 200, line(key, b)));
  const kept: Cosignature[] = [];
  const d = drive(r, [{ url: good.url, key: witnessVerifierKey(key) }], {
    quorum: 1,
    store: { read: () => kept, append: (l) => kept.push(...l) },
  });
  await d.client.syncNow();
  await good.close();
  assert.deepEqual(
    kept.map((c) => [c.channel, c.size, c.witness]),
    [['app', 3, name]],
  );
  assert.deepEqual(d.events, []);
  assert.equal(d.client.status()[0]?.witnessed.size, 3);
});

test('start() runs rounds on a timer that close() stops; a bad configuration is refused at once', async () => {
  const r = rig();
  await r.write(2);
  const w1 = await liveWitness(r, 'w1.example.org/witness');
  const d = drive(r, [endpoint(w1)], { quorum: 1, clock: Date.now });
  d.client.start();
  for (let i = 0; i < 100 && readCosignatures(r.layout).length === 0; i++)
    await new Promise((res) => setTimeout(res, 20));
  await d.client.close();
  assert.equal(keptSizes(r, r.origin('app')).get(w1.name), 2);
  const n = d.requests.length;
  await d.client.syncNow(); // closed: no more rounds
  assert.equal(d.requests.length, n);
  await w1.served.close();
  const bad = (witnesses: Array<{ url: string; key: string }>): void => {
    assert.throws(
      () => drive(r, witnesses),
      (e: unknown) => (e as { code?: string }).code === 'CONFIG_INVALID',
    );
  };
  bad([{ url: 'ftp://x', key: w1.vkey }]);
  bad([{ url: 'not a url', key: w1.vkey }]);
  bad([{ url: 'http://x', key: r.logs[0]!.keys[0]! }]); // a log key (0x01), not a witness key
  bad([
    { url: 'http://a', key: w1.vkey },
    { url: 'http://b', key: w1.vkey },
  ]);
});
