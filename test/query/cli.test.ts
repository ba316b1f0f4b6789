import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/context.js';
import { MASTER_KEY_ENV } from '../../src/crypto/masterkey.js';
import { cli, cliSpawn } from '../cli/run.js';
import { newLog, type TestLog } from '../helpers.js';
import { PERSONAL, seededLog } from '../search/helpers.js';
import { pseudonymOf } from './helpers.js';

/** Run the CLI in this process, as on a terminal or not; returns exit code and both streams. */
async function run(
  t: TestLog,
  args: string[],
  options: { tty?: boolean; key?: boolean } = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = {
    out: (s) => (out += s),
    err: (s) => (err += s),
    isTTY: options.tty ?? false,
    stdin: process.stdin,
  };
  const saved = process.env.DIHYA_LOGS_MASTER_KEY;
  if (options.key === false) delete process.env.DIHYA_LOGS_MASTER_KEY;
  else process.env.DIHYA_LOGS_MASTER_KEY = t.masterKey.toString('base64');
  try {
    const code = await main(['--dir', t.dir, ...args], io);
    return { code, out, err };
  } finally {
    if (saved === undefined) delete process.env.DIHYA_LOGS_MASTER_KEY;
    else process.env.DIHYA_LOGS_MASTER_KEY = saved;
  }
}

/** A log with hostile message text: formulas, escape codes, bidi overrides. */
async function hostileLog(): Promise<TestLog> {
  const t = newLog();
  const logs = await t.open();
  logs.app.info({ event: 'note.added' }, '=HYPERLINK("http://evil.example","click")');
  logs.app.info({ event: 'note.added' }, '+1+2');
  logs.app.info({ event: 'note.added' }, '-2+3');
  logs.app.info({ event: 'note.added' }, '@SUM(A1)');
  logs.app.info({ event: 'note.added' }, 'red \u001b[31mALERT\u001b[0m and \u202egnp.exe');
  await logs.close();
  return t;
}

test('query: the formats hold the same records; json and yaml carry the next cursor, the others print it on stderr', async () => {
  const t = await seededLog();
  const json = await run(t, ['query', '--channel', 'app', '--limit', '4', '--format', 'json']);
  assert.equal(json.code, 0, json.err);
  const doc = JSON.parse(json.out) as { records: Array<{ seq: number }>; next: string | null };
  assert.deepEqual(
    doc.records.map((r) => r.seq),
    [260, 259, 258, 257],
  );
  assert.equal(typeof doc.next, 'string');
  assert.equal(json.err, '');

  const yaml = await run(t, ['query', '--channel', 'app', '--limit', '4', '--format', 'yaml']);
  assert.deepEqual(parseYaml(yaml.out), doc);

  const nd = await run(t, ['query', '--channel', 'app', '--limit', '4', '--format', 'ndjson']);
  assert.deepEqual(
    nd.out
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { seq: number }).seq),
    [260, 259, 258, 257],
  );
  assert.equal(nd.err, `more: --cursor ${String(doc.next)}\n`);
  const page2 = await run(t, [
    'query',
    '--cursor',
    String(doc.next),
    '--limit',
    '2',
    '--channel',
    'app',
  ]);
  assert.deepEqual(
    page2.out
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { seq: number }).seq),
    [256, 255],
  );

  const table = await run(t, ['query', '--channel', 'app', '--limit', '2'], { tty: true });
  const lines = table.out.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^TS\s+RECORD\s+LEVEL\s+EVENT\s+OUTCOME\s+ACTOR\s+MSG$/);
  assert.match(
    lines[1] ?? '',
    /app#260\s+INFO\s+access\.denied\s+success\s+user:u-0\s+generated project number 259/,
  );
  assert.equal(lines.length, 3);

  const bad = await run(t, ['query', '--format', 'xml']);
  assert.equal(bad.code, 2);
  assert.match(
    bad.err,
    /^dihya-logs: USAGE: --format: expected one of table, json, ndjson, yaml, csv\n$/,
  );
});

test('query: personal values come back with the master key only; a person is found by real id', async () => {
  const t = await seededLog();
  const withKey = await run(t, ['query', '--subject', PERSONAL[1], '--format', 'json']);
  assert.equal(withKey.code, 0, withKey.err);
  const shown = JSON.parse(withKey.out) as { records: Array<Record<string, unknown>> };
  assert.equal(shown.records.length, 3);
  for (const r of shown.records) {
    assert.equal(r.subject, PERSONAL[1]);
    assert.equal(r.msg, `export for ${PERSONAL[1]}, phone ${PERSONAL[4]}`);
  }

  const stored = await run(t, ['query', '--subject', PERSONAL[1], '--format', 'json', '--stored']);
  assert.equal(stored.code, 0, stored.err);
  for (const p of PERSONAL) assert.equal(stored.out.includes(p), false, `${p} stays encrypted`);
  assert.match(stored.out, /"msg": "export for \[email#1\], phone \[phone#1\]"/);

  // Without the key: by pseudonym works and shows the stored form; by real id cannot.
  const pseudonym = pseudonymOf(t, PERSONAL[1]);
  const noKey = await run(t, ['query', '--subject', pseudonym, '--format', 'ndjson'], {
    key: false,
  });
  assert.equal(noKey.code, 0, noKey.err);
  assert.equal(noKey.out.trim().split('\n').length, 3);
  for (const p of PERSONAL) assert.equal(noKey.out.includes(p), false);
  assert.match(noKey.err, /personal values stay encrypted: no master key/);
  const byId = await run(t, ['query', '--subject', PERSONAL[1]], { key: false });
  assert.equal(byId.code, 2);
  assert.match(byId.err, /MASTER_KEY_MISSING: finding a person by id needs the master key/);
  assert.equal(byId.err.includes(PERSONAL[1]), false, 'the id is not echoed');

  const unknown = await run(t, ['query', '--actor', 'nobody@example.org']);
  assert.equal(unknown.code, 0);
  assert.equal(unknown.out, '');
  assert.match(unknown.err, /unknown to the keystore/);
});

