import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { cli, cliSpawn, initialized } from './run.js';

// `dihya-logs tail | head`: the reader goes away after its first lines. The CLI must then stop
// writing and end quietly (no EPIPE stack trace), with its own exit status.

const { cwd, env } = initialized(true);
{
  // Far more than a pipe holds (64 KiB), so the writer is still writing when the reader goes.
  const lines = Array.from({ length: 3000 }, (_, i) =>
    JSON.stringify({ event: 'note.added', msg: `record ${i} ${'x'.repeat(200)}` }),
  );
  const w = cli(cwd, ['write', '--stdin'], env, lines.join('\n'));
  assert.equal(w.code, 0, w.stderr);
}

interface Ended {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  readonly first: string;
}

/**
 * Start `dihya-logs args`, read its first chunk of stdout, then close the pipe as `head` does.
 * `meanwhile` runs until the CLI exits (tail -f writes only when a record comes).
 */
async function readFirstThenClose(args: string[], meanwhile?: () => void): Promise<Ended> {
  const child = cliSpawn(cwd, args, env);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
  child.stdout.destroy();
  let done: [number | null, NodeJS.Signals | null] | undefined;
  void exited.then((e) => (done = e));
  for (let i = 0; i < 100 && done === undefined; i++) {
    meanwhile?.();
    await sleep(100);
  }
  if (done === undefined) child.kill('SIGKILL');
  const [code, signal] = done ?? (await exited);
  assert.notEqual(done, undefined, `${args.join(' ')}: still running 10 s after its reader went`);
  return { code, signal, stderr, first: chunk.toString('utf8') };
}

function assertQuiet(r: Ended, what: string): void {
  assert.equal(r.signal, null, `${what}: not killed`);
  assert.equal(r.code, 0, `${what}: exit 0\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /Error|EPIPE|^ {4}at /m, `${what}: no stack trace`);
  assert.ok(r.first.length > 0);
}

test('tail with its reader gone (| head) ends quietly, exit 0', async () => {
  assertQuiet(await readFirstThenClose(['tail', '-n', '3000', '--format', 'ndjson']), 'tail');
  assertQuiet(
    await readFirstThenClose(['tail', '-n', '3000', '--format', 'pretty']),
    'tail pretty',
  );
});

test('query with a large output and its reader gone ends quietly, exit 0', async () => {
  for (const format of ['ndjson', 'table', 'csv'])
    assertQuiet(
      await readFirstThenClose(['query', '--limit', '3000', '--format', format]),
      `query ${format}`,
    );
});

test('tail -f stops when its reader is gone, at the next record it would print', async () => {
  let n = 0;
  const r = await readFirstThenClose(
    ['tail', '-f', '-n', '1', '--interval', '20', '--format', 'ndjson'],
    () => {
      n += 1;
      cli(cwd, ['write', '--msg', `new ${n}`], env);
    },
  );
  assertQuiet(r, 'tail -f');
});
