import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalize } from '../../src/event/canonical.js';
import { expectCode, vector } from '../helpers.js';

interface JcsVectors {
  examples: Array<{ name: string; input: string; output: string; expectedOrder?: string[] }>;
  numbers: Array<{ ieee754: string; expected: string | null; note: string }>;
  utf8Hex: string;
}

const jcs = vector('jcs-rfc8785.json') as JcsVectors;

test('RFC 8785 examples canonicalize to the published output', () => {
  for (const ex of jcs.examples) {
    assert.equal(canonicalize(JSON.parse(ex.input)), ex.output, ex.name);
  }
});

test('RFC 8785 section 3.2.4: the UTF-8 bytes of the 3.2.2 example', () => {
  const example = jcs.examples[0]!;
  const hex = Buffer.from(canonicalize(JSON.parse(example.input)), 'utf8').toString('hex');
  assert.equal(hex, jcs.utf8Hex.replace(/\s+/g, '').toLowerCase());
});

test('RFC 8785 section 3.2.3: properties sort by UTF-16 code units', () => {
  const sorting = jcs.examples.find((e) => e.expectedOrder !== undefined);
  assert.ok(sorting, 'the sorting example is in the vectors');
  const out = canonicalize(JSON.parse(sorting.input));
  const positions = sorting.expectedOrder!.map((value) => out.indexOf(JSON.stringify(value)));
  assert.ok(positions.every((p) => p >= 0));
  assert.deepEqual(
    [...positions].sort((a, b) => a - b),
    positions,
  );
});

test('RFC 8785 appendix B: every IEEE-754 value serializes as published; NaN and Infinity are errors', async () => {
  for (const row of jcs.numbers) {
    const value = Buffer.from(row.ieee754, 'hex').readDoubleBE(0);
    if (row.expected === null) {
      await expectCode('EVENT_NON_FINITE', () => canonicalize(value));
    } else {
      assert.equal(canonicalize(value), row.expected, `${row.ieee754} (${row.note})`);
    }
  }
});

test('values JSON cannot hold are refused, not silently dropped', async () => {
  await expectCode('EVENT_INVALID', () => canonicalize({ a: undefined }));
  await expectCode('EVENT_INVALID', () => canonicalize(() => 1));
  await expectCode('EVENT_INVALID', () => canonicalize('\ud800'));
});
