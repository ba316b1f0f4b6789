import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { dihyaLogs, requestIdOf } from '../../src/middleware/express.js';
import { newLog, readRecords } from '../helpers.js';
import { checkApiLog, exercise, signal, userFromAuth } from './scenarios.js';

test('express: one classified api event per request, the secrets nowhere on disk', async () => {
  const t = newLog();
  const logs = await t.open();
  const arrived = signal();
  const gone = signal();
  const app = express();
  app.use(dihyaLogs({ logs: logs.logs, ignore: (req) => req.path === '/health' }));
  app.use(express.json());
  app.use((req: Request & { user?: unknown }, _res, next) => {
    req.user = userFromAuth(req.headers.authorization);
    next();
  });
  app.get('/users/:id', (req, res) => {
    assert.equal(requestIdOf(req), res.getHeader('x-request-id'));
    res.json({ id: req.params.id });
  });
  app.post('/login', (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/boom', () => {
    throw new Error('boom');
  });
  const projects = express.Router();
  projects.get('/:id', (req, res) => {
    res.send(`project ${req.params.id}`);
  });
  app.use('/projects', projects);
  app.get('/health', (_req, res) => {
    res.send('ok');
  });
  app.get('/slow', (_req, res) => {
    res.once('close', () => gone.resolve());
    arrived.resolve();
  });
  app.use((_err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ error: 'internal' });
  });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    const sent = await exercise(`http://127.0.0.1:${port}`, {
      arrived: arrived.promise,
      gone: gone.promise,
    });
    await logs.close();
    checkApiLog(t, sent);
  } finally {
    server.closeAllConnections();
    server.close();
    await logs.close();
  }
});

test('express: a failing user callback or write goes to onError, never to the app', async () => {
  const t = newLog();
  const logs = await t.open();
  const errors: unknown[] = [];
  const app = express();
  app.use(
    dihyaLogs({
      logs: logs.logs,
      channel: 'app',
      body: false,
      path: true,
      user: () => {
        throw new Error('user lookup failed for jean.dupont@example.fr');
      },
      requestId: { header: 'X-Correlation-Id', generate: () => 'corr-1', expose: false },
      onError: (err) => errors.push(err),
    }),
  );
  app.use(express.json());
  app.post('/echo', (req, res) => {
    res.json(req.body);
  });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    const res = await fetch(`http://127.0.0.1:${port}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-correlation-id'), null, 'expose: false');
    await res.arrayBuffer();
    await logs.close();
    // After close, the write fails: reported, not thrown.
    const late = await fetch(`http://127.0.0.1:${port}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-correlation-id': 'corr-given' },
      body: '{}',
    });
    assert.equal(late.status, 200);
    await late.arrayBuffer();
  } finally {
    server.closeAllConnections();
    server.close();
  }
  const [r, ...more] = readRecords(path.join(t.dir, 'app.log'));
  assert.equal(more.length, 0);
  assert.equal(r?.event, 'http.request');
  assert.equal(r.request_id, 'corr-1');
  assert.equal(r.actor, undefined);
  const data = r.data as Record<string, unknown>;
  assert.equal(data.body, undefined);
  assert.equal(data.path, '/echo', 'path: true keeps the raw path');
  assert.equal(data.route, '/echo');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(
    errors.map((e) => (e as { code?: string }).code ?? (e as Error).message),
    [
      'user lookup failed for jean.dupont@example.fr',
      'user lookup failed for jean.dupont@example.fr',
      'LOGS_CLOSED',
    ],
  );
});

test('express: an unknown channel is refused when the middleware is made', async () => {
  const t = newLog();
  const logs = await t.open();
  try {
    assert.throws(() => dihyaLogs({ logs: logs.logs, channel: 'nope' }), {
      code: 'EVENT_CHANNEL_UNKNOWN',
    });
  } finally {
    await logs.close();
  }
});
