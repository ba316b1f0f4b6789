import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testService, type TestService } from '../service/helpers.js';
import { DOC_TOKEN, DOC_URL, recipe, settings, shipped } from './helpers.js';

// Vector is not installed here: these tests post what its http sink sends (src/sinks/http:
// the json codec, newline_delimited framing as application/x-ndjson, bearer auth), with the
// settings of the recipe in docs/shippers.md.
const sink = new Map(
  [...settings(recipe('Vector', 'toml'), / = /)].map(([k, v]) => [k, v.replace(/^"|"$/g, '')]),
);

async function post(s: TestService, events: unknown[]): Promise<{ status: number; body: string }> {
  assert.equal(sink.get('type'), 'http');
  assert.equal(sink.get('encoding.codec'), 'json');
  assert.equal(sink.get('framing.method'), 'newline_delimited');
  assert.equal(sink.get('auth.strategy'), 'bearer');
  const uri = sink.get('uri') ?? '';
  assert.ok(uri.startsWith(DOC_URL), uri);
  const res = await s.app.inject({
    method: (sink.get('method') ?? 'post').toUpperCase() as 'POST',
    url: uri.slice(DOC_URL.length),
    headers: {
      'content-type': 'application/x-ndjson',
      authorization: `Bearer ${(sink.get('auth.token') ?? '').replace(DOC_TOKEN, s.token.ingest)}`,
    },
    // One JSON object per event, each followed by a newline.
    payload: events.map((e) => `${JSON.stringify(e)}\n`).join(''),
  });
  return { status: res.statusCode, body: res.body };
}

test("Vector, the recipe's http sink: file and journald events land in app with message, level, time, host and source_type", async () => {
  const s = await testService();
  try {
    const res = await post(s, [
      // The file source: message, timestamp (RFC 3339, ns), host, file, source_type.
      {
        file: '/var/log/app.log',
        host: 'web-1',
        message: 'user signed in',
        source_type: 'file',
        timestamp: '2024-05-01T12:00:00.123456789Z',
      },
      // The journald source: journald's fields as they are, PRIORITY a digit.
      {
        PRIORITY: '4',
        SYSLOG_IDENTIFIER: 'sshd',
        _SYSTEMD_UNIT: 'ssh.service',
        host: 'web-1',
        message: 'Connection closed by 203.0.113.9',
        source_type: 'journald',
        timestamp: '2024-05-01T12:00:01.000001Z',
      },
      // After a remap that parsed a JSON line: the application's level and fields.
      {
        level: 'notice',
        message: 'cache warmed',
        host: 'web-2',
        source_type: 'docker_logs',
        timestamp: '2024-05-01T14:00:02+02:00',
        container_name: 'api',
      },
    ]);
    assert.equal(res.status, 200, res.body);
    const records = await shipped(s, 3);
    assert.deepEqual(
      records.map((r) => [r.channel, r.level, r.data?.time, r.data?.host, r.data?.source_type]),
      [
        ['app', 'INFO', '2024-05-01T12:00:00.123Z', 'web-1', 'file'],
        ['app', 'WARNING', '2024-05-01T12:00:01.000Z', 'web-1', 'journald'],
        ['app', 'INFO', '2024-05-01T12:00:02.000Z', 'web-2', 'docker_logs'],
      ],
    );
    assert.equal(records[0]?.msg, 'user signed in');
    assert.equal(records[0].data?.file, '/var/log/app.log');
    assert.match(String(records[1]?.msg), /^Connection closed by \[ip#1\]$/, 'classified');
    assert.equal(records[1]?.data?.priority, '4');
    assert.equal(records[1].data.syslog_identifier, 'sshd');
    assert.equal(records[1].data._systemd_unit, 'ssh.service');
    assert.equal(records[2]?.data?.level, 'notice');
    assert.equal(records[2].data.container_name, 'api');
  } finally {
    await s.close();
  }
});

test("Vector: the recipe's batches fit the service's defaults (Vector does not retry a 413)", async () => {
  const s = await testService();
  try {
    const { maxEvents, bodyLimit } = s.app.service.config;
    assert.ok(Number(sink.get('batch.max_events')) <= maxEvents, 'batch.max_events');
    assert.ok(Number(sink.get('batch.max_bytes')) <= bodyLimit, 'batch.max_bytes');
    // A full batch of the recipe, of short events, is stored.
    const n = Number(sink.get('batch.max_events'));
    const batch = Array.from({ length: n }, (_, i) => ({
      host: 'web-1',
      message: `line ${i}`,
      source_type: 'stdin',
      timestamp: '2024-05-01T12:00:00Z',
    }));
    const res = await post(s, batch);
    assert.equal(res.status, 200, res.body);
    // One more event is one too many: refused whole, a 413 Vector does not retry.
    const over = await post(s, [...batch, batch[0]]);
    assert.equal(over.status, 413, over.body);
  } finally {
    await s.close();
  }
});

test('Vector: a token without the ingest role is a 403, an unknown one a 401; nothing is stored', async () => {
  const s = await testService();
  try {
    for (const [token, status] of [
      [s.token.auditor, 403],
      ['dl_0123456789ab_not-a-real-token', 401],
    ] as const) {
      const res = await s.app.inject({
        method: 'POST',
        url: '/v1/events?foreign=true',
        headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${token}` },
        payload: '{"message":"x","source_type":"stdin"}\n',
      });
      assert.equal(res.statusCode, status, res.body);
    }
    assert.deepEqual(await shipped(s, 1, 300), []);
  } finally {
    await s.close();
  }
});
