import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as api from '../../src/index.js';
import { openLogs } from '../../src/log/open.js';
import { coreOf } from '../../src/log/core.js';
import { eraseSubject } from '../../src/gdpr/erase.js';
import { queryLogs } from '../../src/log/query.js';
import { expectCode, newLog } from '../helpers.js';

// What an application gets: the producer API, and no way around the audit trail.

const ADMIN = [
  'rotate',
  'rotateDue',
  'seal',
  'hold',
  'deleteSegment',
  'rotateChannelKeys',
  'subjectLookup',
  'channelKeyring',
  'pseudonymOf',
  'destroySubjectKeys',
  'recordRequest',
  'recordAlert',
  'recordIntegrity',
  'recordPolicyChange',
  'consistencyProof',
];

test('openLogs gives the producer API only: no lifecycle, key, GDPR or reserved-event method is reachable', async () => {
  const t = newLog();
  const logs = await openLogs({ dir: t.dir, masterKey: t.masterKey, handleExit: false });
  try {
    const reachable = (name: string): boolean =>
      name in logs || Object.keys(logs).includes(name) || Reflect.has(logs, name);
    assert.deepEqual(
      ADMIN.filter(reachable),
      [],
      'the public Logs must not carry administrative capabilities',
    );
    const ack = await logs.audit({ event: 'user.created', actor: { id: 'u-1' } });
    assert.equal(ack.channel, 'audit');
    assert.equal(ack.seq > 0, true);
  } finally {
    await logs.close();
  }
});

test('the package exports a curated API: the documented names, no internals', () => {
  const names = Object.keys(api).sort();
  for (const internal of [
    'LogLayout',
    'IndexDb',
    'Keystore',
    'catchUp',
    'rebuild',
    'compileClassifier',
    'runQuery',
    'reveal',
    'LogCore',
    'openLogCore',
    'coreOf',
  ])
    assert.equal(names.includes(internal), false, `${internal} must stay internal`);
  // The values (types leave no trace at run time) of the documented API.
  assert.deepEqual(names, [
    'EVENT_CATALOGUE',
    'LEVELS',
    'Logger',
    'Logs',
    'LogsError',
    'eraseSubject',
    'exportSubject',
    'initLogs',
    'isLogsError',
    'loadConfig',
    'openLogs',
    'parseReceipt',
    'queryLogs',
    'resolveConfig',
    'verifyBundle',
    'verifyConsistencyProof',
    'verifyInclusionProof',
    'verifyLogs',
    'verifyReceipt',
  ]);
});

test('keys are destroyed only on the warrant of a durable gdpr.erasure record naming the person', async () => {
  const t = newLog();
  const logs = await openLogs({ dir: t.dir, masterKey: t.masterKey, handleExit: false });
  try {
    // In `app`: no retention duty keeps this person's key (audit records would schedule it).
    await logs.write(
      {
        channel: 'app',
        level: 'INFO',
        event: 'user.created',
        actor: { id: 'u-7', email: 'u7@example.org' },
      },
      { wait: 'durable' },
    );
    const core = coreOf(logs);
    const pseudonym = core.keys.pseudonymOf('u-7');
    assert.ok(pseudonym !== undefined);
    // Any other ack is no warrant: nothing is destroyed.
    const other = await logs.audit({ event: 'user.updated', actor: { id: 'u-8' } });
    await expectCode('INTERNAL', () => core.keys.destroySubjectKeys(other, [pseudonym]));
    assert.equal(core.keys.pseudonymOf('u-7'), pseudonym, 'the key is still there');
    // An erasure record that names someone else is no warrant for this person either.
    const elsewhere = await core.recorders.recordRequest({
      event: 'gdpr.erasure',
      outcome: 'success',
      data: { request_id: 'r-1', kind: 'erasure', status: 'done', pseudonyms: ['p-other'] },
    });
    await expectCode('INTERNAL', () => core.keys.destroySubjectKeys(elsewhere, [pseudonym]));
    assert.equal(core.keys.pseudonymOf('u-7'), pseudonym);

    // Through the exported function, with the application's own Logs: recorded, then erased.
    const report = await eraseSubject({
      logs,
      ids: ['u-7'],
      reason: 'Art. 17 request',
      requestedBy: 'dpo@example.org',
    });
    assert.equal(report.status, 'done');
    assert.equal(report.now.keys, 1);
    assert.equal(core.keys.pseudonymOf('u-7'), undefined, 'the key is gone');
    const requests = await queryLogs(logs, { filter: { events: ['gdpr.erasure'] } });
    const erasures = requests.records.filter(
      (r) => (r.record as { data?: { request_id?: string } }).data?.request_id !== 'r-1',
    );
    assert.equal(erasures.length, 1, 'the erasure is in the audit trail');
  } finally {
    await logs.close();
  }
});

test('queryLogs reads back what was written, personal values only when asked', async () => {
  const t = newLog();
  const logs = await openLogs({ dir: t.dir, masterKey: t.masterKey, handleExit: false });
  try {
    await logs.security({
      event: 'auth.login.failure',
      outcome: 'failure',
      actor: { id: 'u-3', email: 'three@example.org' },
    });
    const plain = await queryLogs(logs, { filter: { events: ['auth.login.*'] } });
    assert.equal(plain.records.length, 1);
    assert.equal(plain.records[0]!.status, 'ok');
    assert.doesNotMatch(JSON.stringify(plain.records[0]!.record), /three@example\.org/);
    const revealed = await queryLogs(
      logs,
      { filter: { events: ['auth.login.*'] } },
      { reveal: true },
    );
    assert.match(JSON.stringify(revealed.records[0]!.record), /three@example\.org/);
  } finally {
    await logs.close();
  }
});
