import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  mkdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { runDoctor } from '../../src/doctor/index.js';
import { main } from '../../src/cli/main.js';
import { loadConfig } from '../../src/config/load.js';
import { LogLayout } from '../../src/store/file/layout.js';
import { readMeta } from '../../src/store/file/meta.js';
import { LogsError } from '../../src/errors.js';
import { tempDir } from '../helpers.js';
import { cli, type CliResult } from '../cli/run.js';

const DAY = 86_400_000;
const CHECK_IDS = [
  'permissions',
  'master_key',
  'verify',
  'checkpoints',
  'retention',
  'classification',
  'tokens',
  'service',
];

interface Finding {
  what: string;
  fix: string;
}
interface JsonCheck {
  id: string;
  status: 'ok' | 'warn' | 'fail';
  summary: string;
  findings: Finding[];
}
interface JsonReport {
  ok: boolean;
  checks: JsonCheck[];
}

/** A fresh `init` in a temporary directory. */
function deployment(): { cwd: string; logs: string; config: string; key: string } {
  const cwd = tempDir();
  const r = cli(cwd, ['init']);
  assert.equal(r.code, 0, r.stderr);
  return {
    cwd,
    logs: path.join(cwd, 'logs'),
    config: path.join(cwd, 'dihya-logs.yaml'),
    key: path.join(cwd, 'dihya-logs.key'),
  };
}

/** Change the configuration init wrote (comments are lost; the keys stay). */
function configure(file: string, change: (c: Record<string, Record<string, unknown>>) => void) {
  const c = parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>;
  change(c);
  writeFileSync(file, stringify(c), { mode: 0o600 });
}

