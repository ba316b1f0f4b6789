import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { EVENT_CATALOGUE } from '../../src/event/catalogue.js';
import { newLog, readRecords, openedRecords } from '../helpers.js';

test('typed helpers write catalogued events to their channel, level and outcome', async () => {
  const t = newLog();
  const logs = await t.open();
  const failure = await logs.events.loginFailure({
    actor: { id: 'u-1', ip: '203.0.113.9' },
    reason: 'bad password',
    request_id: 'r-1',
  });
  assert.equal(failure.channel, 'security');
  await logs.events.loginSuccess({ actor: 'u-1', method: 'password' });
  await logs.events.projectGenerated({ actor: 'u-1', project: 'p-7', template: 'react-admin' });
  await logs.events.accessDenied({
    actor: 'u-2',
    target: { type: 'project', id: 'p-7' },
    permission: 'project.delete',
  });
  await logs.events.jobRun({ job: 'backup', outcome: 'failure', exitCode: 2, durationMs: 1500 });
  await logs.events.attackDetected({
    kind: 'sql-injection',
    target: { type: 'route', id: '/v1/search' },
  });
  await logs.close();

  const security = openedRecords(t, 'security.log');
  assert.deepEqual(
    security.map((r) => [r.event, r.level, r.outcome]),
    [
      ['auth.login.failure', 'SECURITY', 'failure'],
      ['access.denied', 'SECURITY', 'denied'],
      ['attack.detected', 'SECURITY', undefined],
    ],
  );
  assert.deepEqual(security[0]!.data, { reason: 'bad password' });
  assert.equal(security[0]!.request_id, 'r-1');
  const audit = readRecords(path.join(t.dir, 'audit.log'));
  assert.deepEqual(
    audit.map((r) => r.event),
    ['auth.login.success', 'project.generate'],
  );
  assert.deepEqual(audit[1]!.target, { id: 'p-7', type: 'project' });
  const job = readRecords(path.join(t.dir, 'scheduler.log'))[0]!;
  assert.deepEqual(
    [job.event, job.level, job.outcome, job.data],
    ['job.run', 'ERROR', 'failure', { duration_ms: 1500, exit_code: 2 }],
  );
  for (const r of [...security, ...audit, job]) {
    const def = EVENT_CATALOGUE[r.event as keyof typeof EVENT_CATALOGUE];
    assert.equal(r.channel, def.channel, `${String(r.event)} goes to its catalogued channel`);
  }
});
