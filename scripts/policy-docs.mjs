// Write docs/policy.md: the log policy of the default configuration (`npm run docs:policy`,
// which compiles dist/ first). test/policy/docs.test.ts fails when the file is stale.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultPolicyMarkdown } from '../dist/policy/docs.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const file = path.join(root, 'docs', 'policy.md');
writeFileSync(file, defaultPolicyMarkdown());
console.log(`wrote ${path.relative(process.cwd(), file) || file}`);
