import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Progress } from '../../src/cli/progress.js';
import type { Io } from '../../src/cli/context.js';

function capture(): { io: Io; err: string[] } {
  const err: string[] = [];
  return {
    err,
    io: { out: () => undefined, err: (t) => err.push(t), isTTY: false, stdin: process.stdin },
  };
}

test('progress stays quiet for a short run, then reports at most once a second', () => {
  let now = 0;
  const { io, err } = capture();
  const p = new Progress(io, 'verify', true, false, () => now);
  p.update(10, 100, '10 records');
  now = 900;
  p.update(20, 100, '20 records');
  assert.deepEqual(err, [], 'nothing in the first second');
  now = 1500;
  p.update(50 * 1048576, 100 * 1048576, '500 records');
  now = 1800;
  p.update(60 * 1048576, 100 * 1048576, '600 records');
  assert.deepEqual(err, ['verify: 50% (50 of 100 MiB, 500 records)\n']);
  now = 2600;
  p.update(100 * 1048576, 100 * 1048576, '1000 records');
  assert.equal(err.length, 2);
});

test('on a terminal the line is rewritten in place and cleared at the end; --no-progress silences it', () => {
  let now = 0;
  const { io, err } = capture();
  const p = new Progress(io, 'verify', true, true, () => now);
  now = 2000;
  p.update(1, 2, 'x');
  p.done();
  assert.ok(err[0]!.startsWith('\r'));
  assert.equal(err[1], '\r\u001b[K');
  const quiet = capture();
  const q = new Progress(quiet.io, 'verify', false, false, () => now);
  now = 5000;
  q.update(1, 2, 'x');
  assert.deepEqual(quiet.err, []);
});
