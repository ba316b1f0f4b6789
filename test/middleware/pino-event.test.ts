import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pinoEvent } from '../../src/middleware/pino-event.js';

const APP = { channel: 'app', messageKey: 'msg' };

test('pinoEvent: levels by rank or label, custom ones by range', () => {
  const level = (v: unknown): unknown => pinoEvent({ level: v }, APP).level;
  assert.deepEqual([10, 20, 25, 30, 35, 40, 50, 60, 70].map(level), [
    'DEBUG',
    'DEBUG',
    'DEBUG',
    'INFO',
    'INFO',
    'WARNING',
    'ERROR',
    'CRITICAL',
    'CRITICAL',
  ]);
  assert.deepEqual(
    ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'constructor', undefined].map(level),
    ['DEBUG', 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL', 'INFO', 'INFO'],
  );
});

test('pinoEvent: record fields lifted when valid, everything else under data', () => {
  const line = JSON.parse(
    '{"level":30,"time":1700000000000,"pid":7,"hostname":"web-1","msg":"hi","reqId":42,' +
      '"event":"gdpr.erase","outcome":"success","subject":"u-9","target":{"type":"project","id":"p"},' +
      '"__proto__":{"polluted":true},"n":1}',
  ) as Record<string, unknown>;
  const e = pinoEvent(line, APP);
  assert.equal(e.msg, 'hi');
  assert.equal(e.request_id, '42');
  assert.equal(e.event, 'pino.log', 'reserved event types stay in data');
  assert.equal(e.outcome, 'success');
  assert.equal(e.subject, 'u-9');
  assert.deepEqual(e.target, { type: 'project', id: 'p' });
  const data = e.data as Record<string, unknown>;
  assert.equal(data.event, 'gdpr.erase');
  assert.deepEqual(
    { time: data.time, pid: data.pid, host: data.host, n: data.n },
    { time: 1700000000000, pid: 7, host: 'web-1', n: 1 },
  );
  assert.ok(Object.hasOwn(data, '__proto__'), 'a plain key');
  assert.equal(({} as { polluted?: boolean }).polluted, undefined);
  assert.equal(
    pinoEvent({ message: 'other key' }, { channel: 'app', messageKey: 'message' }).msg,
    'other key',
  );
  assert.equal(
    pinoEvent({ msg: 12 }, APP).msg,
    undefined,
    'a message that is not text stays in data',
  );
});
