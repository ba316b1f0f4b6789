// Bundle the admin page (web/) into dist/web/: index.html and assets/ (one script, one style
// sheet). Everything is bundled: the serving machine may have no internet.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'web');
rmSync(out, { recursive: true, force: true });
mkdirSync(path.join(out, 'assets'), { recursive: true });
await build({
  entryPoints: [path.join(root, 'web/src/main.ts'), path.join(root, 'web/src/style.css')],
  outdir: path.join(out, 'assets'),
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  legalComments: 'linked',
  logLevel: 'warning',
});
copyFileSync(path.join(root, 'web/index.html'), path.join(out, 'index.html'));