test('query: CSV neutralises formulas and escapes controls; a terminal gets no control character from record content', async () => {
  const t = await hostileLog();
  const csv = await run(t, ['query', '--format', 'csv', '--order', 'asc']);
  assert.equal(csv.code, 0, csv.err);
  const rows = csv.out.split('\r\n');
  assert.match(rows[0] ?? '', /^"ts","channel","seq","level","event",/);
  const cells = (row: string): string[] => {
    const out: string[] = [];
    for (let i = 0; i < row.length;) {
      let value = '';
      for (let j = i + 1; ;) {
        const q = row.indexOf('"', j);
        if (row[q + 1] === '"') {
          value += `${row.slice(j, q)}"`;
          j = q + 2;
        } else {
          value += row.slice(j, q);
          i = q + 2; // past the closing quote and the comma
          break;
        }
      }
      out.push(value);
    }
    return out;
  };
  assert.deepEqual(
    rows.slice(1, 6).map((r) => cells(r)[10]),
    [
      `'=HYPERLINK("http://evil.example","click")`,
      "'+1+2",
      "'-2+3",
      "'@SUM(A1)",
      // CSV is read in terminals too: controls and bidi overrides shown, piped or not.
      'red \\u001b[31mALERT\\u001b[0m and \\u202egnp.exe',
    ],
  );
  assert.equal(rows.length, 7); // header, five records, and the empty string after the last CRLF

  for (const format of ['table', 'json', 'yaml', 'ndjson', 'csv']) {
    const r = await run(t, ['query', '--format', format], { tty: true });
    assert.equal(r.code, 0, r.err);
    // eslint-disable-next-line no-control-regex
    assert.equal(/[\u001b\u202e]/.test(r.out), false, `${format}: escaped on a terminal`);
    // YAML writes the escape character as \e, the others as \u001b.
    assert.match(r.out, /\\(?:u001b|e)\[31mALERT/, `${format}: shown, as text`);
    assert.match(r.out, /\\u202egnp/, `${format}: the bidi override shown, as text`);
  }
});

test('query: a record changed on disk is shown with its damage and the exit code is 1', async () => {
  const t = await seededLog();
  const first = cli(t.root, ['--dir', t.dir, 'query', '--channel', 'audit', '--limit', '1'], {
    [MASTER_KEY_ENV]: t.masterKey.toString('base64'),
  });
  assert.equal(first.code, 0, first.stderr);
  const { readFileSync, writeFileSync } = await import('node:fs');
  const file = `${t.dir}/audit.log`;
  writeFileSync(file, readFileSync(file, 'utf8').replace('"seq":6,', '"seq":6 ,'));
  const r = cli(t.root, ['--dir', t.dir, 'query', '--channel', 'audit', '--limit', '1']);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^DAMAGE audit #6 \(audit\.log\) fails its chain hash: it was changed after it was written; run dihya-logs verify$/m,
  );
});

test('tail: the query filters apply to the last records and to the followed ones', async () => {
  const t = await seededLog();
  const env = { [MASTER_KEY_ENV]: t.masterKey.toString('base64') };
  const last = cli(
    t.root,
    [
      '--dir',
      t.dir,
      'tail',
      '-n',
      '3',
      '--event',
      'access.*',
      '--actor',
      'u-3',
      '--format',
      'ndjson',
    ],
    env,
  );
  assert.equal(last.code, 0, last.stderr);
  const recs = last.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { seq: number; event: string });
  assert.deepEqual(
    recs.map((r) => [r.seq, r.event]),
    // actor u-(i % 7), event access.denied when i % 4 = 3, seq i + 1: i = 199, 227, 255.
    [
      [200, 'access.denied'],
      [228, 'access.denied'],
      [256, 'access.denied'],
    ],
  );

  // A first matching record: once the follower prints it, it is following (its file
  // followers start before it looks up the last records).
  const before = await t.open();
  before.app.error({ event: 'disk.slow' }, 'the disk is slow');
  await before.close();
  const child = cliSpawn(
    t.root,
    [
      '--dir',
      t.dir,
      'tail',
      '-f',
      '-n',
      '1',
      '--interval',
      '50',
      '--level',
      'ERROR',
      '--text',
      'disk',
    ],
    env,
  );
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  try {
    for (let i = 0; i < 200 && !out.includes('disk is slow'); i++)
      await new Promise((r) => setTimeout(r, 50));
    const logs = await t.open();
    logs.app.error({ event: 'disk.full' }, 'the disk is full');
    logs.app.info({ event: 'disk.ok' }, 'the disk is fine'); // below ERROR
    logs.app.error({ event: 'db.down' }, 'the database is down'); // no "disk"
    await logs.audit({ event: 'disk.audit', msg: 'disk checked' }); // AUDIT ranks above ERROR
    await logs.close();
    // Both new records (app's is buffered: it may reach its file after audit's), then a few
    // more polls, so that a record the filter should have dropped would have shown up.
    for (let i = 0; i < 100 && !(out.includes('disk checked') && out.includes('disk is full')); i++)
      await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 4; i++) await new Promise((r) => setTimeout(r, 50));
    const got = out
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { event: string }).event);
    assert.deepEqual(got.sort(), ['disk.audit', 'disk.full', 'disk.slow']);
  } finally {
    child.kill('SIGTERM');
  }
});
