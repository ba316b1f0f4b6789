import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TestLog, addBody, startWitness } from './helpers.js';

const log = new TestLog('example.com/hostile').append(9);

test('malformed add-checkpoint bodies are 4xx, each with its reason', async () => {
  const w = await startWitness([log]);
  const note = log.checkpoint();
  const proof = log.proof(3);
  const cases: Array<[string, string | Buffer]> = [
    ['empty', ''],
    ['no newline', 'old 0'],
    ['no old line', `\n${note}`],
    ['leading zero', addBody(0, [], note).replace('old 0', 'old 00')],
    ['negative', addBody(0, [], note).replace('old 0', 'old -1')],
    ['two spaces', addBody(0, [], note).replace('old 0', 'old  0')],
    ['huge old', addBody(0, [], note).replace('old 0', `old ${'9'.repeat(30)}`)],
    ['CRLF', addBody(0, [], note).replace('old 0\n', 'old 0\r\n')],
    ['no empty line', `old 0\n${note}`],
    ['short hash', addBody(3, [proof[0]!.slice(0, -4)], note)],
    ['hash of 31 bytes', addBody(3, [Buffer.alloc(31).toString('base64')], note)],
    ['64 proof lines', addBody(3, Array<string>(64).fill(proof[0]!), note)],
    ['note without signatures', `old 0\n\n${log.text()}`],
    ['checkpoint of two lines', addBody(0, [], note.replace(/\n[^\n]+\n\n/, '\n\n'))],
    ['not UTF-8', Buffer.concat([Buffer.from('old 0\n\n'), Buffer.of(0xff), Buffer.from(note)])],
    ['NUL', addBody(0, [], `\u0000${note}`)],
  ];
  for (const [what, body] of cases) {
    const r = await w.add(body);
    assert.ok(r.status >= 400 && r.status < 500, `${what}: ${r.status} ${r.body}`);
    assert.notEqual(r.status, 200, what);
  }
  // No body or another content type: still read as bytes, still a 400.
  const none = await w.app.inject({ method: 'POST', url: '/add-checkpoint' });
  assert.equal(none.statusCode, 400, none.body);
  const json = await w.app.inject({
    method: 'POST',
    url: '/add-checkpoint',
    payload: '{"a":1}',
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(json.statusCode, 400);
  // An honest request with another content type works.
  const ok = await w.app.inject({
    method: 'POST',
    url: '/add-checkpoint',
    payload: log.body(0),
    headers: { 'content-type': 'application/octet-stream' },
  });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.equal((await w.app.inject({ method: 'GET', url: '/add-checkpoint' })).statusCode, 404);
  await w.app.close();
});

test('a body over the limit is 413', async () => {
  const w = await startWitness([log], { bodyLimit: 4096 });
  const r = await w.add(addBody(0, [], log.checkpoint()) + 'x'.repeat(5000));
  assert.equal(r.status, 413);
  await w.app.close();
});

test('property: random and mutated bodies never get a 5xx, and never a cosignature for junk', async () => {
  const w = await startWitness([log]);
  const valid = Buffer.from(log.body(0, 9));
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
        fc
          .tuple(fc.nat(valid.length), fc.uint8Array({ minLength: 1, maxLength: 8 }))
          .map(([at, noise]) => {
            const b = Buffer.from(valid);
            b.set(noise.subarray(0, Math.max(0, b.length - at)), Math.min(at, b.length - 1));
            return b;
          }),
        fc.string({ maxLength: 200 }).map((s) => Buffer.from(`old 0\n${s}`)),
      ),
      async (body) => {
        const r = await w.add(body);
        assert.ok(r.status < 500, `${r.status} ${r.body}`);
        if (r.status === 200) assert.ok(body.equals(valid), 'only the valid body is cosigned');
      },
    ),
    { numRuns: 300 },
  );
  await w.app.close();
});
