import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InjectOptions } from 'fastify';
import type { Role } from '../../src/access/tokens.js';
import { testService } from './helpers.js';

// docs/errors.md: messages name fields, rules and codes, never a value from the request (it
// may be a secret, personal data or markup for a page that shows the message). Issue 18
// found `no channel "../security"`.

const LONG = `${'Zq7'.repeat(3413)}X`; // ~10 KB
const HOSTILE: ReadonlyArray<{ value: string; marks: readonly string[] }> = [
  { value: '../security', marks: ['../security', '../'] },
  { value: '<script>alert(1)</script>', marks: ['<script', 'script>', 'alert(1)'] },
  { value: LONG, marks: [LONG.slice(0, 24), LONG.slice(-24)] },
  { value: 'password=hunter2', marks: ['password=hunter2', 'hunter2'] },
];

interface Target {
  readonly name: string;
  readonly role: Role;
  readonly request: (v: string) => InjectOptions;
}

const q = encodeURIComponent;
const json = (url: string, payload: unknown): InjectOptions => ({
  method: 'POST',
  url,
  headers: { 'content-type': 'application/json' },
  payload: JSON.stringify(payload),
});
let deep: unknown = 'leaf';
for (let i = 0; i < 40; i++) deep = { a: deep };

const INGEST: Target[] = [
  ...['channel', 'level', 'event', 'outcome', 'request_id', 'actor'].map((field): Target => ({
    name: `POST /v1/events {${field}}`,
    role: 'ingest',
    request: (v) =>
      json('/v1/events', {
        event: 'a.b',
        ...(field === 'actor' ? { actor: { id: 'u-1', [v]: 1 } } : { [field]: v }),
      }),
  })),
  {
    name: 'POST /v1/events (a field named by the value)',
    role: 'ingest',
    request: (v) => json('/v1/events', { event: 'a.b', [v]: 1 }),
  },
  {
    name: 'POST /v1/events (a data key on a too deep path)',
    role: 'ingest',
    request: (v) => json('/v1/events', { event: 'a.b', data: { [v]: deep } }),
  },
  {
    name: 'POST /v1/events (batch, second event)',
    role: 'ingest',
    request: (v) => json('/v1/events', [{ event: 'a.b' }, { event: 'a.b', channel: v }]),
  },
  {
    name: 'POST /v1/events NDJSON line',
    role: 'ingest',
    request: (v) => ({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/x-ndjson' },
      payload: `{"event":"a.b"}\n${v}\n`,
    }),
  },
  ...['channel', 'foreign=true&channel'].map((key): Target => ({
    name: `POST /v1/events?${key}=`,
    role: 'ingest',
    request: (v) => ({ ...json(`/v1/events?${key}=${q(v)}`, { msg: 'x' }) }),
  })),
  {
    name: 'POST /v1/events?<value>=1',
    role: 'ingest',
    request: (v) => json(`/v1/events?${q(v)}=1`, { event: 'a.b' }),
  },
  ...['dihya.channel', 'event.name', 'http.request.id'].map((key): Target => ({
    name: `POST /v1/otlp/logs attribute ${key}`,
    role: 'ingest',
    request: (v) =>
      json('/v1/otlp/logs', {
        resourceLogs: [
          {
            scopeLogs: [
              {
                logRecords: [
                  {
                    body: { stringValue: 'x' },
                    attributes: [{ key, value: { stringValue: v } }],
                  },
                ],
              },
            ],
          },
        ],
      }),
  })),
  ...['traceId', 'timeUnixNano', 'severityNumber'].map((field): Target => ({
    name: `POST /v1/otlp/logs {${field}}`,
    role: 'ingest',
    request: (v) =>
      json('/v1/otlp/logs', {
        resourceLogs: [{ scopeLogs: [{ logRecords: [{ [field]: v }] }] }],
      }),
  })),
];

const FILTERS = [
  'channel',
  'level',
  'event',
  'exclude_event',
  'outcome',
  'subject',
  'request_id',
  'since',
  'until',
  'cursor',
  'order',
  'limit',
];

