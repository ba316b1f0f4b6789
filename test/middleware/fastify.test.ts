import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import Fastify from 'fastify';
import { dihyaLogs, requestIdOf } from '../../src/middleware/fastify.js';
import { newLog, readRecords } from '../helpers.js';
import { checkApiLog, exercise, signal, userFromAuth } from './scenarios.js';

test('fastify: one classified api event per request, the secrets nowhere on disk', async () => {
  const t = newLog();
  const logs = await t.open();
  const arrived = signal();
  const gone = signal();
  const app = Fastify();
  await app.register(dihyaLogs, {
    logs: logs.logs,
    ignore: (request) => request.url === '/health',
  });
  app.decorateRequest('user', null);
  app.addHook('onRequest', (request, _reply, done) => {
    (request as { user?: unknown }).user = userFromAuth(request.headers.authorization);
    done();
  });
  app.get<{ Params: { id: string } }>('/users/:id', (request, reply) => {
    assert.equal(requestIdOf(request), reply.getHeader('x-request-id'));
    return { id: request.params.id };
  });
  app.post('/login', () => ({ ok: true }));
  app.get('/boom', () => {
    throw new Error('boom');
  });
  await app.register(
    (sub, _options, done) => {
      sub.get<{ Params: { id: string } }>('/:id', (request) => `project ${request.params.id}`);
      done();
    },
    { prefix: '/projects' },
  );
  app.get('/health', () => 'ok');
  app.get('/slow', async (_request, reply) => {
    const closed = new Promise((resolve) => reply.raw.once('close', resolve));
    arrived.resolve();
    await closed;
    gone.resolve();
    return reply.hijack(); // nobody to answer
  });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const sent = await exercise(base, { arrived: arrived.promise, gone: gone.promise });
    await logs.close();
    checkApiLog(t, sent);
  } finally {
    await app.close();
    await logs.close();
  }
});

test('fastify: inject works too, with the user given by an option', async () => {
  const t = newLog();
  const logs = await t.open();
  const app = Fastify();
  await app.register(dihyaLogs, {
    logs: logs.logs,
    user: (request) => ({ id: String(request.headers['x-user']), email: 'marie@example.org' }),
  });
  app.put('/items/:id', () => ({ saved: true }));
  const res = await app.inject({
    method: 'PUT',
    url: '/items/9?secret=sekr1t-value',
    headers: { 'x-user': 'u-7', 'x-api-key': 'key-0123456789' },
    payload: { name: 'hammer', api_key: 'key-0123456789' },
  });
  assert.equal(res.statusCode, 200);
  const id = res.headers['x-request-id'];
  await app.close();
  await logs.close();
  const [r, ...more] = readRecords(path.join(t.dir, 'api.log'));
  assert.equal(more.length, 0);
  assert.equal(r?.msg, 'PUT /items/:id 200');
  assert.equal(r.request_id, id);
  const actor = r.actor as Record<string, unknown>;
  assert.match(String(actor.id), /^sub_/);
  assert.equal(actor.email, '[email#1]');
  const data = r.data as Record<string, Record<string, unknown>>;
  assert.deepEqual(data.body, { api_key: '[REDACTED:apikey]', name: 'hammer' });
  assert.equal(data.headers?.['x-api-key'], '[REDACTED:xapikey]');
  assert.equal(data.query?.secret, '[REDACTED:secret]');
  assert.ok(!JSON.stringify(r).includes('key-0123456789'));
});
