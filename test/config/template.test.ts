import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { configTemplate } from '../../src/config/template.js';
import { resolveConfig } from '../../src/config/resolve.js';

test('the configuration init writes is valid and states the defaults, key for key', () => {
  const text = configTemplate({ dir: './logs', masterKeyFile: undefined, publicKey: 'ed25519:x' });
  const fromTemplate = resolveConfig(parse(text), '/base');
  const defaults = resolveConfig(
    { dir: './logs', integrity: { public_key: 'ed25519:x' } },
    '/base',
  );
  assert.deepEqual(fromTemplate, defaults);
});
