import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testService } from './helpers.js';

// /metrics is not audited (a scrape every 15 s would fill the audit channel with log.read
// records of counters): it must then reveal nothing a read is audited for. docs/service.md.

test('/metrics holds counters only: no record content, person, id, token or raw URL; a scrape is not a log.read', async () => {
  const s = await testService();
  try {
    const marker = 'zq7marker';
    const w = await s.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...s.auth('ingest'), 'content-type': 'application/json' },
      payload: [
        {
          level: 'AUDIT',
          event: `${marker}.created`,
          msg: `message ${marker}`,
          actor: 'u-4242',
          subject: { id: 'jean@example.fr', type: 'user' },
          request_id: `req-${marker}`,
          data: { note: marker },
        },
        { event: `${marker}.seen`, msg: marker, actor: 'u-4242' },
      ],
    });
    assert.equal(w.statusCode, 200, w.body);
    // Reads and refusals whose URLs hold the marker: routes are labelled by template.
    for (const url of [
      `/v1/events?text=${marker}`,
      `/v1/events/audit/1`,
      `/v1/${marker}/u-4242`,
      `/v1/events?actor=u-4242`,
    ])
      await s.app.inject({ url, headers: s.auth('admin') });
    await s.app.inject({ url: `/v1/events?since=${marker}`, headers: s.auth('auditor') });
    await s.logs.flush();
    const stored = [...s.records('audit'), ...s.records('app')];
    const pseudonyms = new Set(JSON.stringify(stored).match(/sub_[\da-f]{24}/g) ?? []);
    assert.ok(pseudonyms.size > 0, 'the records hold pseudonyms');
    const readsBefore = s.records('audit').filter((r) => r.event === 'log.read').length;

    const res = await s.app.inject({ url: '/metrics', headers: s.auth('auditor') });
    assert.equal(res.statusCode, 200);
    const body = res.body;
    for (const secret of [
      marker,
      'u-4242',
      'jean@example.fr',
      'example.fr',
      ...pseudonyms,
      ...Object.values(s.token),
      ...Object.values(s.token).map((t) => t.split('_')[1] ?? t),
    ])
      assert.ok(!body.includes(secret), `/metrics holds ${secret}`);
    // Every label value is one of a closed set: configured channels, route templates, methods,
    // statuses.
    const routes = new Set([...s.app.service.routes.map((r) => r.url), '(unmatched)']);
    let routeLabels = 0;
    for (const line of body.split('\n')) {
      const open = line.indexOf('{');
      if (line.startsWith('#') || open === -1) continue;
      for (const pair of line.slice(open + 1, line.indexOf('}')).split('",')) {
        const eq = pair.indexOf('="');
        const key = pair.slice(0, eq);
        const value = pair.slice(eq + 2).replace(/"$/, '');
        if (key === 'channel') assert.ok(s.logs.channels.includes(value), `channel ${value}`);
        if (key === 'route') {
          assert.ok(routes.has(value), `route ${value}`);
          routeLabels += 1;
        }
        if (key === 'status') assert.match(value, /^\d{3}$/);
      }
    }
    assert.ok(routeLabels > 5, 'route labels were checked');
    await s.logs.flush();
    const readsAfter = s.records('audit').filter((r) => r.event === 'log.read').length;
    assert.equal(readsAfter, readsBefore, 'a scrape writes no log.read record');
  } finally {
    await s.close();
  }
});
