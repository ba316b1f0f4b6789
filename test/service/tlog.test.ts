import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { logVerifierKey } from '../../src/integrity/checkpoint-note.js';
import {
  openNote,
  parseCheckpoint as parseNoteCheckpoint,
  parseVerifierKey,
} from '../../src/integrity/note/index.js';
import { parsePublicKey } from '../../src/crypto/sign.js';
import path from 'node:path';
import Fastify from 'fastify';
import { tlogRoutes } from '../../src/service/routes/tlog.js';
import { LogLayout } from '../../src/store/file/layout.js';
import { readLines, readRecords } from '../helpers.js';
import { testService, type TestService } from './helpers.js';
import { mth, rootFromTiles } from '../search/tile-client.js';

const FULL = 'public, max-age=31536000, immutable';

/** The chain hashes of `app`, from its file: the tree's leaves. */
function leavesOf(s: TestService): Buffer[] {
  return readLines(path.join(s.t.dir, 'app.log')).map((l) =>
    Buffer.from((JSON.parse(l) as { hash: string }).hash, 'hex'),
  );
}

async function write(s: TestService, n: number): Promise<void> {
  for (let i = 0; i < n; i++) s.logs.app.info({ i }, 'tick');
  await s.logs.flush();
}

/** GET without a token. */
async function get(s: TestService, url: string, headers: Record<string, string> = {}) {
  return s.app.inject({ method: 'GET', url, headers });
}

/** A tile path for a level, index and width (full at 256): the client's side, written apart. */
function tilePath(level: number, index: number, width: number): string {
  const groups: string[] = [];
  let n = index;
  do {
    groups.unshift(String(n % 1000).padStart(3, '0'));
    n = Math.floor(n / 1000);
  } while (n > 0);
  const name = groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
  return `tile/${level}/${name}${width < 256 ? `.p/${width}` : ''}`;
}

/** The root at `size` from tiles fetched over HTTP, by the client of test/index/tile-client.ts. */
function rootOverHttp(size: number, fetch: (tilePath: string) => Promise<Buffer>): Promise<Buffer> {
  return rootFromTiles(size, (t) => fetch(tilePath(t.level, t.index, t.width)));
}

test('tiles are served without a token: the hashes of the channel file, full tiles immutable, partial ones briefly cached', async () => {
  const s = await testService();
  try {
    await write(s, 600);
    const leaves = leavesOf(s);
    const n = leaves.length;
    assert.ok(n >= 600 && n < 768, `${n}`);

    const full = await get(s, '/v1/tlog/app/tile/0/001');
    assert.equal(full.statusCode, 200);
    assert.equal(full.headers['content-type'], 'application/octet-stream');
    assert.equal(full.headers['cache-control'], FULL);
    assert.deepEqual(full.rawPayload, Buffer.concat(leaves.slice(256, 512)));

    const partial = await get(s, `/v1/tlog/app/tile/0/002.p/${n - 512}`);
    assert.equal(partial.statusCode, 200);
    assert.equal(partial.headers['content-type'], 'application/octet-stream');
    assert.equal(partial.headers['cache-control'], 'public, max-age=60');
    assert.deepEqual(partial.rawPayload, Buffer.concat(leaves.slice(512)));

    const level1 = await get(s, '/v1/tlog/app/tile/1/000.p/2');
    assert.equal(level1.statusCode, 200);
    assert.deepEqual(
      level1.rawPayload,
      Buffer.concat([mth(leaves, 0, 256), mth(leaves, 256, 512)]),
    );

    // A token, even a wrong one, changes nothing, and is not even looked at.
    const withBad = await get(s, '/v1/tlog/app/tile/0/000', {
      authorization: 'Bearer dl_0123456789ab_not-a-real-token',
    });
    assert.equal(withBad.statusCode, 200);
    const withGood = await get(s, '/v1/tlog/app/tile/0/000', s.auth('ingest'));
    assert.deepEqual(withGood.rawPayload, withBad.rawPayload);
    await s.logs.flush();
    assert.deepEqual(
      s
        .records('security')
        .filter((e) => e.event === 'access.denied' || e.event === 'auth.failure'),
      [],
    );
    for (const r of s.app.service.routes.filter((r) => r.url.startsWith('/v1/tlog/')))
      assert.equal(r.public, true, r.url);

    // Records written after the index last caught up: a tile that needs them catches it up.
    await write(s, 300);
    const later = leavesOf(s);
    const grown = await get(s, '/v1/tlog/app/tile/0/002');
    assert.equal(grown.statusCode, 200);
    assert.deepEqual(grown.rawPayload, Buffer.concat(later.slice(512, 768)));
  } finally {
    await s.close();
  }
});

