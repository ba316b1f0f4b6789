import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers.js';

// The layer rules of src/ (.dependency-cruiser.cjs, docs/architecture.md), run as `npm run
// lint` runs them: on the tree, and on a planted tree that breaks each rule once.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = path.join(
  ROOT,
  'node_modules',
  'dependency-cruiser',
  'bin',
  'dependency-cruise.mjs',
);

interface Violation {
  readonly from: string;
  readonly to: string;
  readonly rule: { readonly name: string };
}

function cruise(cwd: string): Violation[] {
  const r = spawnSync(
    process.execPath,
    [DEPCRUISE, 'src', '--config', CONFIG, '--output-type', 'json', '--no-progress'],
    { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  assert.notEqual(r.stdout, '', r.stderr);
  const out = JSON.parse(r.stdout) as { summary: { violations: Violation[] } };
  return out.summary.violations;
}

test('the source tree keeps the layer rules: no upward import, no cycle, backends through their face', () => {
  const violations = cruise(ROOT);
  assert.deepEqual(
    violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`),
    [],
  );
});

test('each rule fails on a planted import that breaks it', () => {
  const dir = tempDir();
  const put = (file: string, text: string): void => {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  };
  put(
    'tsconfig.json',
    JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }),
  );
  put('src/service/app.ts', 'export const app = 1;\n');
  // A lower layer importing an upper one.
  put('src/event/record.ts', "import { app } from '../service/app.js';\nexport const r = app;\n");
  // A backend's inside reached past its face; the face itself is allowed.
  put('src/store/file/index.ts', "export { inner } from './inner.js';\n");
  put('src/store/file/inner.ts', 'export const inner = 1;\n');
  put(
    'src/query/read.ts',
    "import { inner } from '../store/file/inner.js';\nimport { inner as viaFace } from '../store/file/index.js';\nexport const x = inner + viaFace;\n",
  );
  // The store interface knowing a backend.
  put('src/store/store.ts', "import { inner } from './file/index.js';\nexport const s = inner;\n");
  // The search index reached past its face.
  put('src/search/index.ts', "export { db } from './db.js';\n");
  put('src/search/db.ts', 'export const db = 1;\n');
  put('src/gdpr/erase.ts', "import { db } from '../search/db.js';\nexport const e = db;\n");
  // A cycle inside one folder.
  put('src/util/a.ts', "import { b } from './b.js';\nexport const a = (): number => b();\n");
  put('src/util/b.ts', "import { a } from './a.js';\nexport const b = (): number => a();\n");

  const found = cruise(dir).map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
  assert.deepEqual(
    found.sort(),
    [
      'layer-event: src/event/record.ts → src/service/app.ts',
      'no-circular: src/util/a.ts → src/util/b.ts',
      'search-face: src/gdpr/erase.ts → src/search/db.ts',
      'store-file-face: src/query/read.ts → src/store/file/inner.ts',
      'store-interface-no-backend: src/store/store.ts → src/store/file/index.ts',
    ].sort(),
  );
});
