import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/context.js';
import { readLines } from '../helpers.js';
import { cli, initialized } from './run.js';

// Record content is attacker-controlled. Every character here must reach a terminal escaped:
// CSI and OSC sequences (clear the screen, set the title), BEL, BS, CR, 8-bit CSI, NEL, DEL,
// bidi overrides and isolates, the Arabic letter mark, RLM, and the line/paragraph separators.
const H =
  'a\u001b[2Jb\u001b]0;pwned\u0007c\u0008d\re\u009b2Jf\u0085g\u007fh\u202ei\u2066j\u2028k\u2029l\u061cm\u200fn';

// What must not be in human output raw: any of the above (the newline is layout).
/* eslint-disable no-control-regex -- matching control characters is the point */
const RAW =
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
// What JSON.stringify never writes raw, so piped JSON never holds either.
const RAW_C0 = /[\u0000-\u0009\u000b-\u001f]/u;
// The colours of `tail` on a terminal: the only escape sequences it writes.
const COLOURS = /\u001b\[(?:90|36|33|31|1;31|35|1;35|0)m/gu;
/* eslint-enable no-control-regex */

const { cwd, env } = initialized(true);
const dir = path.join(cwd, 'logs');
{
  const lines = [
    {
      event: 'note.added',
      msg: H,
      actor: { id: `u${H}`, type: 'user' },
      target: { id: `t${H}` },
      data: { [`k${H}`]: H, list: [H], nul: 'x\u0000y' },
    },
    {
      channel: 'audit',
      level: 'AUDIT',
      event: 'note.added',
      outcome: 'success',
      msg: `=cmd|' /C calc'!A0 ${H}`,
      actor: { id: `v${H}` },
    },
  ];
  const w = cli(cwd, ['write', '--stdin'], env, lines.map((l) => JSON.stringify(l)).join('\n'));
  assert.equal(w.code, 0, w.stderr);
}

/** Run the CLI in this process as on a terminal (stdout a TTY). */
async function onTerminal(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = {
    out: (s) => (out += s),
    err: (s) => (err += s),
    isTTY: true,
    stdin: process.stdin,
  };
  const saved = process.env.DIHYA_LOGS_MASTER_KEY;
  process.env.DIHYA_LOGS_MASTER_KEY = env.DIHYA_LOGS_MASTER_KEY;
  try {
    const code = await main(['--dir', dir, ...args], io);
    return { code, out, err };
  } finally {
    if (saved === undefined) delete process.env.DIHYA_LOGS_MASTER_KEY;
    else process.env.DIHYA_LOGS_MASTER_KEY = saved;
  }
}

/** Where a raw character is, for the failure message. */
function where(text: string, re: RegExp): string {
  const i = text.search(re);
  return i < 0
    ? ''
    : `U+${text.charCodeAt(i).toString(16).padStart(4, '0')} at ${i}: ${JSON.stringify(text.slice(Math.max(0, i - 30), i + 10))}`;
}

function assertInert(text: string, what: string, re = RAW): void {
  assert.equal(re.test(text), false, `${what}: raw ${where(text, re)}`);
}

const stored = (): Array<Record<string, unknown>> =>
  ['app', 'audit'].flatMap((c) =>
    readLines(path.join(dir, `${c}.log`)).map((l) => JSON.parse(l) as Record<string, unknown>),
  );

// Piped (not a terminal): the forms for people and CSV are escaped all the same; JSON is exact.
const PIPED: ReadonlyArray<readonly [string, string[]]> = [
  ['query table', ['query', '--format', 'table']],
  ['query yaml', ['query', '--format', 'yaml']],
  ['query csv', ['query', '--format', 'csv']],
  ['query csv --stored', ['query', '--format', 'csv', '--stored']],
  ['tail pretty', ['tail', '--format', 'pretty']],
  ['tail pretty, filtered (from the index)', ['tail', '--event', 'note.*', '--format', 'pretty']],
  ['tail pretty --stored', ['tail', '--format', 'pretty', '--stored']],
  ['verify', ['verify']],
  ['proof --with-record', ['proof', '--channel', 'audit', '--seq', '1', '--with-record']],
  ['requests', ['requests']],
];

for (const [what, args] of PIPED)
  test(`hostile record content, piped: ${what} writes no raw control, bidi or separator`, () => {
    const r = cli(cwd, args, env);
    assert.equal(r.code, 0, r.stderr);
    assert.notEqual(r.stdout, '');
    // CSV's own line ends are CRLF; every other CR or LF would be a record's.
    assertInert(args.includes('csv') ? r.stdout.replace(/\r\n/g, '\n') : r.stdout, what);
    assertInert(r.stderr, `${what} (stderr)`);
  });

test('hostile record content shows as visible escapes in the table, pretty and CSV forms', () => {
  for (const args of [
    ['query', '--format', 'table'],
    ['query', '--format', 'csv'],
    ['tail', '--format', 'pretty'],
  ]) {
    const out = cli(cwd, args, env).stdout;
    assert.ok(out.includes('\\u001b[2Jb\\u001b]0;pwned\\u0007c'), `${args.join(' ')}: ESC shown`);
    assert.ok(out.includes('h\\u202ei\\u2066j\\u2028k\\u2029l\\u061cm\\u200fn'), args.join(' '));
  }
});

test('query YAML, piped: inert and read back as the same records as JSON', () => {
  const yaml = cli(cwd, ['query', '--format', 'yaml'], env);
  const json = cli(cwd, ['query', '--format', 'json'], env);
  assert.equal(yaml.code, 0, yaml.stderr);
  assertInert(yaml.stdout, 'yaml');
  assert.deepEqual(parseYaml(yaml.stdout), JSON.parse(json.stdout));
  assert.equal(
    (JSON.parse(json.stdout) as { records: Array<{ msg: string }> }).records[0]?.msg.includes(H),
    true,
  );
});

test('query CSV: a formula is made text after escaping; controls and breaks in a cell are visible', () => {
  const csv = cli(cwd, ['query', '--format', 'csv', '--channel', 'audit'], env).stdout;
  const rows = csv.split('\r\n');
  assert.equal(rows.length, 3, 'header, one record, the end: a record is one line');
  assert.ok(rows[1]?.includes(`"'=cmd|' /C calc'!A0 a\\u001b[2Jb`), rows[1]);
  assert.ok(rows[1]?.includes('c\\u0008d\\re'), 'CR shown as \\r');
});

test('JSON and NDJSON piped are exact: the records as written, C0 escaped by JSON', () => {
  const ndjson = cli(cwd, ['query', '--format', 'ndjson', '--order', 'asc', '--stored'], env);
  assert.equal(ndjson.code, 0, ndjson.stderr);
  assertInert(ndjson.stdout, 'query ndjson', RAW_C0);
  const lines = ndjson.stdout
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    lines.map((l) => l.msg).sort(),
    stored()
      .map((l) => l.msg)
      .sort(),
  );
  const tail = cli(cwd, ['tail', '--format', 'ndjson', '--channel', 'app', '--stored'], env);
  assert.equal(
    tail.stdout,
    readFileSync(path.join(dir, 'app.log'), 'utf8'),
    'the stored lines, byte for byte',
  );
});

