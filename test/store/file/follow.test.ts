import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FileFollower } from '../../../src/store/file/follow.js';
import { tempDir } from '../../helpers.js';

const lines = (from: number, to: number): string => {
  let out = '';
  for (let i = from; i < to; i++) out += `{"n":${i}}\n`;
  return out;
};
const numbers = (chunk: Buffer): number[] =>
  chunk
    .toString()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { n: number }).n);

test('a bounded follower reads a long file in steps, and the rest of a rotated file before the new one', () => {
  const file = path.join(tempDir(), 'app.log');
  writeFileSync(file, lines(0, 100));
  const f = new FileFollower(file, 0, 100);
  const seen: number[] = [];
  let polls = 0;
  for (let chunk = f.pollChunk(); chunk.length > 0 || polls < 3; chunk = f.pollChunk()) {
    seen.push(...numbers(chunk));
    polls++;
    if (polls === 3) {
      // Rotated mid-read: the old file (still open) is finished first.
      renameSync(file, `${file}.1`);
      writeFileSync(file, lines(100, 110));
    }
  }
  assert.deepEqual(
    seen,
    Array.from({ length: 110 }, (_, i) => i),
  );
  assert.ok(polls >= Math.ceil(lines(0, 100).length / 100), 'in steps of at most 100 bytes');
  f.close();
});

test('a follower resumes at a saved position; after a rotation or too far behind, it says so', () => {
  const file = path.join(tempDir(), 'app.log');
  writeFileSync(file, lines(0, 10));
  const first = new FileFollower(file, 0);
  assert.deepEqual(numbers(first.pollChunk()), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  appendFileSync(file, '{"n":10}\n{"n":1'); // a torn last line: the position stays before it
  assert.deepEqual(numbers(first.pollChunk()), [10]);
  const saved = first.position();
  first.close();
  assert.ok(saved !== undefined);
  appendFileSync(file, `1}\n${lines(12, 14)}`);

  const again = FileFollower.resume(file, saved, { maxReplay: 1000, maxRead: 1000 });
  assert.equal(again.gap, undefined, 'resumed');
  assert.deepEqual(numbers(again.follower.pollChunk()), [11, 12, 13]);
  again.follower.close();

  const far = FileFollower.resume(file, saved, { maxReplay: 10, maxRead: 1000 });
  assert.equal(far.gap, 'too_far');
  assert.deepEqual(numbers(far.follower.pollChunk()), [], 'starts at the end');
  far.follower.close();

  renameSync(file, `${file}.1`);
  writeFileSync(file, lines(20, 22));
  const rotated = FileFollower.resume(file, saved, { maxReplay: 1000, maxRead: 1000 });
  assert.equal(rotated.gap, 'rotated');
  assert.deepEqual(numbers(rotated.follower.pollChunk()), [20, 21], 'the new file from its start');
  rotated.follower.close();
});
