import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../helpers.js';
import type { TestService } from '../service/helpers.js';

/** Where the recipes say the service is, and the token they name: the tests put theirs there. */
export const DOC_URL = 'http://127.0.0.1:8080';
export const DOC_TOKEN = 'DIHYA_LOGS_TOKEN';

/**
 * The first fenced block of `lang` under the `## heading` section of docs/shippers.md: the
 * recipe as users copy it, so that what is tested is what is written.
 */
export function recipe(heading: string, lang: string): string {
  const text = readFileSync(path.join(REPO_ROOT, 'docs', 'shippers.md'), 'utf8');
  const start = text.indexOf(`\n## ${heading}\n`);
  if (start === -1) throw new Error(`docs/shippers.md has no section "## ${heading}"`);
  const next = text.indexOf('\n## ', start + 1);
  const section = text.slice(start, next === -1 ? undefined : next);
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(section);
  if (m === null) throw new Error(`docs/shippers.md, "## ${heading}": no \`\`\`${lang} block`);
  return m[1] as string;
}

/** `key = value` or `Key value` lines of a recipe, as a map (first occurrence wins). */
export function settings(block: string, separator: RegExp): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of block.split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#') || t.startsWith('[')) continue;
    const m = separator.exec(t);
    if (m === null || m.index === 0) continue;
    const key = t.slice(0, m.index);
    if (!out.has(key)) out.set(key, t.slice(m.index + m[0].length));
  }
  return out;
}

export type Rec = Record<string, unknown> & { data?: Record<string, unknown> };

/** The shipped records of the app channel, oldest first, once there are at least `n`. */
export async function shipped(s: TestService, n: number, timeoutMs = 10_000): Promise<Rec[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await s.app.inject({
      url: '/v1/events?channel=app&event=shipped.log&order=asc&limit=1000',
      headers: s.auth('auditor'),
    });
    const records = res.json<{ records: Rec[] }>().records;
    if (records.length >= n || Date.now() > until) return records;
    await new Promise((r) => setTimeout(r, 100));
  }
}
