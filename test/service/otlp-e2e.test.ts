import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { testService } from './helpers.js';
import { otelProvider } from './otel.js';

const TRACE_ID = '5b8efff798038103d269b633813fc60c';
const SPAN_ID = 'eee19b7ec3c1b174';

for (const encoding of ['json', 'protobuf'] as const) {
  test(`the real OpenTelemetry Node exporter (${encoding}) sends logs to the service: stored, mapped, trace ids kept`, async () => {
    const s = await testService();
    const base = await s.app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const { provider, codes } = otelProvider(encoding, `${base}/v1/otlp/logs`, {
        Authorization: `Bearer ${s.token.ingest}`,
      });
      const logger = provider.getLogger('checkout-lib', '1.2.3');
      logger.emit({
        severityNumber: SeverityNumber.WARN,
        body: 'quota almost used by jean.dupont@example.fr',
        attributes: {
          'event.name': 'quota.near',
          'enduser.id': 'u-42',
          'api.key': 'sk_live_abcdef0123456789abcdef',
        },
        context: trace.setSpanContext(ROOT_CONTEXT, {
          traceId: TRACE_ID,
          spanId: SPAN_ID,
          traceFlags: TraceFlags.SAMPLED,
        }),
      });
      logger.emit({
        severityNumber: SeverityNumber.ERROR,
        body: 'payment failed',
        eventName: 'payment.failed',
      });
      await provider.forceFlush();
      await provider.shutdown();
      assert.deepEqual(codes, [0], 'the exporter saw a success');

      const res = await s.app.inject({
        url: '/v1/events?channel=app&order=asc',
        headers: s.auth('dpo'),
      });
      const records = res.json<{ records: Array<Record<string, unknown>> }>().records;
      assert.deepEqual(
        records.map((r) => [r.level, r.event, r.msg]),
        [
          ['WARNING', 'quota.near', 'quota almost used by jean.dupont@example.fr'],
          ['ERROR', 'payment.failed', 'payment failed'],
        ],
      );
      const data = records[0]?.data as Record<string, unknown>;
      assert.equal(data.trace_id, TRACE_ID);
      assert.equal(data.span_id, SPAN_ID);
      assert.deepEqual(data.resource, { 'service.name': 'checkout' });
      assert.equal((records[0]?.actor as { id: string }).id, 'u-42');
      // Classification applies as to any event: the API key never reaches the disk.
      await s.logs.flush();
      const stored = JSON.stringify(s.records('app'));
      assert.ok(!stored.includes('sk_live_abcdef0123456789abcdef'));
      assert.ok(!stored.includes('jean.dupont@example.fr'));
    } finally {
      await s.close();
    }
  });
}
