import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { registerWitness } from '../../src/cli/witness.js';
import { parseVerifierKey, verifyCosignature } from '../../src/integrity/note/index.js';
import { memoryIo, tempDir } from '../helpers.js';
import { TestLog } from './helpers.js';

function program(): { program: Command; out: () => string; err: () => string } {
  const { io, out, err } = memoryIo();
  const p = new Command('dihya-logs').exitOverride();
  registerWitness(p, io);
  return { program: p, out, err };
}

async function run(args: string[]): Promise<{ out: string; err: string }> {
  const p = program();
  await p.program.parseAsync(args, { from: 'user' });
  return { out: p.out(), err: p.err() };
}

test('witness init writes a 0600 key and prints the verifier key; witness key prints it again', async () => {
  const dir = tempDir();
  const keyFile = path.join(dir, 'w1.key');
  const init = await run(['witness', 'init', keyFile, '--name', 'witness.example.org/w1']);
  const vkey = init.out.trim();
  assert.equal(parseVerifierKey(vkey).type, 4);
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  assert.equal((await run(['witness', 'key', keyFile])).out.trim(), vkey);
  await assert.rejects(run(['witness', 'init', keyFile, '--name', 'w']), /never replaced/);
  const config = path.join(dir, 'witness.yaml');
  writeFileSync(config, `name: witness.example.org/w1\nkey_file: w1.key\nstate_dir: state\n`);
  assert.equal((await run(['witness', 'key', config])).out.trim(), vkey);
});

test('witness serve listens on loopback, cosigns, and stops on SIGTERM', async () => {
  const dir = tempDir();
  const keyFile = path.join(dir, 'w.key');
  const vkey = (
    await run(['witness', 'init', keyFile, '--name', 'witness.example.org/w'])
  ).out.trim();
  const log = new TestLog('example.com/served').append(3);
  const config = path.join(dir, 'witness.json');
  writeFileSync(
    config,
    JSON.stringify({
      name: 'witness.example.org/w',
      key_file: keyFile,
      state_dir: path.join(dir, 'state'),
      logs: [{ origin: log.origin, keys: [log.vkey] }],
    }),
  );
  const p = program();
  const done = p.program.parseAsync(['witness', 'serve', config, '--port', '0'], { from: 'user' });
  let url: string | undefined;
  for (let i = 0; i < 200 && url === undefined; i++) {
    await new Promise((r) => setTimeout(r, 10));
    url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(p.out())?.[1];
  }
  assert.ok(url, p.out() + p.err());
  assert.ok(p.out().includes(vkey));
  const res = await fetch(`${url}/add-checkpoint`, { method: 'POST', body: log.body(0) });
  const line = await res.text();
  assert.equal(res.status, 200, line);
  assert.ok(verifyCosignature(parseVerifierKey(vkey), log.text(), line) > 0);
  process.emit('SIGTERM', 'SIGTERM');
  await done;
  assert.match(p.err(), /SIGTERM: stopping/);
});