test('a client rebuilds each signed checkpoint root of .integrity/checkpoints.log from tiles fetched over HTTP', async () => {
  const s = await testService();
  try {
    for (const n of [1, 255, 1, 700, 343, 1024]) await write(s, n);
    const checkpoints = readRecords(new LogLayout(s.t.dir).checkpointsFile)
      .filter((c) => c.channel === 'app')
      .map((c) => ({ size: c.size as number, root: c.root as string }));
    assert.ok(checkpoints.length >= 6, `${checkpoints.length}`);
    const fetched = new Set<string>();
    for (const cp of checkpoints) {
      const root = await rootOverHttp(cp.size, async (p) => {
        fetched.add(p);
        const res = await get(s, `/v1/tlog/app/${p}`);
        assert.equal(res.statusCode, 200, p);
        return res.rawPayload;
      });
      assert.equal(root.toString('hex'), cp.root, `size ${cp.size}`);
    }
    assert.ok(
      [...fetched].some((p) => p.startsWith('tile/1/')),
      [...fetched].join(' '),
    );
  } finally {
    await s.close();
  }
});

test('unknown channels, malformed paths, entry bundles and tiles past the index are 404 with the error body, never 5xx, and repeat nothing of the request', async () => {
  const s = await testService();
  try {
    await write(s, 300);
    const cases: Array<[string, string]> = [
      ['/v1/tlog/qqnope/tile/0/000', 'NOT_FOUND'],
      ['/v1/tlog/QQAPP/tile/0/000', 'NOT_FOUND'],
      ['/v1/tlog/app/tile/entries/000', 'NOT_FOUND'],
      ['/v1/tlog/app/tile/entries/000.p/5', 'NOT_FOUND'],
      ['/v1/tlog/app/tile/0/0', 'NOT_FOUND'],
      ['/v1/tlog/app/tile/00/000', 'NOT_FOUND'],
      ['/v1/tlog/app/tile/0/x000/000', 'NOT_FOUND'],
      ['/v1/tlog/app/tile/0/000.p/256', 'NOT_FOUND'],
      ['/v1/tlog/app/tile/0/000.p/0', 'NOT_FOUND'],
      ['/v1/tlog/app/tile/0/000.p/044', 'NOT_FOUND'],
      ['/v1/tlog/app/tile/64/000', 'NOT_FOUND'],
      ['/v1/tlog/app/tile/0/x999/x999/x999/x999/999', 'NOT_FOUND'],
      ['/v1/tlog/app/tile/0/x001/x001/x001/x001/x001/001', 'NOT_FOUND'],
      ['/v1/tlog/app/tile/0/%2e%2e/000', 'NOT_FOUND'],
      ['/v1/tlog/app/tile/0/000%00', 'NOT_FOUND'],
      ['/v1/tlog/app/tile/', 'NOT_FOUND'],
      ['/v1/tlog/app/tile/0/000/', 'NOT_FOUND'],
      [`/v1/tlog/app/tile/0/${'x001/'.repeat(400)}001`, 'NOT_FOUND'],
      ['/v1/tlog/app/tile/0/777', 'TILE_UNAVAILABLE'],
      ['/v1/tlog/app/tile/0/001.p/255', 'TILE_UNAVAILABLE'],
      ['/v1/tlog/app/tile/0/001', 'TILE_UNAVAILABLE'],
      ['/v1/tlog/app/tile/1/000', 'TILE_UNAVAILABLE'],
      ['/v1/tlog/app/tile/2/000.p/1', 'TILE_UNAVAILABLE'],
      ['/v1/tlog/audit/tile/0/000.p/1', 'TILE_UNAVAILABLE'], // a channel with no record
      ['/v1/tlog/qqnope/checkpoint', 'NOT_FOUND'],
    ];
    for (const [url, code] of cases) {
      const res = await get(s, url);
      assert.equal(res.statusCode, 404, url);
      assert.equal(res.headers['cache-control'], 'no-store', url);
      const body = res.json<{ error: { code: string; message: string; id: string } }>();
      assert.deepEqual(Object.keys(body.error).sort(), ['code', 'id', 'message'], url);
      assert.equal(body.error.code, code, url);
      for (const echo of ['qq', '777', '255', '999', 'entries', '%', '..', 'x00'])
        assert.ok(!body.error.message.includes(echo), `${url}: ${body.error.message}`);
    }
  } finally {
    await s.close();
  }
});

