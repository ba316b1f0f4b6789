import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { expectCode, tempDir } from '../helpers.js';

test('defaults: five channels, audit and security durable, 64 KiB records, depth 32, 1 s checkpoints', () => {
  const cwd = tempDir();
  const c = loadConfig({ cwd, env: {} });
  assert.equal(c.dir, path.join(cwd, 'logs'));
  assert.deepEqual(Object.keys(c.channels), ['app', 'audit', 'security', 'scheduler', 'api']);
  assert.equal(c.channels.audit!.durability, 'durable');
  assert.equal(c.channels.security!.durability, 'durable');
  assert.equal(c.channels.app!.durability, 'buffered');
  assert.deepEqual(c.limits, { maxRecordBytes: 65536, maxDepth: 32 });
  assert.equal(c.integrity.checkpointIntervalMs, 1000);
  assert.equal(c.source, undefined);
});

test('the file is found in the working directory; paths resolve against it; the result is frozen', () => {
  const cwd = tempDir();
  writeFileSync(
    path.join(cwd, 'dihya-logs.yaml'),
    'dir: ./data/logs\nmaster_key_file: ../secret/k.key\nchannels:\n  app: { min_level: warning }\n  billing: { durability: durable }\n',
  );
  const c = loadConfig({ cwd, env: {} });
  assert.equal(c.dir, path.join(cwd, 'data', 'logs'));
  assert.equal(c.masterKeyFile, path.resolve(cwd, '..', 'secret', 'k.key'));
  assert.equal(c.channels.app!.minLevel, 'WARNING');
  assert.deepEqual(c.channels.billing, {
    durability: 'durable',
    minLevel: 'INFO',
    rotate: { maxBytes: 64 * 1024 * 1024, daily: true },
    retention: { minDays: 30, maxDays: 90 },
    encrypt: false,
  });
  assert.equal(c.channels.security!.encrypt, true, 'security is encrypted by default');
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.channels) && Object.isFrozen(c.channels.app));
  assert.throws(() => {
    (c.limits as { maxDepth: number }).maxDepth = 1000;
  }, TypeError);
});

test('--dir beats DIHYA_LOGS_DIR, which beats the file', () => {
  const cwd = tempDir();
  writeFileSync(path.join(cwd, 'dihya-logs.yaml'), 'dir: ./from-file\n');
  assert.equal(loadConfig({ cwd, env: {} }).dir, path.join(cwd, 'from-file'));
  assert.equal(
    loadConfig({ cwd, env: { DIHYA_LOGS_DIR: 'from-env' } }).dir,
    path.join(cwd, 'from-env'),
  );
  assert.equal(
    loadConfig({ cwd, env: { DIHYA_LOGS_DIR: 'from-env' }, dir: 'from-flag' }).dir,
    path.join(cwd, 'from-flag'),
  );
});

test('an invalid configuration names the file and the path of every bad key', async () => {
  const cwd = tempDir();
  const file = path.join(cwd, 'dihya-logs.yaml');
  writeFileSync(
    file,
    'channels:\n  app: { durability: sometimes }\nlimits:\n  max_depth: 1000\ntypo_key: 1\n',
  );
  const err = await expectCode('CONFIG_INVALID', () => loadConfig({ cwd, env: {} }));
  assert.ok(err.message.startsWith(file));
  assert.match(err.message, /channels\.app\.durability/);
  assert.match(err.message, /limits\.max_depth/);
  assert.match(err.message, /typo_key/);
  writeFileSync(file, 'channels: [unclosed\n');
  await expectCode('CONFIG_INVALID', () => loadConfig({ cwd, env: {} }));
  await expectCode('CONFIG_INVALID', () => resolveConfig({ channels: { 'Bad Name': {} } }, cwd));
});

test('an explicit configuration file that does not exist is an error, not a silent default', async () => {
  const cwd = tempDir();
  await expectCode('CONFIG_NOT_FOUND', () => loadConfig({ cwd, env: {}, file: 'missing.yaml' }));
  await expectCode('CONFIG_NOT_FOUND', () =>
    loadConfig({ cwd, env: { DIHYA_LOGS_CONFIG: 'gone.yaml' } }),
  );
});

test('detectors and alerts: defaults, overrides, and bad values named by their key', async () => {
  const c = resolveConfig(
    {
      detectors: {
        failed_logins: { per_account: 3 },
        rules: [
          {
            name: 'r1',
            filter: { event: 'x.*', level: 'warning' },
            threshold: 2,
            window_ms: 60_000,
          },
        ],
      },
      alerts: { webhook: { url: 'https://hooks.example.org/a', secret_file: 'hook.secret' } },
    },
    '/base',
  );
  assert.equal(c.detectors.failedLogins.perAccount, 3);
  assert.equal(c.detectors.failedLogins.perAddress, 10, 'the others keep their defaults');
  assert.equal(c.detectors.rules[0]?.filter.level, 'WARNING');
  assert.equal(c.alerts.webhook?.secretFile, '/base/hook.secret');
  assert.equal(c.alerts.webhook.secretEnv, 'DIHYA_LOGS_WEBHOOK_SECRET');
  for (const [raw, key] of [
    [
      { alerts: { webhook: { url: 'file:///etc/passwd' } } },
      /alerts\.webhook\.url: an http:\/\/ or https:\/\/ URL/,
    ],
    [
      { detectors: { logging_stopped: { channels: ['nope'] } } },
      /detectors\.logging_stopped\.channels: "nope" is not a configured channel/,
    ],
    [
      {
        detectors: {
          rules: [{ name: 'r', filter: {}, threshold: 1, window_ms: 60_000, group_by: 'data.a b' }],
        },
      },
      /detectors\.rules\.0\.group_by/,
    ],
    [{ detectors: { access_denied: { window_ms: 10 } } }, /detectors\.access_denied\.window_ms/],
    [{ integrity: { log_name: 'has space' } }, /integrity\.log_name/],
    [{ integrity: { log_name: 'a+b' } }, /integrity\.log_name/],
    [
      {
        integrity: { witnesses: [{ url: 'ftp://w.example', key: `w+1a2b3c4d+${'A'.repeat(44)}` }] },
      },
      /integrity\.witnesses\.0\.url/,
    ],
    [
      { integrity: { witnesses: [{ url: 'http://w.example', key: 'not a key' }] } },
      /integrity\.witnesses\.0\.key/,
    ],
    [
      {
        integrity: {
          witnesses: [{ url: 'http://w.example', key: `w+1a2b3c4d+${'A'.repeat(44)}` }],
          witness_quorum: 2,
        },
      },
      /integrity\.witness_quorum: 2 is more than the 1 witness\(es\) configured/,
    ],
  ] as const) {
    const err = await expectCode('CONFIG_INVALID', () => resolveConfig(raw, '/base'));
    assert.match(err.message, key);
  }
});
