/**
 * `dihya-logs serve` on the PostgreSQL store (issue 17): several equal instances, each its own
 * process and local directory, on one database. Any instance takes any channel; tokens, query,
 * counts, live tail and verification answer the same from each, because the database is the log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { verifyInclusionProof } from '../../src/integrity/proofs.js';
import { cli, cliSpawn } from '../cli/run.js';
import { cliOnPostgres, sql } from '../store/postgres-backend.js';

interface Instance {
  readonly child: ChildProcessWithoutNullStreams;
  readonly url: string;
  /** Everything it printed on stdout so far. */
  readonly out: () => string;
  readonly err: () => string;
}

/** Start `serve` in its own local directory; resolves once it listens. */
async function serve(cwd: string, env: Record<string, string>, dir: string): Promise<Instance> {
  const child = cliSpawn(cwd, ['--dir', dir, 'serve', '--port', '0', '--no-scheduler'], env);
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line: ${out}${err}`)), 30_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${out}${err}`)));
  });
  return { child, url, out: () => out, err: () => err };
}

async function stop(i: Instance): Promise<number | null> {
  if (i.child.exitCode !== null) return i.child.exitCode;
  i.child.kill('SIGTERM');
  const [code] = (await once(i.child, 'close')) as [number | null];
  return code;
}

async function call(
  base: string,
  token: string,
  method: string,
  route: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
  };
}

