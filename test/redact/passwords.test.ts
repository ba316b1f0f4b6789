import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fc from 'fast-check';
import { prepareEvent } from '../../src/pipeline/prepare.js';
import { queryLogs } from '../../src/log/query.js';
import { openLogs } from '../../src/log/open.js';
import { allFiles, newLog } from '../helpers.js';
import { LIMITS, MemoryKeys, revealed, settings, store } from './helpers.js';
import {
  HEADER_TEMPLATES,
  PAIR_TEMPLATES,
  QUOTED_TEMPLATES,
  SPACED_TEMPLATES,
  URL_TEMPLATES,
  jsonInner,
  passwordArb,
  spacedPasswordArb,
  unquotedPasswordArb,
  type Template,
} from './passwords.js';

// Passwords over the whole printable ASCII set, in every place a backend writes them in text:
// no run of WINDOW characters of one may survive in the stored record, in the personal data
// kept for encryption, or in what an allowed reader gets back (admin, dpo, query --reveal).
const RUNS = Number(process.env.PASSWORD_RUNS ?? 300);
const WINDOW = 6;
const FILLER = 'Zq9Zq9Zq9Zq9';

/** Every string in a JSON value (decoded: a leaked `"` or `\` is not hidden by escaping). */
function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) strings(x, out);
  return out;
}

/** An Error whose stack is the same wherever it is made: only the message varies. */
function failure(message: string): Error {
  const err = new Error(message);
  err.stack = `Error: ${message}\n    at handler (/srv/app/routes.js:12:7)`;
  return err;
}

/** Everything stored and read back for an event whose msg and data hold `text`. */
function outputs(text: string, where: number): string {
  const keys = new MemoryKeys();
  const s = settings(keys);
  const input = {
    channel: 'app',
    event: 'test.password',
    actor: { id: 'u-1', email: 'someone@example.org' },
    msg: where === 0 ? text : 'failed',
    data: where === 0 ? { n: 1 } : where === 1 ? { note: text } : { err: failure(text) },
  };
  const p = prepareEvent(input, { ...LIMITS, classification: s });
  const plains = (p.pii ?? []).map((x) => x.plain);
  const record = store(input, s);
  const shown = revealed(record, keys);
  return [
    JSON.stringify(record),
    ...strings(record),
    ...plains,
    ...plains.flatMap((x) => strings(JSON.parse(x))),
    JSON.stringify(shown),
    ...strings(shown),
  ].join('\n');
}

/** The first WINDOW characters of the password found in `out`, but not in the text around it. */
function leaked(
  out: string,
  password: string,
  template: Template,
  where: number,
): string | undefined {
  // The same event with another password: what the record holds anyway (names, placeholders).
  const around = `${template.make('\n')}\n${outputs(template.make(FILLER), where)}`;
  for (let i = 0; i + WINDOW <= password.length; i++) {
    const piece = password.slice(i, i + WINDOW);
    // As given, or escaped once more (a leak inside JSON text).
    for (const form of [piece, jsonInner(piece)])
      if (!around.includes(form) && out.includes(form)) return piece;
  }
  return undefined;
}

function noLeak(templates: readonly Template[], passwords: fc.Arbitrary<string>): void {
  fc.assert(
    fc.property(
      fc.constantFrom(...templates),
      passwords,
      fc.nat(2),
      (template, password, where) => {
        const text = template.make(password);
        const piece = leaked(outputs(text, where), password, template, where);
        assert.equal(piece, undefined, `${template.name}: ${JSON.stringify(text)} kept ${piece}`);
      },
    ),
    { numRuns: RUNS },
  );
}

test('URL credentials: the password is removed whatever it holds (@, #, /, ?, :, quotes)', () => {
  noLeak(URL_TEMPLATES, passwordArb);
});

test('key=value pairs separated by &, ;, , or a space: the whole password is removed', () => {
  noLeak(PAIR_TEMPLATES, unquotedPasswordArb);
});

test('JSON inside a string: the whole password is removed, escaped quotes and spaces included', () => {
  noLeak(SPACED_TEMPLATES, spacedPasswordArb);
});

test('quoted values in free text: the whole password is removed, spaces included', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...QUOTED_TEMPLATES).chain((t) =>
        fc.tuple(
          fc.constant(t),
          spacedPasswordArb.filter((p) => !p.includes(t.quote)),
        ),
      ),
      ([template, password]) => {
        const piece = leaked(outputs(template.make(password), 0), password, template, 0);
        assert.equal(piece, undefined, `${template.name}: kept ${piece}`);
      },
    ),
    { numRuns: RUNS },
  );
});

test('Basic and Bearer credentials: removed whatever they hold', () => {
  noLeak(HEADER_TEMPLATES, passwordArb);
});

/** Write each text as an event's msg to a new log; its files, and what query reveals of it. */
async function writeAll(
  cases: ReadonlyArray<readonly [Template, string]>,
): Promise<{ files: Array<{ file: string; bytes: Buffer }>; shown: string }> {
  const t = newLog();
  const logs = await openLogs({ dir: t.dir, masterKey: t.masterKey, handleExit: false });
  try {
    for (const [i, [template, password]] of cases.entries())
      await logs.write({
        channel: 'app',
        event: 'test.password',
        actor: { id: `u-${i % 5}`, email: `p${i % 5}@example.org` },
        msg: template.make(password),
      });
    const r = await queryLogs(
      logs,
      { filter: { events: ['test.*'] }, limit: 1000 },
      { reveal: true },
    );
    assert.equal(r.records.length, cases.length);
    return {
      files: allFiles(t.dir),
      shown: JSON.stringify(r.records) + strings(r.records).join('\n'),
    };
  } finally {
    await logs.close();
  }
}

test('end to end: no piece of a password in any file, nor in what query reveals', async () => {
  const all = [...URL_TEMPLATES, ...PAIR_TEMPLATES, ...SPACED_TEMPLATES, ...HEADER_TEMPLATES];
  const cases = fc.sample(fc.tuple(fc.constantFrom(...all), unquotedPasswordArb), { numRuns: 300 });
  const written = await writeAll(cases);
  // The same events with another password: what the files hold anyway (SQLite's own words...).
  const baseline = await writeAll(cases.map(([template]) => [template, FILLER] as const));
  const usual = [...baseline.files.map((f) => f.bytes.toString('latin1')), baseline.shown];
  for (const [template, password] of cases) {
    const around = `${template.make('\n')}\n${usual.join('\n')}`;
    for (let i = 0; i + WINDOW <= password.length; i++) {
      const piece = password.slice(i, i + WINDOW);
      if (around.includes(piece)) continue;
      assert.ok(!written.shown.includes(piece), `${template.name}: query shows ${piece}`);
      for (const { file, bytes } of written.files)
        for (const form of [piece, jsonInner(piece)])
          assert.ok(!bytes.includes(form), `${template.name}: ${piece} in ${path.basename(file)}`);
    }
  }
});
