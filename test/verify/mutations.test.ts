import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { verifyLogs } from '../../src/store/file/verify.js';
import { newLog, tempDir, type TestLog } from '../helpers.js';

/**
 * Any single mutation of a written log makes verify fail and name the right seq: the seq
 * expected at the first line that differs from the original (or the first line missing).
 */

const RECORDS = 40;
let golden: TestLog;
let original: Buffer;

before(async () => {
  golden = newLog();
  const logs = await golden.open();
  for (let i = 0; i < RECORDS; i++) {
    logs.app.info({ i, note: `record ${i} é ✓`, n: i * 1.5 }, `message ${i}`);
    if (i % 10 === 9) await logs.flush(); // several checkpoints, not only the last
  }
  await logs.audit({ event: 'unrelated.channel' });
  await logs.close();
  original = readFileSync(path.join(golden.dir, 'app.log'));
  const report = await verifyLogs({ dir: golden.dir, publicKey: golden.publicKey });
  assert.ok(report.ok && report.records === RECORDS + 1, 'the unmutated log verifies');
});

function splitLines(buf: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10, start)) {
    lines.push(buf.subarray(start, nl + 1));
    start = nl + 1;
  }
  if (start < buf.length) lines.push(buf.subarray(start));
  return lines;
}

/** 1 + index of the first line (newline included) that differs, is missing, or was added. */
function expectedSeq(mutated: Buffer): number {
  const a = splitLines(original);
  const b = splitLines(mutated);
  for (let i = 0; i < a.length; i++) {
    if (b[i] === undefined || !a[i]!.equals(b[i]!)) return i + 1;
  }
  if (b.length > a.length) return a.length + 1; // a line added after the last one
  throw new Error('the mutation changed nothing');
}

type Mutation =
  | { kind: 'flip'; offset: number; bit: number }
  | { kind: 'delete'; line: number }
  | { kind: 'insert'; line: number; text: string }
  | { kind: 'duplicate'; line: number }
  | { kind: 'swap'; a: number; b: number }
  | { kind: 'truncate'; offset: number };

function apply(m: Mutation): Buffer {
  const lines = splitLines(original);
  switch (m.kind) {
    case 'flip': {
      const copy = Buffer.from(original);
      copy[m.offset] = copy[m.offset]! ^ (1 << m.bit);
      return copy;
    }
    case 'delete':
      return Buffer.concat(lines.filter((_, i) => i !== m.line));
    case 'insert':
      return Buffer.concat([
        ...lines.slice(0, m.line),
        Buffer.from(`${m.text}\n`),
        ...lines.slice(m.line),
      ]);
    case 'duplicate':
      return Buffer.concat([
        ...lines.slice(0, m.line + 1),
        lines[m.line]!,
        ...lines.slice(m.line + 1),
      ]);
    case 'swap': {
      const copy = [...lines];
      [copy[m.a], copy[m.b]] = [copy[m.b]!, copy[m.a]!];
      return Buffer.concat(copy);
    }
    case 'truncate':
      return original.subarray(0, m.offset);
  }
}

const line = fc.integer({ min: 0, max: RECORDS - 1 });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    offset: fc.integer({ min: 0, max: 1_000_000 }),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), line }),
  fc.record({
    kind: fc.constant('insert' as const),
    line: fc.integer({ min: 0, max: RECORDS }),
    // Foreign lines: junk, JSON, or a copy of a real record from elsewhere in the log.
    text: fc.oneof(
      fc.string({ maxLength: 80 }).map((s) => s.replaceAll('\n', ' ')),
      fc.json({ maxDepth: 2 }).map((j) => j.replaceAll('\n', ' ')),
      line.map((i) => splitLines(original)[i]!.toString('utf8').trimEnd()),
    ),
  }),
  fc.record({ kind: fc.constant('duplicate' as const), line }),
  fc
    .tuple(line, line)
    .filter(([a, b]) => a !== b)
    .map(([a, b]) => ({ kind: 'swap' as const, a: Math.min(a, b), b: Math.max(a, b) })),
  fc.record({
    kind: fc.constant('truncate' as const),
    offset: fc.integer({ min: 0, max: 1_000_000 }),
  }),
);

function normalize(m: Mutation): Mutation {
  if (m.kind === 'flip') return { ...m, offset: m.offset % original.length };
  if (m.kind === 'truncate') return { ...m, offset: m.offset % original.length };
  return m;
}

test('any single mutation of a channel file is detected at the right seq', async () => {
  await fc.assert(
    fc.asyncProperty(mutation.map(normalize), async (m) => {
      const dir = path.join(tempDir('dihya-mut-'), 'logs');
      cpSync(golden.dir, dir, { recursive: true });
      const mutated = apply(m);
      writeFileSync(path.join(dir, 'app.log'), mutated);
      const report = await verifyLogs({ dir, publicKey: golden.publicKey });
      assert.equal(report.ok, false, `undetected: ${JSON.stringify(m)}`);
      const damage = report.channels.find((c) => c.channel === 'app')?.damage;
      assert.ok(
        damage,
        `no damage on app for ${JSON.stringify(m)}: ${JSON.stringify(report.damage)}`,
      );
      assert.equal(
        damage.seq,
        expectedSeq(mutated),
        `${JSON.stringify(m)} -> ${JSON.stringify(damage)}`,
      );
      assert.equal(damage.file, 'app.log');
      assert.ok(damage.line !== undefined && damage.line >= 1);
      assert.ok(
        report.channels.find((c) => c.channel === 'audit')?.ok,
        'other channels are unaffected',
      );
    }),
    { numRuns: Number(process.env.MUTATION_RUNS ?? 300) },
  );
});
