import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { REPO_ROOT } from '../helpers.js';

// The Node versions we claim (package.json `engines`) are versions every installed package
// supports (issue 19: cookie@2 and content-disposition@3 wanted Node 22 and `npm ci` printed 85
// EBADENGINE lines), and what the docs tell a user and what CI runs agree with the claim.

interface Lock {
  packages: Record<string, { version?: string; dev?: boolean; engines?: { node?: string } }>;
}
const read = (file: string): string => readFileSync(path.join(REPO_ROOT, file), 'utf8');
const PKG = JSON.parse(read('package.json')) as { engines: { node: string } };
const CLAIM = PKG.engines.node;

test('every package npm ci installs (runtime and dev) supports the Node versions we claim', () => {
  const lock = JSON.parse(read('package-lock.json')) as Lock;
  const refused: string[] = [];
  let checked = 0;
  for (const [where, entry] of Object.entries(lock.packages)) {
    const wants = entry.engines?.node;
    if (where === '' || wants === undefined) continue;
    checked++;
    if (!semver.subset(CLAIM, wants, { includePrerelease: false }))
      refused.push(`${where.replace(/^.*node_modules\//, '')}@${entry.version} wants ${wants}`);
  }
  assert.ok(checked > 100, `only ${checked} packages declare engines: is the lock file read?`);
  assert.deepEqual(refused, [], `packages that refuse Node ${CLAIM}`);
});

test('the Node we run on is one we claim, and the docs state the same minimum', () => {
  assert.ok(
    semver.satisfies(process.versions.node, CLAIM),
    `tests run on Node ${process.versions.node}, outside the claimed ${CLAIM}`,
  );
  const minimum = semver.minVersion(CLAIM);
  assert.ok(minimum !== null);
  const stated = `Node ${minimum.major}.${minimum.minor}`;
  for (const doc of ['README.md', 'docs/install.md'])
    assert.ok(read(doc).includes(stated), `${doc} does not say "${stated}"`);
});
