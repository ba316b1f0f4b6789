import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testService } from './helpers.js';

// OTLP/HTTP has two encodings, application/json (UTF-8) and application/x-protobuf; JSON is
// UTF-8 on every route (issue 18: NDJSON and an empty body were answered 200, the charset was
// ignored).

const EXPORT = JSON.stringify({
  resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'hello' } }] }] }],
});

test('POST /v1/otlp/logs takes application/json and application/x-protobuf only; an empty body is 400', async () => {
  const s = await testService();
  try {
    const post = (type: string | undefined, payload: string) =>
      s.app.inject({
        method: 'POST',
        url: '/v1/otlp/logs',
        headers: { ...s.auth('ingest'), ...(type === undefined ? {} : { 'content-type': type }) },
        payload,
      });
    const cases: Array<[string | undefined, string, number, string | undefined]> = [
      ['application/x-ndjson', '', 415, 'MEDIA_TYPE_UNSUPPORTED'],
      ['application/x-ndjson', '{}', 415, 'MEDIA_TYPE_UNSUPPORTED'],
      ['application/x-ndjson', EXPORT, 415, 'MEDIA_TYPE_UNSUPPORTED'],
      ['text/plain', EXPORT, 415, 'MEDIA_TYPE_UNSUPPORTED'],
      ['application/json; charset=latin1', EXPORT, 415, 'MEDIA_TYPE_UNSUPPORTED'],
      ['application/json; charset="ISO-8859-1"', EXPORT, 415, 'MEDIA_TYPE_UNSUPPORTED'],
      ['application/json; charset=utf-16', EXPORT, 415, 'MEDIA_TYPE_UNSUPPORTED'],
      ['application/json', '', 400, 'USAGE'],
      ['application/json', '  \n', 400, 'USAGE'],
      ['application/x-protobuf', '', 400, 'USAGE'],
      [undefined, '', 400, 'USAGE'],
      [undefined, EXPORT, 415, 'MEDIA_TYPE_UNSUPPORTED'],
      ['application/json', '[]', 400, 'USAGE'],
      ['application/json', '"logs"', 400, 'USAGE'],
      // An export with no records is a success (OTLP); UTF-8 may be named, in any case.
      ['application/json', '{}', 200, undefined],
      ['application/json; charset=utf-8', EXPORT, 200, undefined],
      ['application/json; charset="UTF-8"', EXPORT, 200, undefined],
      ['Application/JSON;charset=utf8', EXPORT, 200, undefined],
    ];
    for (const [type, payload, status, code] of cases) {
      const res = await post(type, payload);
      const what = `${type ?? '(no Content-Type)'} ${JSON.stringify(payload.slice(0, 20))}`;
      assert.equal(res.statusCode, status, `${what}: ${res.body}`);
      if (code !== undefined) {
        assert.equal(res.json<{ error: { code: string } }>().error.code, code, what);
        assert.ok(!res.body.includes('latin1') && !res.body.includes('ISO-8859'), 'no echo');
      }
    }
    await s.logs.flush();
    // Only the accepted exports were stored (3 records, one per 200 with a record).
    assert.equal(s.records('app').filter((r) => r.event === 'otel.log').length, 3);
  } finally {
    await s.close();
  }
});

test('every route that takes JSON refuses a charset other than UTF-8 (415) and stores nothing', async () => {
  const s = await testService();
  try {
    for (const [url, type, payload] of [
      ['/v1/events', 'application/json; charset=latin1', '{"event":"a.b","msg":"caf\xe9"}'],
      ['/v1/events', 'application/json;charset=windows-1252', '{"event":"a.b"}'],
      ['/v1/events', 'application/x-ndjson; charset=utf-16le', '{"event":"a.b"}\n'],
      ['/v1/tokens', 'application/json; charset=latin1', '{"role":"auditor","name":"n"}'],
      ['/v1/gdpr/exports', 'application/json; charset=latin1', '{"subject":["u-1"],"reason":"r"}'],
    ] as const) {
      const res = await s.app.inject({
        method: 'POST',
        url,
        headers: { ...s.auth('admin'), 'content-type': type },
        payload: Buffer.from(payload, 'latin1'),
      });
      assert.equal(res.statusCode, 415, `${url} ${type}: ${res.body}`);
      assert.equal(res.json<{ error: { code: string } }>().error.code, 'MEDIA_TYPE_UNSUPPORTED');
    }
    await s.logs.flush();
    assert.deepEqual(
      s.records('app').filter((r) => r.event === 'a.b'),
      [],
    );
    const ok = await s.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...s.auth('ingest'), 'content-type': 'application/x-ndjson; charset=UTF-8' },
      payload: '{"event":"a.b"}\n',
    });
    assert.equal(ok.statusCode, 200, ok.body);
  } finally {
    await s.close();
  }
});