const READ: Target[] = [
  ...FILTERS.map((key): Target => ({
    name: `GET /v1/events?${key}=`,
    role: 'admin',
    request: (v) => ({ url: `/v1/events?${key}=${q(v)}` }),
  })),
  {
    name: 'GET /v1/events?actor= (auditor)',
    role: 'auditor',
    request: (v) => ({ url: `/v1/events?actor=${q(v)}` }),
  },
  {
    name: 'GET /v1/events?<value>=',
    role: 'admin',
    request: (v) => ({ url: `/v1/events?${q(v)}=1` }),
  },
  {
    name: 'GET /v1/events/:channel/1',
    role: 'admin',
    request: (v) => ({ url: `/v1/events/${q(v)}/1` }),
  },
  {
    name: 'GET /v1/events/audit/:seq',
    role: 'admin',
    request: (v) => ({ url: `/v1/events/audit/${q(v)}` }),
  },
  ...['channel', 'since', 'level'].map((key): Target => ({
    name: `GET /v1/tail?${key}=`,
    role: 'admin',
    request: (v) => ({ url: `/v1/tail?${key}=${q(v)}` }),
  })),
  ...['since', 'until', 'bucket', 'top'].map((key): Target => ({
    name: `GET /v1/stats?${key}=`,
    role: 'admin',
    request: (v) => ({ url: `/v1/stats?${key}=${q(v)}` }),
  })),
  {
    name: 'GET /v1/proofs/inclusion?channel=',
    role: 'admin',
    request: (v) => ({ url: `/v1/proofs/inclusion?channel=${q(v)}&seq=1` }),
  },
  {
    name: 'GET /v1/proofs/inclusion?seq=',
    role: 'admin',
    request: (v) => ({ url: `/v1/proofs/inclusion?channel=audit&seq=${q(v)}` }),
  },
  {
    name: 'GET /v1/proofs/consistency?channel=',
    role: 'admin',
    request: (v) => ({ url: `/v1/proofs/consistency?channel=${q(v)}&from=1` }),
  },
  {
    name: 'GET /v1/tlog/:channel/checkpoint',
    role: 'admin',
    request: (v) => ({ url: `/v1/tlog/${q(v)}/checkpoint` }),
  },
  {
    name: 'GET /v1/gdpr/exports/:id',
    role: 'admin',
    request: (v) => ({ url: `/v1/gdpr/exports/${q(v)}` }),
  },
  {
    name: 'POST /v1/gdpr/exports {format}',
    role: 'admin',
    request: (v) => json('/v1/gdpr/exports', { subject: ['u-1'], format: v, reason: 'r' }),
  },
  {
    name: 'DELETE /v1/tokens/:id',
    role: 'admin',
    request: (v) => ({ method: 'DELETE', url: `/v1/tokens/${q(v)}` }),
  },
  {
    name: 'POST /v1/tokens {role}',
    role: 'admin',
    request: (v) => json('/v1/tokens', { role: v, name: 'n' }),
  },
  {
    name: 'POST /v1/tokens {expires}',
    role: 'admin',
    request: (v) => json('/v1/tokens', { role: 'auditor', name: 'n', expires: v }),
  },
];

test('no error answer repeats a hostile value sent to an ingest or read route', async () => {
  const s = await testService();
  const leaks: string[] = [];
  let errors = 0;
  try {
    for (const target of [...INGEST, ...READ]) {
      for (const { value, marks } of HOSTILE) {
        const req = target.request(value);
        const res = await s.app.inject({
          ...req,
          headers: { ...(req.headers ?? {}), ...s.auth(target.role) },
        });
        const shown = `${target.name} ${value.slice(0, 20)}: ${res.statusCode} ${res.body.slice(0, 300)}`;
        assert.ok(res.statusCode < 500, shown);
        if (res.statusCode < 400) continue;
        errors += 1;
        if (marks.some((m) => res.body.includes(m))) leaks.push(shown);
      }
    }
  } finally {
    await s.close();
  }
  assert.deepEqual(leaks, []);
  assert.ok(errors > 100, `${errors} error answers checked`);
});

test("the router's refusals (a bad percent-encoding, a path segment too long) answer in our shape, without the URL", async () => {
  const s = await testService();
  try {
    for (const url of [
      '/v1/events/%3Cscript%3Ehunter2%ZZ/1',
      `/v1/events/${'hunter2'.repeat(40)}/1`,
      `/v1/tokens/${'hunter2'.repeat(40)}`,
    ]) {
      const res = await s.app.inject({
        method: url.startsWith('/v1/tokens') ? 'DELETE' : 'GET',
        url,
        headers: s.auth('admin'),
      });
      assert.equal(res.statusCode, 400, `${url}: ${res.body.slice(0, 200)}`);
      const e = res.json<{ error: { code: string; message: string; id: string } }>().error;
      assert.equal(e.code, 'USAGE');
      assert.match(e.id, /^[\da-f-]{36}$/);
      assert.ok(!res.body.includes('hunter2') && !res.body.includes('script'), res.body);
    }
  } finally {
    await s.close();
  }
});
