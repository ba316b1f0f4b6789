import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { testService, type TestService } from '../service/helpers.js';
import { DOC_TOKEN, recipe, settings, shipped } from './helpers.js';

// Fluent Bit is not installed here: these tests post what its http output sends, per its
// documentation and plugins/out_http/http.c, with the settings of the recipe in docs/shippers.md.
const output = settings(recipe('Fluent Bit', 'ini'), /\s+/);
const serviceSettings = parse(recipe('Fluent Bit', 'yaml')) as Record<string, unknown>;

/** A flush of the recipe's output: `Format json` is one JSON array, with the headers it adds. */
async function flush(
  s: TestService,
  records: unknown[],
): Promise<{ status: number; body: string }> {
  assert.equal(output.get('Format'), 'json', 'the recipe posts JSON arrays');
  // Fluent Bit's `Header NAME VALUE`: the first word is the name.
  const header = output.get('Header') ?? '';
  const name = header.slice(0, header.indexOf(' '));
  const value = header.slice(header.indexOf(' ') + 1).replace(DOC_TOKEN, s.token.ingest);
  const res = await s.app.inject({
    method: 'POST',
    url: output.get('URI') ?? '/',
    headers: { 'content-type': 'application/json', 'user-agent': 'Fluent-Bit', [name]: value },
    payload: JSON.stringify(records),
  });
  return { status: res.statusCode, body: res.body };
}

/** A record as Fluent Bit's JSON formatter writes it: its time first, under json_date_key. */
function record(epochSeconds: number, fields: Record<string, unknown>): Record<string, unknown> {
  assert.equal(output.get('json_date_format'), 'double', 'epoch seconds with a fraction');
  return { [output.get('json_date_key') ?? 'date']: epochSeconds, ...fields };
}

test("Fluent Bit, the recipe's http output: tail and parsed records land in app with message, level and time", async () => {
  const s = await testService({}, serviceSettings);
  try {
    const res = await flush(s, [
      // in_tail of a container log: the line is `log`, with its line end.
      record(1714564800.123456, { log: 'GET /healthz 200\n', stream: 'stdout' }),
      // A JSON line parsed by a parser filter: the application's own fields.
      record(1714564801.5, { level: 'warn', message: 'disk almost full', disk: '/var' }),
      // in_syslog with the syslog-rfc5424 parser: pri, ident, and syslog's severity elsewhere.
      record(1714564802, { pri: '10', severity: 'crit', ident: 'kernel', message: 'oops' }),
    ]);
    assert.equal(res.status, 200, res.body);
    const records = await shipped(s, 3);
    assert.deepEqual(
      records.map((r) => [r.channel, r.level, r.msg, r.data?.time]),
      [
        ['app', 'INFO', 'GET /healthz 200', '2024-05-01T12:00:00.123Z'],
        ['app', 'WARNING', 'disk almost full', '2024-05-01T12:00:01.500Z'],
        ['app', 'CRITICAL', 'oops', '2024-05-01T12:00:02.000Z'],
      ],
    );
    assert.equal(records[0]?.data?.stream, 'stdout');
    assert.equal(records[1]?.data?.disk, '/var');
    assert.equal(records[1].data.level, 'warn', 'warn says what WARNING says: kept as given');
    assert.equal(records[2]?.data?.ident, 'kernel');
  } finally {
    await s.close();
  }
});

test('Fluent Bit flushes whole chunks: the service settings of the recipe take a chunk of 5,000 short lines, the defaults refuse it (413, which Fluent Bit drops)', async () => {
  const chunk = Array.from({ length: 5000 }, (_, i) =>
    record(1714564800 + i / 1000, { log: `line ${i}` }),
  );
  const defaults = await testService();
  try {
    const res = await flush(defaults, chunk);
    assert.equal(res.status, 413, res.body);
    assert.equal(
      (JSON.parse(res.body) as { error: { code: string } }).error.code,
      'BATCH_TOO_LARGE',
    );
  } finally {
    await defaults.close();
  }
  const roomy = await testService({}, serviceSettings);
  try {
    const res = await flush(roomy, chunk);
    assert.equal(res.status, 200, res.body);
    assert.equal((JSON.parse(res.body) as { stored: number }).stored, 5000);
  } finally {
    await roomy.close();
  }
});

test('Fluent Bit: a chunk the service will never store is a 400 naming the record, and nothing of it is stored', async () => {
  const s = await testService({}, serviceSettings);
  try {
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 40; i++) deep = { deep };
    const res = await flush(s, [record(1714564800, { log: 'fine' }), record(1714564800, deep)]);
    assert.equal(res.status, 400, res.body);
    const error = (JSON.parse(res.body) as { error: { code: string; index: number } }).error;
    assert.deepEqual([error.code, error.index], ['EVENT_TOO_DEEP', 1]);
    assert.deepEqual(await shipped(s, 1, 300), [], 'all or none');
  } finally {
    await s.close();
  }
});
