import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ERROR_CODES } from '../src/errors.js';
import { DAMAGE_KINDS, WARNING_KINDS } from '../src/integrity/damage.js';
import { REPO_ROOT } from './helpers.js';

const doc = (name: string): string => readFileSync(path.join(REPO_ROOT, 'docs', name), 'utf8');

test('docs/errors.md lists every error code with its exit status and HTTP status', () => {
  const text = doc('errors.md');
  for (const [code, spec] of Object.entries(ERROR_CODES)) {
    assert.match(
      text,
      new RegExp(`\\| *\`${code}\` *\\| *${spec.exit} *\\| *${spec.http} *\\|`),
      `${code} is documented`,
    );
  }
  const documented = [...text.matchAll(/^\| *`([A-Z_]+)` *\|/gm)].map((m) => m[1]);
  assert.deepEqual(documented.sort(), Object.keys(ERROR_CODES).sort(), 'and nothing else');
});

test('docs/integrity.md names every kind of damage and warning verify reports', () => {
  const text = doc('integrity.md');
  for (const kind of [...Object.keys(DAMAGE_KINDS), ...Object.keys(WARNING_KINDS)]) {
    assert.ok(text.includes(`\`${kind}\``), `${kind} is documented`);
  }
});
