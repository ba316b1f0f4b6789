import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fc from 'fast-check';
import { prepareEvent } from '../../src/pipeline/prepare.js';
import { allFiles, newLog } from '../helpers.js';
import { cli } from '../cli/run.js';
import { LIMITS, MemoryKeys, settings } from './helpers.js';
import { placedArb, type Secret } from './secrets.js';

const RUNS = Number(process.env.SECRET_RUNS ?? 10_000);

/** Everything the writer would store for an event: its fields and each person's plaintext. */
function storedText(input: unknown, s: ReturnType<typeof settings>): string {
  const p = prepareEvent(input, { ...LIMITS, classification: s });
  return [p.pre, p.post, p.mid, ...(p.pii ?? []).map((x) => x.plain)].join('\n');
}

const leak = (text: string, secret: Secret): string | undefined =>
  secret.probes.find((probe) => text.includes(probe));

test(`no secret survives classification, whatever its kind and place (${RUNS} random events)`, () => {
  const s = settings(new MemoryKeys());
  fc.assert(
    fc.property(
      placedArb,
      fc.constantFrom('app', 'audit', 'api'),
      ({ secret, data, msg }, channel) => {
        const text = storedText({ channel, event: 'test.secret', actor: 'u-1', msg, data }, s);
        const found = leak(text, secret);
        assert.equal(found, undefined, `${secret.kind} leaked: ${found ?? ''}`);
      },
    ),
    { numRuns: RUNS },
  );
});

test('end to end: no secret anywhere under the logs directory (records, checkpoints, quarantine, keys)', async () => {
  const t = newLog();
  const logs = await t.open();
  const secrets: Secret[] = [];
  const samples = fc.sample(placedArb, { numRuns: 1500, seed: 42 });
  for (const [i, { secret, data, msg }] of samples.entries()) {
    secrets.push(secret);
    const channel = ['app', 'audit', 'security', 'api', 'scheduler'][i % 5]!;
    // Half through the awaited path, half through the loggers.
    if (i % 2 === 0)
      await logs.write({
        channel,
        event: 'test.secret',
        actor: { id: `u-${i % 7}`, email: `p${i % 7}@example.com` },
        msg,
        data,
      });
    else logs.logger(channel).warning({ event: 'test.secret', actor: `u-${i % 7}`, ...data }, msg);
  }
  await logs.close();
  const files = allFiles(t.dir);
  assert.ok(files.some((f) => f.file.endsWith('subjects.db')));
  for (const { file, bytes } of files) {
    for (const secret of secrets) {
      for (const probe of secret.probes) {
        assert.equal(
          bytes.includes(Buffer.from(probe)),
          false,
          `${secret.kind} found in ${path.relative(t.dir, file)}`,
        );
      }
    }
  }
});

test('the CLI: neither its output nor its error messages show a secret it was given', () => {
  const cwd = newLog().root;
  const key = Buffer.alloc(32, 3).toString('base64');
  assert.equal(cli(cwd, ['init', '--dir', 'cli-logs'], { DIHYA_LOGS_MASTER_KEY: key }).code, 0);
  const samples = fc.sample(placedArb, { numRuns: 200, seed: 7 });
  const lines = samples.map(({ data, msg }, i) => {
    const event = { event: 'cli.secret', actor: 'u-1', msg, data };
    // Every third line is broken on purpose, with the secret in it: the error must not echo it.
    if (i % 3 === 0)
      return JSON.stringify({ ...event, unknownField: 1, level: i % 2 === 0 ? 'NOPE' : 'INFO' });
    return JSON.stringify(event);
  });
  const r = cli(
    cwd,
    ['write', '--stdin', '--json', '--dir', 'cli-logs'],
    { DIHYA_LOGS_MASTER_KEY: key },
    lines.join('\n'),
  );
  assert.ok(r.stderr.includes('rejected'), r.stderr);
  const tail = cli(cwd, ['tail', '-n', '500', '--dir', 'cli-logs', '--format', 'pretty']);
  const output = r.stdout + r.stderr + tail.stdout + tail.stderr;
  for (const { secret } of samples) {
    const found = leak(output, secret);
    assert.equal(found, undefined, `${secret.kind} printed by the CLI`);
  }
});
