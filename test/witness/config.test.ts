import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateNoteKey, parseVerifierKey } from '../../src/integrity/note/index.js';
import {
  createWitnessKey,
  loadWitnessConfig,
  loadWitnessKey,
  resolveWitnessConfig,
  witnessVerifierKey,
} from '../../src/witness/index.js';
import { expectCode, tempDir } from '../helpers.js';
import { TestLog } from './helpers.js';

const log = new TestLog('example.com/cfg');

test('a YAML configuration loads, with defaults and paths relative to its file', () => {
  const dir = tempDir();
  const file = path.join(dir, 'witness.yaml');
  writeFileSync(
    file,
    `name: witness.example.org/w1\nkey_file: w1.key\nstate_dir: state\nlogs:\n  - origin: ${log.origin}\n    keys: ["${log.vkey}"]\n`,
  );
  const c = loadWitnessConfig(file);
  assert.equal(c.keyFile, path.join(dir, 'w1.key'));
  assert.equal(c.stateDir, path.join(dir, 'state'));
  assert.deepEqual([c.host, c.port, c.bodyLimit], ['127.0.0.1', 7380, 65536]);
  assert.equal(c.logs.get(log.origin)![0]!.name, log.origin);
  assert.ok(Object.isFrozen(c));
});

test('invalid configurations are CONFIG_INVALID naming the key', async () => {
  const base = { name: 'w', key_file: 'k', state_dir: 's' };
  const cases: Array<[unknown, RegExp]> = [
    [{ ...base, name: 'a b' }, /name/],
    [{ ...base, extra: 1 }, /extra|Unrecognized/i],
    [{ ...base, port: 70000 }, /port/],
    [{ ...base, logs: [{ origin: 'o', keys: ['nope'] }] }, /logs\.0\.keys\.0/],
    [{ ...base, logs: [{ origin: 'o', keys: [] }] }, /logs\.0\.keys/],
    [
      {
        ...base,
        logs: [
          { origin: 'o', keys: [log.vkey] },
          { origin: 'o', keys: [log.vkey] },
        ],
      },
      /logs\.1\.origin: listed twice/,
    ],
    [{ ...base, logs: [{ origin: 'o', keys: [log.vkey, log.vkey] }] }, /listed twice/],
  ];
  for (const [raw, msg] of cases) {
    const e = await expectCode('CONFIG_INVALID', () => resolveWitnessConfig(raw, '/'));
    assert.match(e.message, msg);
  }
  // A cosigner (0x04) key is not a log key.
  const w = new TestLog('x');
  const co = witnessVerifierKey(loadKeyFor(w.origin));
  assert.equal(parseVerifierKey(co).type, 4);
  await expectCode('CONFIG_INVALID', () =>
    resolveWitnessConfig({ ...base, logs: [{ origin: 'o', keys: [co] }] }, '/'),
  );
  await expectCode('CONFIG_NOT_FOUND', () => loadWitnessConfig(path.join(tempDir(), 'none.yaml')));
});

function loadKeyFor(name: string) {
  const file = path.join(tempDir(), 'k.key');
  createWitnessKey(file, name);
  return loadWitnessKey(file);
}

test('the key file: created 0600 once, its vkey is a cosigner key, unsafe places and modes refused', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'w1.key');
  const vkey = createWitnessKey(file, 'witness.example.org/w1');
  const v = parseVerifierKey(vkey);
  assert.equal(v.type, 4);
  const key = loadWitnessKey(file, { name: 'witness.example.org/w1' });
  assert.equal(witnessVerifierKey(key), vkey);
  await expectCode('PATH_UNSAFE', () => createWitnessKey(file, 'witness.example.org/w1'));
  await expectCode('CONFIG_INVALID', () => loadWitnessKey(file, { name: 'another' }));
  chmodSync(file, 0o644);
  const e = await expectCode('NOTE_KEY_INVALID', () => loadWitnessKey(file));
  assert.match(e.message, /chmod 600/);
  // Inside the state directory, or inside a dihya-logs logs directory: refused.
  chmodSync(file, 0o600);
  await expectCode('PATH_UNSAFE', () => loadWitnessKey(file, { stateDir: dir }));
  const logs = path.join(dir, 'logs');
  mkdirSync(path.join(logs, '.integrity', 'x'), { recursive: true });
  writeFileSync(path.join(logs, '.integrity', 'log.json'), '{}');
  await expectCode('PATH_UNSAFE', () =>
    createWitnessKey(path.join(logs, '.integrity', 'x', 'k'), 'w'),
  );
  // A Go-generated style key file (with a trailing newline) is read as is.
  const go = path.join(dir, 'go.key');
  writeFileSync(go, `${generateNoteKey('w2').skey}\n`, { mode: 0o600 });
  assert.equal(loadWitnessKey(go).name, 'w2');
  writeFileSync(path.join(dir, 'bad.key'), 'PRIVATE+KEY+w+00000000+AAAA\n', { mode: 0o600 });
  await expectCode('NOTE_KEY_INVALID', () => loadWitnessKey(path.join(dir, 'bad.key')));
});