/** The first `event: record` of a tail stream whose data matches `pattern`. */
async function tailUntil(
  base: string,
  token: string,
  query: string,
  pattern: RegExp,
  started: () => Promise<void>,
): Promise<Record<string, unknown>> {
  const ac = new AbortController();
  const res = await fetch(`${base}/v1/tail?${query}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: ac.signal,
  });
  assert.equal(res.status, 200);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  const timer = setTimeout(() => ac.abort(), 20_000);
  try {
    await started();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`tail ended before a match: ${text}`);
      text += decoder.decode(value, { stream: true });
      for (const block of text.split('\n\n')) {
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (data !== undefined && pattern.test(data))
          return JSON.parse(data) as Record<string, unknown>;
      }
    }
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}

test('three serve instances on one database: one gap-free chain; tokens, query, counts, tail and verify shared', async () => {
  const { cwd, env, spec } = cliOnPostgres();
  const a = await serve(cwd, env, 'state-a');
  const instances: Instance[] = [a];
  try {
    const admin = /(dl_[\da-f]{12}_[\w-]{43})/.exec(a.out())?.[1];
    assert.ok(admin !== undefined, `the first instance prints the first admin token: ${a.out()}`);
    // The others find it in the database: no second admin token is made or printed.
    const b = await serve(cwd, env, 'state-b');
    const c = await serve(cwd, env, 'state-c');
    instances.push(b, c);
    for (const i of [b, c]) assert.doesNotMatch(i.out(), /dl_[\da-f]{12}_/);

    // A token made on one instance works on every other at once.
    const made = await call(a.url, admin, 'POST', '/v1/tokens', { role: 'ingest', name: 'app' });
    assert.equal(made.status, 201, JSON.stringify(made.json));
    const ingest = String(made.json.token);

    // Concurrent producers on every instance, the same channel, retried batches included.
    const acked = new Map<string, number>();
    const producer = async (i: Instance, p: number): Promise<void> => {
      for (let n = 0; n < 15; n++) {
        const ids = Array.from({ length: 8 }, (_, k) => `${i.url.slice(-5)}-${p}-${n}-${k}`);
        const events = ids.map((id) => ({
          level: 'AUDIT',
          event: 'test.serve.multi',
          msg: `event ${id}`,
          data: { id },
        }));
        const key = `k-${ids[0] ?? ''}`;
        const first = await call(i.url, ingest, 'POST', '/v1/events', events, {
          'idempotency-key': key,
        });
        assert.equal(first.status, 200, JSON.stringify(first.json));
        // A retry after a lost answer, sent to another instance: the same seqs, nothing new.
        const other = instances[(instances.indexOf(i) + 1) % instances.length] as Instance;
        const again = await call(other.url, ingest, 'POST', '/v1/events', events, {
          'idempotency-key': key,
        });
        assert.deepEqual(again.json.events, first.json.events);
        const seqs = (first.json.events as Array<{ seq: number }>).map((e) => e.seq);
        ids.forEach((id, k) => acked.set(id, seqs[k] as number));
      }
    };
    await Promise.all(instances.flatMap((i) => [0, 1, 2].map((p) => producer(i, p))));
    assert.equal(acked.size, 3 * 3 * 15 * 8);

    // One chain: seq 1..n without a gap, each acknowledged event exactly once at its seq.
    const rows = await sql(
      spec.schema,
      "SELECT seq, line FROM dl_records WHERE channel = 'audit' ORDER BY seq",
    );
    const seqs = rows.rows.map((r: { seq: string }) => Number(r.seq));
    assert.deepEqual(
      seqs,
      Array.from({ length: seqs.length }, (_, k) => k + 1),
    );
    const stored = new Map<string, number>();
    for (const r of rows.rows as Array<{ seq: string; line: string }>) {
      const rec = JSON.parse(r.line) as { event: string; data?: { id?: string } };
      if (rec.event !== 'test.serve.multi') continue;
      const id = String(rec.data?.id);
      assert.ok(!stored.has(id), `${id} stored twice`);
      stored.set(id, Number(r.seq));
    }
    assert.deepEqual(stored, acked);

    // A query on any instance sees every instance's records, read back and checked.
    let seen = 0;
    let cursor: string | undefined;
    do {
      const q = await call(
        c.url,
        admin,
        'GET',
        `/v1/events?event=test.serve.*&limit=200&order=asc${cursor === undefined ? '' : `&cursor=${cursor}`}`,
      );
      assert.equal(q.status, 200, JSON.stringify(q.json));
      const records = q.json.records as Array<{ seq: number; event: string }>;
      assert.deepEqual(q.json.damaged, []);
      for (const r of records)
        assert.equal(acked.get(String((r as { data?: { id?: string } }).data?.id)), r.seq);
      seen += records.length;
      cursor = (q.json.next as string | null) ?? undefined;
    } while (cursor !== undefined);
    assert.equal(seen, acked.size);
    const one = await call(b.url, admin, 'GET', `/v1/events/audit/${[...acked.values()][0]}`);
    assert.equal(one.status, 200);
    assert.equal(one.json.status, 'ok');

    // Counts for the dashboard, from the database.
    const stats = await call(b.url, admin, 'GET', '/v1/stats?since=1h&bucket=hour');
    assert.equal(stats.status, 200, JSON.stringify(stats.json));
    const audit = (stats.json.byChannel as Record<string, number[]>).audit ?? [];
    assert.ok(audit.reduce((x, y) => x + y, 0) >= acked.size);

    // A live tail on one instance shows what another writes.
    const tailed = await tailUntil(c.url, admin, 'event=test.serve.tail', /tail-me/, async () => {
      const w = await call(a.url, ingest, 'POST', '/v1/events', {
        level: 'AUDIT',
        event: 'test.serve.tail',
        msg: 'tail-me',
      });
      assert.equal(w.status, 200);
    });
    assert.equal(tailed.event, 'test.serve.tail');

    // GDPR on any instance: an export finds the person's records written through another;
    // its bundle downloads from the instance that made it; an erasure there is final for all.
    // (On `app`: `audit` is under a retention duty, its erasures wait for the duty's end.)
    const person = await call(a.url, ingest, 'POST', '/v1/events', {
      level: 'INFO',
      channel: 'app',
      event: 'account.updated',
      actor: 'user-42',
      msg: 'profile changed for ada@example.org',
    });
    assert.equal(person.status, 200, JSON.stringify(person.json));
    // Found by real id, and shown, by an instance that never met the person (a dpo or admin).
    const byId = await call(b.url, admin, 'GET', '/v1/events?actor=user-42');
    assert.equal(byId.status, 200, JSON.stringify(byId.json));
    const found = JSON.stringify(byId.json.records);
    assert.equal((byId.json.records as unknown[]).length, 1, found);
    assert.match(found, /ada@example\.org/);
    const tailB = await tailUntil(b.url, admin, 'event=account.*', /account\.renamed/, async () => {
      const w = await call(a.url, ingest, 'POST', '/v1/events', {
        level: 'INFO',
        channel: 'app',
        event: 'account.renamed',
        actor: 'user-43',
        msg: 'renamed for grace@example.org',
      });
      assert.equal(w.status, 200);
    });
    assert.match(JSON.stringify(tailB), /grace@example\.org/);
    const exported = await call(b.url, admin, 'POST', '/v1/gdpr/exports', { subject: ['user-42'] });
    assert.equal(exported.status, 201, JSON.stringify(exported.json));
    assert.equal(exported.json.records, 1);
    assert.equal(exported.json.damaged, 0);
    const bundle = await fetch(`${b.url}/v1/gdpr/exports/${String(exported.json.requestId)}`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    assert.equal(bundle.status, 200);
    assert.match(Buffer.from(await bundle.arrayBuffer()).toString('latin1'), /manifest\.json/);
    const erased = await call(c.url, admin, 'POST', '/v1/gdpr/erasures', {
      subject: ['user-42'],
      reason: 'request 7',
    });
    assert.equal(erased.status, 201, JSON.stringify(erased.json));
    assert.equal(erased.json.status, 'done', JSON.stringify(erased.json));
    const after = await call(a.url, admin, 'GET', '/v1/events?event=account.updated');
    const shown = JSON.stringify(after.json.records);
    assert.doesNotMatch(shown, /user-42|ada@example\.org/);

    // The request register, on a third instance: both requests, from the audit trail.
    const register = await call(a.url, admin, 'GET', '/v1/gdpr/requests');
    assert.equal(register.status, 200, JSON.stringify(register.json));
    const ids = (register.json.requests as Array<{ requestId: string }>).map((r) => r.requestId);
    assert.ok(ids.includes(String(exported.json.requestId)), JSON.stringify(ids));
    assert.ok(ids.includes(String(erased.json.requestId)), JSON.stringify(ids));

    // Revoked on one instance: refused by the others at their next request.
    const id = String(made.json.id);
    assert.equal((await call(b.url, admin, 'DELETE', `/v1/tokens/${id}`)).status, 200);
    const refused = await call(c.url, ingest, 'POST', '/v1/events', { event: 'x.y' });
    assert.equal(refused.status, 401);

    // Integrity: checkpoints signed by the leader, verification of the database.
    const integrity = await call(a.url, admin, 'GET', '/v1/integrity');
    assert.equal(integrity.status, 200, JSON.stringify(integrity.json));
    const checkpoints = integrity.json.checkpoints as Array<{ channel: string }>;
    assert.ok(checkpoints.some((cp) => cp.channel === 'audit'));
    const verified = await call(b.url, admin, 'POST', '/v1/integrity/verify?wait=true');
    assert.equal(verified.status, 200, JSON.stringify(verified.json));
    assert.equal((verified.json.result as { ok: boolean }).ok, true);

    // An inclusion proof from another instance, checked against the signed checkpoint with
    // the public key alone, and a consistency proof between two signed sizes.
    const seq = [...acked.values()][5] as number;
    const proof = await call(c.url, admin, 'GET', `/v1/proofs/inclusion?channel=audit&seq=${seq}`);
    assert.equal(proof.status, 200, JSON.stringify(proof.json));
    const line = rows.rows.find((r: { seq: string }) => Number(r.seq) === seq) as { line: string };
    const checked = verifyInclusionProof(
      proof.json.proof,
      proof.json.checkpoint,
      String(proof.json.public_key),
      { line: line.line },
    );
    assert.equal(checked.ok, true, JSON.stringify(checked));
    const size = (proof.json.proof as { tree_size: number }).tree_size;
    const consistent = await call(
      a.url,
      admin,
      'GET',
      `/v1/proofs/consistency?channel=audit&from=${seq}&to=${size}`,
    );
    assert.equal(consistent.status, 200, JSON.stringify(consistent.json));

    // What only the file store offers yet is refused, not answered from an empty directory.
    const tile = await call(a.url, admin, 'GET', '/v1/tlog/audit/tile/0/000');
    assert.equal(tile.status, 501, JSON.stringify(tile.json));
    assert.equal((tile.json.error as { code: string }).code, 'STORE_UNSUPPORTED');
  } finally {
    for (const i of instances) assert.equal(await stop(i), 0, i.err());
  }
  const v = cli(cwd, ['verify'], env);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  await sql('public', `DROP SCHEMA IF EXISTS ${spec.schema} CASCADE`);
});
