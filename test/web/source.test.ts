import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(path.join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [path.join(dir, e.name)]
        : [],
  );
}

test('the admin page never parses markup: record content is always set as text', () => {
  const files = sources(path.resolve('web', 'src'));
  assert.ok(files.length >= 5, files.join(' '));
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    for (const sink of [
      /\.innerHTML\b/,
      /\.outerHTML\b/,
      /insertAdjacentHTML/,
      /document\.write/,
      /\beval\(/,
      /new Function/,
      /DOMParser/,
      /createContextualFragment/,
      /setAttribute\(\s*['"]style/,
      /localStorage\.setItem\(\s*['"][^'"]*(token|csrf)/i,
    ])
      assert.doesNotMatch(text, sink, `${path.basename(f)}: ${String(sink)}`);
  }
  const html = readFileSync(path.resolve('web', 'index.html'), 'utf8');
  assert.doesNotMatch(
    html,
    /<script>|<script [^>]*>[^<]|\sstyle=|\son\w+=/i,
    'no inline script or style',
  );
});