function doctorJson(
  cwd: string,
  args: string[] = [],
  env: Record<string, string> = {},
): { code: number | null; report: JsonReport; stderr: string } {
  const r = cli(cwd, ['doctor', '--json', ...args], env);
  assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.stderr}`);
  return { code: r.code, report: JSON.parse(r.stdout) as JsonReport, stderr: r.stderr };
}

function check(report: JsonReport, id: string): JsonCheck {
  const c = report.checks.find((x) => x.id === id);
  assert.ok(c !== undefined, `check ${id} is in the report`);
  return c;
}

/** The check failed, with a finding whose text matches `what` (and whose fix matches `fix`). */
function assertFails(report: JsonReport, id: string, what: RegExp, fix?: RegExp): Finding {
  const c = check(report, id);
  assert.equal(c.status, 'fail', `${id}: ${JSON.stringify(c)}`);
  const f = c.findings.find((x) => what.test(x.what));
  assert.ok(f !== undefined, `${id} has a finding matching ${what}: ${JSON.stringify(c.findings)}`);
  if (fix !== undefined) assert.match(f.fix, fix);
  assert.equal(report.ok, false);
  return f;
}

function human(cwd: string, args: string[] = [], env: Record<string, string> = {}): CliResult {
  return cli(cwd, ['doctor', ...args], env);
}

function write(cwd: string, args: string[]): void {
  const r = cli(cwd, ['write', ...args]);
  assert.equal(r.code, 0, r.stderr);
}

test('a fresh init passes every check (exit 0), in JSON and for a person', () => {
  const d = deployment();
  const { code, report } = doctorJson(d.cwd);
  assert.equal(code, 0);
  assert.equal(report.ok, true);
  assert.deepEqual(
    report.checks.map((c) => c.id),
    CHECK_IDS,
  );
  for (const c of report.checks) {
    assert.equal(c.status, 'ok', `${c.id}: ${JSON.stringify(c)}`);
    assert.deepEqual(c.findings, []);
    assert.deepEqual(Object.keys(c).sort(), ['findings', 'id', 'status', 'summary']);
  }
  const h = human(d.cwd);
  assert.equal(h.code, 0, h.stderr);
  // Not a terminal: words, not symbols; one line per check and the summary.
  const lines = h.stdout.trimEnd().split('\n');
  assert.equal(lines.length, CHECK_IDS.length + 1);
  for (const [i, id] of CHECK_IDS.entries()) assert.match(lines[i]!, new RegExp(`^OK +${id} `));
  assert.equal(lines.at(-1), '8 checks: 8 ok');
});

test('after events and a restart of the writer, still all ok', () => {
  const d = deployment();
  write(d.cwd, ['--level', 'AUDIT', '--event', 'auth.login.success', '--actor', 'u-1']);
  write(d.cwd, ['--event', 'app.started', '--msg', 'started']);
  const { code, report } = doctorJson(d.cwd);
  assert.equal(code, 0, JSON.stringify(report, null, 2));
  assert.ok(report.checks.every((c) => c.status === 'ok'));
  assert.match(check(report, 'checkpoints').summary, /2 channel\(s\) with records: 2 signed/);
});

test('permissions: a log file 0644, a directory 0755 and a link fail, each with its fix', () => {
  const d = deployment();
  chmodSync(path.join(d.logs, 'app.log'), 0o644);
  chmodSync(path.join(d.logs, 'archive'), 0o755);
  symlinkSync('/etc/hostname', path.join(d.logs, 'export', 'planted'));
  const { code, report } = doctorJson(d.cwd, ['--check', 'permissions']);
  assert.equal(code, 1);
  assertFails(report, 'permissions', /^app\.log is mode 0644/, /^chmod 600 .*logs\/app\.log$/);
  assertFails(report, 'permissions', /^archive is mode 0755/, /^chmod 700 .*logs\/archive$/);
  assertFails(report, 'permissions', /^export\/planted is a symbolic link/, /rm .*planted/);
  const h = human(d.cwd, ['--check', 'permissions']);
  assert.equal(h.code, 1);
  assert.match(h.stdout, /^FAIL permissions/m);
  assert.match(h.stdout, /fix: chmod 600 \S+app\.log/);
  assert.match(h.stdout, /^1 check: 0 ok, 1 failed$/m);
});

test('permissions: a configuration file writable by others fails', () => {
  const d = deployment();
  chmodSync(d.config, 0o666);
  const { report } = doctorJson(d.cwd, ['--check', 'permissions']);
  assertFails(report, 'permissions', /configuration file .* writable by others/, /^chmod go-w /);
});

test('master_key: a key file inside the logs directory fails, even through a link', () => {
  const d = deployment();
  const inside = path.join(d.logs, 'master.key');
  renameSync(d.key, inside);
  configure(d.config, (c) => {
    c.master_key_file = './logs/master.key' as never;
  });
  const { code, report } = doctorJson(d.cwd, ['--check', 'master_key']);
  assert.equal(code, 1);
  assertFails(report, 'master_key', /inside the logs directory/, /mv .*master\.key/);

  // The same file named through a directory link outside the logs: realpath sees through it.
  symlinkSync(d.logs, path.join(d.cwd, 'elsewhere'));
  configure(d.config, (c) => {
    c.master_key_file = './elsewhere/master.key' as never;
  });
  const linked = doctorJson(d.cwd, ['--check', 'master_key']).report;
  assertFails(linked, 'master_key', /really .*logs\/master\.key\) is inside the logs directory/);
});

test('master_key: a key file readable by others fails with the chmod to run', () => {
  const d = deployment();
  chmodSync(d.key, 0o644);
  const { code, report } = doctorJson(d.cwd, ['--check', 'master_key']);
  assert.equal(code, 1);
  assertFails(report, 'master_key', /mode 0644/, /^chmod 600 .*dihya-logs\.key$/);
  assert.match(human(d.cwd, ['--check', 'master_key']).stdout, /fix: chmod 600 /);
});

test('master_key: from the environment is ok (and said so); a wrong key fails', () => {
  const d = deployment();
  const key = readFileSync(d.key, 'utf8').trim();
  configure(d.config, (c) => {
    delete c.master_key_file;
  });
  const env = doctorJson(d.cwd, ['--check', 'master_key'], { DIHYA_LOGS_MASTER_KEY: key }).report;
  assert.equal(check(env, 'master_key').status, 'ok');
  assert.match(check(env, 'master_key').summary, /environment \(DIHYA_LOGS_MASTER_KEY\)/);

  const other = Buffer.alloc(32, 7).toString('base64');
  const wrong = doctorJson(d.cwd, ['--check', 'master_key'], {
    DIHYA_LOGS_MASTER_KEY: other,
  }).report;
  assertFails(wrong, 'master_key', /MASTER_KEY_WRONG/);

  const none = doctorJson(d.cwd, ['--check', 'master_key']).report;
  assertFails(none, 'master_key', /names a master key/, /master_key_file/);
});

test('verify: a flipped byte in a channel file fails, naming the file and the damage', () => {
  const d = deployment();
  write(d.cwd, ['--level', 'AUDIT', '--event', 'data.export', '--msg', 'monthly export']);
  write(d.cwd, ['--level', 'AUDIT', '--event', 'data.export', '--msg', 'weekly export']);
  const file = path.join(d.logs, 'audit.log');
  const bytes = readFileSync(file);
  const at = bytes.indexOf('monthly');
  bytes[at] = 'M'.charCodeAt(0);
  writeFileSync(file, bytes);
  const { code, report } = doctorJson(d.cwd, ['--check', 'verify']);
  assert.equal(code, 1);
  assertFails(report, 'verify', /^record_altered at audit, audit\.log, line 1, seq 1/, /incident/);
  assert.match(check(report, 'verify').summary, /DAMAGED, first record_altered at audit/);
});

test('verify --no-verify: the recorded result is used; none, old or damaged is reported', () => {
  const d = deployment();
  const none = doctorJson(d.cwd, ['--check', 'verify', '--no-verify']);
  assert.equal(none.code, 0);
  assert.equal(check(none.report, 'verify').status, 'warn');
  assert.match(check(none.report, 'verify').findings[0]!.what, /no recorded verification/);

  const recorded = new LogLayout(d.logs).serviceStateFile('lastVerify');
  const result = (at: string, ok: boolean, damage: unknown[] = []) =>
    writeFileSync(
      recorded,
      JSON.stringify({
        at,
        by: 'scheduler',
        ok,
        durationMs: 3,
        records: 0,
        bytes: 0,
        damage,
        warnings: [],
      }),
      { mode: 0o600 },
    );
  const now = Date.parse('2026-06-10T12:00:00Z');
  result(new Date(now - 3_600_000).toISOString(), true);
  const fresh = doctorJson(d.cwd, [
    '--check',
    'verify',
    '--no-verify',
    '--now',
    new Date(now).toISOString(),
  ]);
  assert.equal(check(fresh.report, 'verify').status, 'ok');

  const old = doctorJson(d.cwd, [
    '--check',
    'verify',
    '--no-verify',
    '--now',
    new Date(now + 5 * DAY).toISOString(),
  ]);
  assert.equal(check(old.report, 'verify').status, 'warn');
  assert.match(check(old.report, 'verify').findings.at(-1)!.what, /older than 48 h/);

  result(new Date(now).toISOString(), false, [
    { kind: 'truncated', channel: 'audit', file: 'audit.log', detail: 'ends before seq 9' },
  ]);
  const bad = doctorJson(d.cwd, [
    '--check',
    'verify',
    '--no-verify',
    '--now',
    new Date(now).toISOString(),
  ]);
  assert.equal(bad.code, 1);
  assertFails(bad.report, 'verify', /^truncated at audit, audit\.log: ends before seq 9/);
});

test('checkpoints: records left unsigned past twice the job interval fail; signing fixes it', () => {
  const d = deployment();
  write(d.cwd, ['--level', 'AUDIT', '--event', 'a.first']);
  write(d.cwd, ['--level', 'AUDIT', '--event', 'a.second']);
  // A writer that died before signing: the checkpoints covering the second record never came.
  // (Removing the last lines of the checkpoint log is the loss verify cannot see, by design.)
  const ckFile = path.join(d.logs, '.integrity', 'checkpoints.log');
  const lines = readFileSync(ckFile, 'utf8').trimEnd().split('\n');
  const keep = lines.filter((l) => (JSON.parse(l) as { size: number }).size < 2);
  assert.ok(keep.length > 0 && keep.length < lines.length);
  writeFileSync(ckFile, `${keep.join('\n')}\n`);
  const latest = JSON.parse(keep.at(-1)!) as { ts: string };

  const recent = doctorJson(d.cwd, ['--check', 'checkpoints']);
  assert.equal(recent.code, 0, 'a recent unsigned tail is a writer at work');
  const later = new Date(Date.parse(latest.ts) + 3 * 3_600_000).toISOString();
  const stale = doctorJson(d.cwd, ['--check', 'checkpoints', '--now', later]);
  assert.equal(stale.code, 1);
  assertFails(
    stale.report,
    'checkpoints',
    /^audit: 1 record\(s\) after seq 1 are not signed; the latest checkpoint is from .*, 3 h ago \(more than 2 h/,
    /dihya-logs scheduler --once checkpoint/,
  );
  assert.match(
    human(d.cwd, ['--check', 'checkpoints', '--now', later]).stdout,
    /fix: .*--once checkpoint/,
  );

  const signed = cli(d.cwd, ['scheduler', '--once', 'checkpoint']);
  assert.equal(signed.code, 0, signed.stderr);
  const after = doctorJson(d.cwd, ['--check', 'checkpoints', 'verify', '--now', later]);
  assert.equal(after.code, 0, JSON.stringify(after.report));
});

test('retention: app kept 3000 days fails; a duty channel below 180 days fails', () => {
  const d = deployment();
  configure(d.config, (c) => {
    const channels = c.channels as Record<string, Record<string, unknown>>;
    channels.app = { ...channels.app, retention: { min_days: 30, max_days: 3000 } };
    channels.security = { ...channels.security, retention: { min_days: 90, max_days: 365 } };
  });
  const { code, report } = doctorJson(d.cwd, ['--check', 'retention']);
  assert.equal(code, 1);
  assertFails(
    report,
    'retention',
    /^app keeps records up to 3000 days without a retention duty/,
    /channels\.app\.retention\.max_days to at most 365/,
  );
  assertFails(
    report,
    'retention',
    /^security is under a retention duty .* only 90 day\(s\)/,
    /channels\.security\.retention\.min_days to at least 180/,
  );
  assert.match(
    human(d.cwd, ['--check', 'retention']).stdout,
    /fix: set channels\.app\.retention\.max_days/,
  );
});

test('retention: an archive past its maximum still on disk fails (the job is not running)', () => {
  const d = deployment();
  write(d.cwd, ['--event', 'app.started']);
  const rotated = cli(d.cwd, ['rotate', '--channel', 'app']);
  assert.equal(rotated.code, 0, rotated.stderr);
  assert.equal(doctorJson(d.cwd, ['--check', 'retention']).code, 0);
  const later = new Date(Date.now() + 100 * DAY).toISOString();
  const { code, report } = doctorJson(d.cwd, ['--check', 'retention', '--now', later]);
  assert.equal(code, 1);
  assertFails(
    report,
    'retention',
    /^archive\/\d{4}\/\d{2}\/app-1-1\.log\.gz: 100 days old, past the maximum of 90 days of app/,
    /^dihya-logs retention/,
  );
});

test('classification: a password key set to keep fails, naming the kind and the key', () => {
  const d = deployment();
  configure(d.config, (c) => {
    c.classification = { keys: { password: 'keep' } };
  });
  const { code, report } = doctorJson(d.cwd, ['--check', 'classification']);
  assert.equal(code, 1);
  const f = assertFails(
    report,
    'classification',
    /^password: the secret came out in clear in the stored record \(at data\.password\)/,
    /classification\.keys\.password: keep/,
  );
  assert.ok(!/Pw[A-Za-z0-9]{14}!9/.test(JSON.stringify(report)), 'the secret is never shown');
  assert.equal(check(report, 'classification').findings.length, 1, f.what);
  assert.match(
    human(d.cwd, ['--check', 'classification']).stdout,
    /classification\.keys\.password: keep/,
  );
});

test('classification: a keep pattern that protects tokens fails; an encrypt rule warns', () => {
  const d = deployment();
  configure(d.config, (c) => {
    c.classification = {
      keys: { api_key: 'encrypt' },
      patterns: [{ name: 'gh', pattern: '(?<![\\w-])ghp_[A-Za-z0-9]{36}', mode: 'keep' }],
    };
  });
  const { report } = doctorJson(d.cwd, ['--check', 'classification']);
  assertFails(
    report,
    'classification',
    /^github_token: the secret came out in clear/,
    /classification\.patterns \(gh, mode keep\)/,
  );
  const c = check(report, 'classification');
  const enc = c.findings.find((x) => x.what.startsWith('api_key:'));
  assert.match(enc?.what ?? '', /kept as encrypted personal data/);
  assert.match(enc?.fix ?? '', /classification\.keys\.api_key: encrypt/);
});

test('tokens: none is ok; no expiry warns; old and never used fails with the revoke command', () => {
  const d = deployment();
  const made = cli(d.cwd, ['token', 'create', '--role', 'auditor', '--name', 'grafana']);
  assert.equal(made.code, 0, made.stderr);
  const token = made.stdout.trim();
  const id = /^dl_([0-9a-f]{12})_/.exec(token)![1]!;

  const young = doctorJson(d.cwd, ['--check', 'tokens']);
  assert.equal(young.code, 0);
  assert.equal(check(young.report, 'tokens').status, 'warn');
  assert.match(
    check(young.report, 'tokens').findings[0]!.what,
    new RegExp(`^token ${id} \\(auditor, "grafana"\\) never expires`),
  );

  const later = new Date(Date.now() + 100 * DAY).toISOString();
  const old = doctorJson(d.cwd, ['--check', 'tokens', '--now', later]);
  assert.equal(old.code, 1);
  assertFails(
    old.report,
    'tokens',
    /was never used since it was made 100 days ago/,
    new RegExp(`dihya-logs token revoke ${id}`),
  );
  const h = human(d.cwd, ['--check', 'tokens', '--now', later]);
  assert.match(h.stdout, new RegExp(`fix: revoke it: dihya-logs token revoke ${id}`));
  assert.ok(
    !h.stdout.includes(token.slice(16)) && !JSON.stringify(old.report).includes(token.slice(16)),
  );

  // With an expiry, used recently: fine.
  const revoked = cli(d.cwd, ['token', 'revoke', id]);
  assert.equal(revoked.code, 0, revoked.stderr);
  const expiring = cli(d.cwd, [
    'token',
    'create',
    '--role',
    'ingest',
    '--name',
    'app',
    '--expires',
    '30d',
  ]);
  assert.equal(expiring.code, 0, expiring.stderr);
  assert.equal(check(doctorJson(d.cwd, ['--check', 'tokens']).report, 'tokens').status, 'ok');
});

test('service: 0.0.0.0 without TLS in front fails; with trust_proxy it is ok', () => {
  const d = deployment();
  configure(d.config, (c) => {
    c.service = { ...c.service, host: '0.0.0.0' };
  });
  const { code, report } = doctorJson(d.cwd, ['--check', 'service']);
  assert.equal(code, 1);
  assertFails(
    report,
    'service',
    /listens on 0\.0\.0\.0 .* without TLS/,
    /service\.host: 127\.0\.0\.1/,
  );
  assert.match(human(d.cwd, ['--check', 'service']).stdout, /fix: set service\.host: 127\.0\.0\.1/);

  configure(d.config, (c) => {
    c.service = { ...c.service, host: '192.0.2.10', trust_proxy: true };
  });
  const proxied = doctorJson(d.cwd, ['--check', 'service']);
  assert.equal(proxied.code, 0);
  assert.equal(check(proxied.report, 'service').status, 'ok');
  assert.match(check(proxied.report, 'service').summary, /terminates TLS/);

  configure(d.config, (c) => {
    c.service = { ...c.service, host: '::1', trust_proxy: false };
  });
  assert.equal(check(doctorJson(d.cwd, ['--check', 'service']).report, 'service').status, 'ok');
});

test('doctor never prints the master key or a token secret, whatever fails', () => {
  const d = deployment();
  const key = readFileSync(d.key, 'utf8').trim();
  const made = cli(d.cwd, ['token', 'create', '--role', 'admin', '--name', 'ops']);
  assert.equal(made.code, 0, made.stderr);
  const secret = made.stdout.trim().slice(16);
  chmodSync(d.key, 0o640);
  chmodSync(path.join(d.logs, '.keys', 'tokens.db'), 0o644);
  const later = new Date(Date.now() + 400 * DAY).toISOString();
  for (const args of [[], ['--json'], ['--now', later], ['--json', '--now', later]]) {
    const r = cli(d.cwd, ['doctor', ...args]);
    assert.equal(r.code, 1, r.stderr);
    for (const text of [r.stdout, r.stderr]) {
      assert.ok(!text.includes(key), 'no master key');
      assert.ok(!text.includes(secret), 'no token secret');
    }
  }
  const env = cli(d.cwd, ['doctor'], { DIHYA_LOGS_MASTER_KEY: key });
  assert.ok(!env.stdout.includes(key) && !env.stderr.includes(key));
});

test('usage and configuration errors exit 2', () => {
  const d = deployment();
  const unknown = human(d.cwd, ['--check', 'nope']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /USAGE: --check: unknown check "nope"/);
  assert.equal(human(d.cwd, ['--now', 'tomorrow']).code, 2);
  const empty = tempDir();
  mkdirSync(path.join(empty, 'logs'));
  const r = human(empty, []);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /LOGS_NOT_INITIALIZED/);
  writeFileSync(d.config, 'service: { host: [1, 2] }\n');
  assert.equal(human(d.cwd, []).code, 2);
});

test('a check that throws becomes a failure with its code, and the others still run', async () => {
  const d = deployment();
  const config = loadConfig({ cwd: d.cwd });
  const layout = new LogLayout(config.dir);
  const report = await runDoctor(
    {
      config,
      layout,
      meta: readMeta(layout),
      keyFile: undefined,
      now: Date.now(),
      runVerify: true,
      onProgress: () => undefined,
    },
    {
      checks: [
        {
          id: 'broken',
          title: 'throws',
          run: () => {
            throw new LogsError('IO_ERROR', 'disk on fire');
          },
        },
        {
          id: 'bug',
          title: 'throws a plain error',
          run: () => Promise.reject(new TypeError('x is undefined')),
        },
        { id: 'fine', title: 'fine', run: () => ({ status: 'ok', summary: 'fine', findings: [] }) },
      ],
    },
  );
  assert.equal(report.ok, false);
  assert.deepEqual(
    report.checks.map((c) => [c.id, c.status]),
    [
      ['broken', 'fail'],
      ['bug', 'fail'],
      ['fine', 'ok'],
    ],
  );
  assert.match(report.checks[0]!.summary, /IO_ERROR: disk on fire/);
  assert.match(report.checks[1]!.summary, /INTERNAL: x is undefined/);
});

test('on a terminal: ✓ ! ✗ in colour; with NO_COLOR: the words', async () => {
  const d = deployment();
  configure(d.config, (c) => {
    c.service = { ...c.service, host: '0.0.0.0' };
  });
  const run = async (): Promise<string> => {
    let out = '';
    const io = {
      out: (t: string) => {
        out += t;
      },
      err: () => undefined,
      isTTY: true,
      stdin: process.stdin,
    };
    await main(['--config', d.config, 'doctor', '--check', 'service', 'retention'], io);
    process.exitCode = undefined; // the failure is the point: not the test file's
    return out;
  };
  const saved = process.env.NO_COLOR;
  try {
    delete process.env.NO_COLOR;
    const tty = await run();
    const lines = tty.split('\n');
    assert.ok(
      lines.some((l) => l.startsWith('\u001b[32m✓\u001b[0m retention ')),
      tty,
    );
    assert.ok(
      lines.some((l) => l.startsWith('\u001b[31m✗\u001b[0m service ')),
      tty,
    );
    assert.match(tty, /^2 checks: 1 ok, 1 failed$/m);
    process.env.NO_COLOR = '1';
    const plain = await run();
    assert.match(plain, /^OK {3}retention /m);
    assert.match(plain, /^FAIL service /m);
    assert.ok(!plain.includes('\u001b['));
  } finally {
    if (saved === undefined) delete process.env.NO_COLOR;
    else process.env.NO_COLOR = saved;
  }
});