// On a terminal nothing is raw, JSON included (its \uXXXX form is the same value).
const TERMINAL: ReadonlyArray<readonly [string, string[]]> = [
  ['query table', ['query']],
  ['query json', ['query', '--format', 'json']],
  ['query ndjson', ['query', '--format', 'ndjson']],
  ['query yaml', ['query', '--format', 'yaml']],
  ['query csv', ['query', '--format', 'csv']],
  ['tail ndjson', ['tail', '--format', 'ndjson']],
  ['tail ndjson --stored', ['tail', '--format', 'ndjson', '--stored']],
  ['verify --json', ['verify', '--json']],
  ['requests --json', ['requests', '--json']],
];

for (const [what, args] of TERMINAL)
  test(`hostile record content, on a terminal: ${what} writes no raw control, bidi or separator`, async () => {
    const r = await onTerminal(args);
    assert.equal(r.code, 0, r.err);
    assert.notEqual(r.out, '');
    assertInert(args.includes('csv') ? r.out.replace(/\r\n/g, '\n') : r.out, what);
    assertInert(r.err, `${what} (stderr)`);
    // JSON stays JSON: its escapes are JSON's.
    if (args.includes('ndjson')) for (const line of r.out.trimEnd().split('\n')) JSON.parse(line);
    else if (args.includes('json') || args.includes('--json')) JSON.parse(r.out);
  });

test('tail ndjson on a terminal: each line escaped, still the stored record', async () => {
  const r = await onTerminal(['tail', '--format', 'ndjson', '--stored', '--channel', 'app']);
  const shown = r.out
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as unknown);
  assert.deepEqual(
    shown,
    readLines(path.join(dir, 'app.log')).map((l) => JSON.parse(l) as unknown),
  );
});

test('tail pretty on a terminal: the only escape sequences are its own colours', async () => {
  const r = await onTerminal(['tail']);
  assert.equal(r.code, 0, r.err);
  assert.ok(r.out.replace(COLOURS, '') !== r.out, 'coloured');
  assertInert(r.out.replace(COLOURS, ''), 'tail pretty');
});

test('an error quoting hostile input is inert on stderr', () => {
  const r = cli(cwd, ['write', '--stdin'], env, JSON.stringify({ level: `X${H}`, msg: 'x' }));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /line 1: EVENT_LEVEL_UNKNOWN/);
  assertInert(r.stderr, 'write --stdin error');
});

test('export of a person with hostile values: the report and records.csv are inert', () => {
  const r = cli(cwd, ['export', '--subject', `u${H}`, '--format', 'csv', '--reason', `r${H}`], env);
  assert.equal(r.code, 0, r.stderr);
  assertInert(r.stdout, 'export report');
  assertInert(r.stderr, 'export (stderr)');
  const exports = path.join(dir, 'export');
  const [id, ...more] = readdirSync(exports);
  assert.ok(id !== undefined && more.length === 0, 'one export');
  const csv = readFileSync(path.join(exports, id, 'records.csv'), 'utf8');
  assertInert(csv.replace(/\r\n/g, '\n'), 'export records.csv');
  assert.ok(csv.includes('a\\u001b[2Jb'));
  const requests = cli(cwd, ['requests'], env);
  assertInert(requests.stdout, 'requests');
  assert.ok(requests.stdout.includes('\\u202e'), requests.stdout);
});
