import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { csvCell, safeYaml } from '../../src/query/format.js';

// Record content is attacker-controlled: these are the characters it may hold to fool a
// terminal or a parser, with the ones YAML and CSV give meaning to.
const ALPHABET = [
  ...['\u0000', '\u0007', '\u0008', '\t', '\n', '\r', '\u001b', '[', ']', '\u007f'],
  ...['\u0085', '\u009b', '\u061c', '\u200e', '\u200f', '\u2028', '\u2029', '\u202e', '\u2066'],
  ...[' ', '  ', '"', "'", '\\', ':', '#', '-', '=', '@', '|', '>', '&', '*', '!', '%', 'a'],
  ...['\u00e9', '\ufeff', '\u{1f600}'],
];
const RAW =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

/** A small seeded generator (mulberry32), so a failure repeats. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hostileStrings(n: number, seed: number): string[] {
  const next = random(seed);
  return Array.from({ length: n }, () => {
    let s = '';
    for (let len = Math.floor(next() * 200); len > 0; len--)
      s += ALPHABET[Math.floor(next() * ALPHABET.length)] ?? '';
    return s;
  });
}

test('safeYaml: no raw control, bidi or separator, and YAML reads back the same value', () => {
  for (const s of hostileStrings(2000, 18)) {
    const value = { records: [{ msg: s, data: { [s.slice(0, 30)]: [s, 1, null] } }] };
    const yaml = safeYaml(value);
    assert.equal(RAW.test(yaml), false, JSON.stringify(yaml));
    assert.deepEqual(parseYaml(yaml), value, JSON.stringify(s));
  }
});

test('csvCell: one line, no raw control; a formula is text after escaping', () => {
  for (const s of hostileStrings(2000, 19)) {
    const cell = csvCell(s);
    assert.equal(RAW.test(cell), false, JSON.stringify(cell));
    assert.match(cell, /^"(?:[^"]|"")*"$/u, 'quoted, inner quotes doubled');
    assert.doesNotMatch(cell, /^"[=+\-@]/u, 'never starts a formula');
  }
  assert.equal(csvCell('=1+1'), `"'=1+1"`);
  assert.equal(csvCell('\t=1+1'), '"\\t=1+1"');
  assert.equal(csvCell('a\r\nb "c"'), '"a\\r\\nb ""c"""');
  assert.equal(csvCell('\u202eexe.txt'), '"\\u202eexe.txt"');
});
