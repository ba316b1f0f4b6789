import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FOREIGN_EVENT,
  foreignEvent,
  foreignLevel,
  foreignTime,
} from '../../src/service/foreign.js';

const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v)) as unknown;

test("syslog-ng's format-json (rfc5424 scope, ISODATE): message, level from PRIORITY, time, the macros lower-cased under data", () => {
  const event = foreignEvent(
    {
      PROGRAM: 'sshd',
      PRIORITY: 'notice',
      PID: '812',
      MESSAGE: 'session opened',
      ISODATE: '2026-12-07T10:00:01+01:00',
      HOST: 'web-1',
      FACILITY: 'auth',
    },
    'app',
  );
  assert.deepEqual(plain(event), {
    channel: 'app',
    level: 'INFO',
    event: FOREIGN_EVENT,
    msg: 'session opened',
    data: {
      time: '2026-12-07T09:00:01.000Z',
      program: 'sshd',
      priority: 'notice',
      pid: '812',
      host: 'web-1',
      facility: 'auth',
    },
  });
});

test('a severity that spells the level is removed; one that says more (notice, alert, 5) stays under data', () => {
  const of = (record: Record<string, unknown>): Record<string, unknown> =>
    plain(foreignEvent(record, 'app')) as Record<string, unknown>;
  assert.deepEqual(of({ level: 'error' }), {
    channel: 'app',
    level: 'ERROR',
    event: FOREIGN_EVENT,
  });
  assert.deepEqual(of({ severity: 'alert' }).data, { severity: 'alert' });
  assert.equal(of({ severity: 'alert' }).level, 'CRITICAL');
  assert.deepEqual(of({ PRIORITY: '3' }), {
    channel: 'app',
    level: 'ERROR',
    event: FOREIGN_EVENT,
    data: { priority: '3' },
  });
  // Unknown: INFO, the value kept. AUDIT is not a severity.
  assert.deepEqual(of({ level: 'loud' }), {
    channel: 'app',
    level: 'INFO',
    event: FOREIGN_EVENT,
    data: { level: 'loud' },
  });
  assert.equal(of({ level: 'audit' }).level, 'INFO');
  assert.equal(of({ level: 'SECURITY', channel: 'security' }).level, 'INFO');
  assert.equal(
    of({ level: 'SECURITY', channel: 'security' }).channel,
    'app',
    'channel: the request says',
  );
});

test('foreignLevel: names, syslog numbers 0-7, pino ranks 10-60; nothing else', () => {
  const cases: Array<[unknown, string | undefined]> = [
    ['emerg', 'CRITICAL'],
    ['Warning', 'WARNING'],
    [0, 'CRITICAL'],
    [3, 'ERROR'],
    [5, 'INFO'],
    ['7', 'DEBUG'],
    [10, 'DEBUG'],
    [20, 'DEBUG'],
    [30, 'INFO'],
    [40, 'WARNING'],
    [50, 'ERROR'],
    [60, 'CRITICAL'],
    [8, undefined],
    [9, undefined],
    [-1, undefined],
    [3.5, undefined],
    ['audit', undefined],
    [null, undefined],
  ];
  for (const [v, level] of cases) assert.equal(foreignLevel(v), level, JSON.stringify(v));
});

test('foreignTime: RFC 3339 in any zone and precision, epoch s / ms / µs / ns; never a guess', () => {
  const t = '2024-05-01T12:00:00.123Z';
  const cases: Array<[unknown, string | undefined]> = [
    ['2024-05-01T12:00:00.123Z', t],
    ['2024-05-01T12:00:00.123456789Z', t],
    ['2024-05-01T14:00:00.123+02:00', t],
    ['2024-05-01T14:00:00.123+0200', t],
    ['2024-05-01 12:00:00.123z', t],
    ['2024-05-01T12:00:00Z', '2024-05-01T12:00:00.000Z'],
    [1714564800.123, t],
    [1714564800123, t],
    [1714564800123456, t],
    [1714564800123 * 1e6, t],
    ['Dec  7 10:00:01', undefined],
    ['2024-05-01T12:00:00', undefined],
    ['2024-13-01T12:00:00Z', undefined],
    ['1714564800', undefined],
    [-5, undefined],
    [Infinity, undefined],
    [true, undefined],
  ];
  for (const [v, iso] of cases) assert.equal(foreignTime(v), iso, JSON.stringify(v));
});

test('message keys in order (message, msg, MESSAGE, log); the others stay; an unread time stays as it was', () => {
  const event = plain(
    foreignEvent({ log: 'from tail', message: 'the one', date: 'yesterday', MSG: 1 }, 'app'),
  ) as Record<string, unknown>;
  assert.equal(event.msg, 'the one');
  assert.deepEqual(event.data, { log: 'from tail', date: 'yesterday', msg: 1 });
  const empty = plain(foreignEvent({ message: '' }, 'app')) as Record<string, unknown>;
  assert.equal(empty.msg, undefined, 'an empty message is no msg');
  const num = plain(foreignEvent({ message: 42 }, 'app')) as Record<string, unknown>;
  assert.deepEqual(num.data, { message: 42 }, 'a message that is not a string is data');
});

test('an upper-case name keeps its case when the lower-case one is taken; data.time is never overwritten', () => {
  const event = plain(
    foreignEvent({ HOST: 'a', host: 'b', timestamp: 1714564800, TIME: 'x' }, 'app'),
  ) as Record<string, unknown>;
  assert.deepEqual(event.data, {
    time: '2024-05-01T12:00:00.000Z',
    HOST: 'a',
    host: 'b',
    TIME: 'x',
  });
});

test('what is not an object is left for the writer to refuse', () => {
  for (const v of ['text', 1, null, [1]]) assert.equal(foreignEvent(v, 'app'), v);
});
