import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classificationCheck } from '../../src/doctor/classification.js';
import { secretCases } from '../../src/doctor/secrets.js';
import type { DoctorContext } from '../../src/doctor/types.js';
import { resolveConfig } from '../../src/config/resolve.js';

// The self-test only reads the configuration: no deployment needed.
const ctx = { config: resolveConfig({}, process.cwd()) } as unknown as DoctorContext;

test('the self-test feeds passwords with #, @, /, ?, &, `,`, `;` and quotes in URLs, pairs, JSON text and a Bearer header', () => {
  const cases = secretCases();
  const where = (kind: string): string[] =>
    (cases.find((c) => c.kind === kind)?.secrets ?? [])
      .filter((s) => s.text !== s.value)
      .map((s) => s.value);
  for (const [kind, least] of [
    ['password', 4],
    ['url_credentials', 3],
    ['authorization_header', 2],
  ] as const) {
    const values = where(kind);
    assert.ok(values.length >= least, kind);
    for (const c of '#@/?&,;"\'')
      assert.ok(
        values.slice(kind === 'password' ? 0 : 1).every((v) => v.includes(c)),
        `${kind}: ${c}`,
      );
  }
});

test('the self-test passes on the built-in rules, fresh passwords every run', async () => {
  for (let i = 0; i < 25; i++) {
    const r = await classificationCheck.run(ctx);
    assert.equal(r.status, 'ok', JSON.stringify(r.findings));
    assert.match(r.summary, /URL password\): all removed$/);
  }
});

test('a rule that keeps part of a URL password lets it out, and the self-test says so', async () => {
  const config = resolveConfig(
    {
      classification: {
        patterns: [{ name: 'host', pattern: '(?<=:)[^\\s:]{1,200}(?=@)', mode: 'keep' }],
      },
    },
    process.cwd(),
  );
  const r = await classificationCheck.run({ ...ctx, config });
  assert.equal(r.status, 'fail');
  assert.ok(
    r.findings.some((f) => f.what.startsWith('url_credentials: the secret came out in clear')),
    JSON.stringify(r.findings),
  );
});