test('the checkpoint comes from the function the routes are given: text/plain, not cached, 404 when it has none', async () => {
  const s = await testService();
  const app = Fastify();
  const asked: string[] = [];
  const note =
    'example.org/logs/app\n12\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— example.org/logs abcd\n';
  tlogRoutes(app, s.app.service, {
    checkpointNote: (channel) => {
      asked.push(channel);
      return channel === 'app' ? note : undefined;
    },
  });
  try {
    const res = await app.inject({ url: '/v1/tlog/app/checkpoint' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(res.headers['cache-control'], 'no-cache');
    assert.equal(res.body, note);
    for (const url of ['/v1/tlog/audit/checkpoint', '/v1/tlog/qqnope/checkpoint']) {
      const missing = await app.inject({ url });
      assert.equal(missing.statusCode, 404, url);
      assert.equal(missing.json<{ error: { code: string } }>().error.code, 'NOT_FOUND');
    }
    // An unknown channel is refused before the function is asked.
    assert.deepEqual(asked, ['app', 'audit']);
  } finally {
    await app.close();
    await s.close();
  }
});

test('the checkpoint is the newest signed note of the channel, checked with the log key alone, with its tiles giving the same root', async () => {
  const s = await testService({}, { integrity: { log_name: 'logs.example.org/dihya' } });
  try {
    await write(s, 300);
    const res = await get(s, '/v1/tlog/app/checkpoint');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['cache-control'], 'no-cache');
    const origin = 'logs.example.org/dihya/app';
    const vkey = logVerifierKey(origin, parsePublicKey(s.t.publicKey));
    const opened = openNote(res.body, [parseVerifierKey(vkey)]);
    assert.equal(opened.verified.length, 1);
    const cp = parseNoteCheckpoint(opened.text);
    assert.equal(cp.origin, origin);
    assert.equal(cp.size, 300);
    const root = await rootOverHttp(cp.size, async (p) => {
      const tile = await get(s, `/v1/tlog/app/${p}`);
      assert.equal(tile.statusCode, 200, p);
      return tile.rawPayload;
    });
    assert.deepEqual(root, cp.rootHash);
    // Another key, or the note edited, is refused.
    const other = logVerifierKey(origin, generateKeyPairSync('ed25519').publicKey);
    assert.throws(() => openNote(res.body, [parseVerifierKey(other)]));
    assert.throws(() => openNote(res.body.replace('\n300\n', '\n299\n'), [parseVerifierKey(vkey)]));
    assert.equal((await get(s, '/v1/tlog/nope/checkpoint')).statusCode, 404);
  } finally {
    await s.close();
  }
});
