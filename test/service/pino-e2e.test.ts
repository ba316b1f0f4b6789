import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { testService } from './helpers.js';

const TARGET = fileURLToPath(new URL('../../src/middleware/pino.js', import.meta.url));

test('pino transport, url mode, against the real service: the app keeps its pino calls, the records land in app, secrets stay out', async () => {
  const s = await testService();
  const url = await s.app.listen({ host: '127.0.0.1', port: 0 });
  const transport = pino.transport({
    target: TARGET,
    options: { url, token: s.token.ingest, flushIntervalMs: 20 },
  });
  const logger = pino(transport);
  try {
    logger.info({ reqId: 'req-9', event: 'order.created', order: 17 }, 'order created');
    logger.warn({ password: 'hunter2-secret', user: 'jean' }, 'sign-in attempt');
    logger.error(new Error('payment refused'), 'payment failed');
    for (let i = 0; i < 30; i++) logger.debug({ i }, 'noise below the minimum level');
    const child = logger.child({ module: 'billing' });
    child.info('child logger');
    // Wait until the service has them (the transport batches every 20 ms).
    let records: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 300 && records.length < 4; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const res = await s.app.inject({
        url: '/v1/events?channel=app&order=asc',
        headers: s.auth('auditor'),
      });
      records = res.json<{ records: Array<Record<string, unknown>> }>().records;
    }
    assert.deepEqual(
      records.map((r) => [r.level, r.event, r.msg]),
      [
        ['INFO', 'order.created', 'order created'],
        ['WARNING', 'pino.log', 'sign-in attempt'],
        ['ERROR', 'pino.log', 'payment failed'],
        ['INFO', 'pino.log', 'child logger'],
      ],
    );
    assert.equal(records[0]?.request_id, 'req-9');
    assert.equal((records[0].data as { order: number }).order, 17);
    assert.equal((records[3]?.data as { module: string }).module, 'billing');
  } finally {
    const closed = once(transport, 'close');
    transport.end();
    await closed;
    await s.close();
  }
  assert.ok(!readFileSync(path.join(s.t.dir, 'app.log'), 'utf8').includes('hunter2-secret'));
});
