import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { formatCheckpoint, parseCheckpoint, parseNote } from '../../../src/integrity/note/index.js';
import { LogsError } from '../../../src/errors.js';
import { expectCode } from '../../helpers.js';
import { V } from './vectors.js';

const root = createHash('sha256').update('x').digest();

test('c2sp.org tlog-checkpoint: the example parses and formats back byte for byte', () => {
  const note = parseNote(V.c2sp.checkpointExample);
  const c = parseCheckpoint(note.text);
  assert.equal(c.origin, 'example.com/behind-the-sofa');
  assert.equal(c.size, 20852163);
  assert.equal(c.rootHash.toString('base64'), 'CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=');
  assert.deepEqual(c.extensions, []);
  assert.equal(formatCheckpoint(c), note.text);
  assert.equal(note.signatures[0]!.name, c.origin);
});

test('extension lines are kept, in order', () => {
  const text = formatCheckpoint({ origin: 'o', size: 0, rootHash: root, extensions: ['a b', 'c'] });
  assert.equal(text, `o\n0\n${root.toString('base64')}\na b\nc\n`);
  assert.deepEqual(parseCheckpoint(text).extensions, ['a b', 'c']);
});

test('strict: size without leading zeros, root of 32 bytes, non-empty lines, final newline', async () => {
  const r = root.toString('base64');
  const bad = [
    `o\n1\n${r}`,
    `o\n01\n${r}\n`,
    `o\n-1\n${r}\n`,
    `o\n+1\n${r}\n`,
    `o\n1.0\n${r}\n`,
    `o\n 1\n${r}\n`,
    `o\n9007199254740992\n${r}\n`,
    `o\n18446744073709551616\n${r}\n`,
    `o\n1\n${r.slice(0, -1)}\n`,
    `o\n1\n${Buffer.alloc(31).toString('base64')}\n`,
    `o\n1\n${root.toString('base64url')}\n`,
    `\n1\n${r}\n`,
    `o\n1\n${r}\n\n`,
    `o\n1\n`,
    `o\t\n1\n${r}\n`,
  ];
  for (const text of bad) await expectCode('NOTE_MALFORMED', () => parseCheckpoint(text));
  assert.equal(parseCheckpoint(`o\n9007199254740991\n${r}\n`).size, Number.MAX_SAFE_INTEGER);
  await expectCode('NOTE_MALFORMED', () =>
    formatCheckpoint({ origin: '', size: 1, rootHash: root }),
  );
  await expectCode('NOTE_MALFORMED', () =>
    formatCheckpoint({ origin: 'o', size: -1, rootHash: root }),
  );
  await expectCode('NOTE_MALFORMED', () =>
    formatCheckpoint({ origin: 'o', size: 1, rootHash: root.subarray(1) }),
  );
  await expectCode('NOTE_MALFORMED', () =>
    formatCheckpoint({ origin: 'o', size: 1, rootHash: root, extensions: ['a\nb'] }),
  );
});

test('property: format and parse are inverse; random text is parsed or NOTE_MALFORMED', () => {
  const line = fc.string({ minLength: 1, maxLength: 30 }).filter(printable);
  fc.assert(
    fc.property(
      line,
      fc.nat(),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.array(line, { maxLength: 3 }),
      (origin, size, h, extensions) => {
        const c = parseCheckpoint(formatCheckpoint({ origin, size, rootHash: h, extensions }));
        assert.deepEqual(
          [c.origin, c.size, [...c.rootHash], c.extensions],
          [origin, size, [...h], extensions],
        );
      },
    ),
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 80 }), (s) => {
      try {
        parseCheckpoint(s);
      } catch (err) {
        assert.ok(err instanceof LogsError && err.code === 'NOTE_MALFORMED');
      }
    }),
  );
});

/** No control character (the generators' strings stay single lines of note text). */
function printable(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 0x20) return false;
  return s.isWellFormed();
}
