import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import tar from 'tar-stream';
import { tempDir } from '../helpers.js';
import { cli, initialized } from './run.js';

// The CLI items of issue 19: erase --dry-run, verify-bundle, a second token revoke, tail -n.

function ok(r: { code: number | null; stdout: string; stderr: string }): string {
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return r.stdout;
}

/** The records of one event type, through the index (the audit channel may be encrypted). */
function events(cwd: string, env: Record<string, string>, event: string): unknown[] {
  const out = ok(cli(cwd, ['query', '--event', event, '--format', 'json', '--no-progress'], env));
  return (JSON.parse(out) as { records: unknown[] }).records;
}

/** A person with records, exported: the bundle's directory. */
function exported(): { cwd: string; env: Record<string, string>; bundle: string } {
  const { cwd, env } = initialized(true);
  ok(cli(cwd, ['write', '--event', 'user.login', '--actor', 'u-1', '--msg', 'signed in'], env));
  ok(cli(cwd, ['write', '--level', 'AUDIT', '--event', 'user.updated', '--actor', 'u-1'], env));
  const report = JSON.parse(ok(cli(cwd, ['export', '--subject', 'u-1', '--json'], env))) as {
    dir: string;
  };
  const bundle = path.resolve(cwd, 'logs', report.dir);
  assert.ok(existsSync(path.join(bundle, 'manifest.json')), bundle);
  return { cwd, env, bundle };
}

interface TarEntry {
  readonly name: string;
  readonly body?: Buffer;
  readonly type?: 'file' | 'symlink' | 'link' | 'directory';
  readonly linkname?: string;
}

async function tarOf(entries: readonly TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const e of entries) {
    const body = e.body ?? Buffer.alloc(0);
    const type = e.type ?? 'file';
    if (type === 'file') pack.entry({ name: e.name, size: body.length }, body);
    else
      pack.entry({
        name: e.name,
        type,
        ...(e.linkname === undefined ? {} : { linkname: e.linkname }),
      });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** The bundle's files as the service's download gives them: `<request-id>/<file>`. */
function downloadEntries(bundle: string): TarEntry[] {
  const id = path.basename(bundle);
  const manifest = JSON.parse(readFileSync(path.join(bundle, 'manifest.json'), 'utf8')) as {
    files: Array<{ name: string }>;
  };
  return [...manifest.files.map((f) => f.name), 'manifest.json'].map((f) => ({
    name: `${id}/${f}`,
    body: readFileSync(path.join(bundle, f)),
  }));
}

test('erase --dry-run needs no --reason and records nothing; the erasure itself still needs one', () => {
  const { cwd, env } = initialized(true);
  ok(cli(cwd, ['write', '--event', 'user.login', '--actor', 'u-1'], env));
  const dry = cli(cwd, ['erase', '--subject', 'u-1', '--dry-run'], env);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /dry run, nothing changed/);
  assert.deepEqual(events(cwd, env, 'gdpr.erasure'), [], 'a dry run records nothing');
  const real = cli(cwd, ['erase', '--subject', 'u-1'], env);
  assert.equal(real.code, 2);
  assert.match(real.stderr, /^dihya-logs: USAGE: erase: give --subject and --reason/);
  assert.deepEqual(events(cwd, env, 'gdpr.erasure'), []);
});

test('verify-bundle checks an export directory with the configured key, and says which key', () => {
  const { cwd, env, bundle } = exported();
  const pinned = /public_key: '?(ed25519:[\w+/=]+)/.exec(
    readFileSync(path.join(cwd, 'dihya-logs.yaml'), 'utf8'),
  )?.[1];
  const r = cli(cwd, ['verify-bundle', bundle], env);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^VALID: export exp-\d{8}-[0-9a-f]{16} of log /);
  assert.match(
    r.stdout,
    /\n {2}key: ed25519:\S+ \(from (integrity\.public_key|the logs directory)/,
  );
  if (pinned !== undefined) assert.ok(r.stdout.includes(pinned), 'the pinned key is named');
  const json = JSON.parse(ok(cli(cwd, ['verify-bundle', bundle, '--json'], env))) as Record<
    string,
    unknown
  >;
  assert.equal(json.ok, true);
  assert.deepEqual(json.problems, []);
  assert.match(String(json.publicKey), /^ed25519:/);

  // Another key: the manifest is not signed by it.
  const spki = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
  const otherKey = `ed25519:${spki.subarray(-32).toString('base64')}`;
  const wrong = cli(cwd, ['verify-bundle', bundle, '--public-key', otherKey], env);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stdout, /^INVALID: the manifest names another public key\n/);
  assert.match(wrong.stdout, /key: ed25519:\S+ \(from --public-key\)/);

  // A changed file.
  const records = path.join(bundle, 'records.json');
  writeFileSync(records, readFileSync(records, 'utf8').replace('signed in', 'signed out'));
  const changed = cli(cwd, ['verify-bundle', bundle], env);
  assert.equal(changed.code, 1);
  assert.match(changed.stdout, /^INVALID: records\.json: changed since the export$/m);
});

test('verify-bundle: usage errors exit 2', () => {
  const { cwd, env, bundle } = exported();
  const bad = cli(cwd, ['verify-bundle', bundle, '--public-key', 'ed25519:nope'], env);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /PUBLIC_KEY_INVALID/);
  const missing = cli(cwd, ['verify-bundle', path.join(cwd, 'no-such-bundle')], env);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /USAGE: cannot read/);
  // No key given, and no logs directory to take one from.
  const elsewhere = tempDir();
  const none = cli(elsewhere, ['verify-bundle', bundle]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /USAGE: no public key: give --public-key/);
});

test('verify-bundle checks the tar a download gives, and refuses a hostile archive', async () => {
  const { cwd, env, bundle } = exported();
  const entries = downloadEntries(bundle);
  const file = path.join(cwd, 'bundle.tar');
  writeFileSync(file, await tarOf(entries));
  const r = cli(cwd, ['verify-bundle', file], env);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^VALID: /);

  // A changed file inside the archive.
  const altered = entries.map((e) =>
    e.name.endsWith('/records.json')
      ? { ...e, body: Buffer.from((e.body ?? Buffer.alloc(0)).toString().replace('u', 'v')) }
      : e,
  );
  writeFileSync(file, await tarOf(altered));
  const changed = cli(cwd, ['verify-bundle', file], env);
  assert.equal(changed.code, 1);
  assert.match(changed.stdout, /INVALID: records\.json: changed since the export/);

  const escape = path.join(path.dirname(cwd), `escaped-${randomBytes(4).toString('hex')}`);
  const hostile: Array<[string, TarEntry]> = [
    ['a path out', { name: `x/../../${path.basename(escape)}`, body: Buffer.from('x') }],
    ['an absolute path', { name: escape, body: Buffer.from('x') }],
    ['a symbolic link', { name: 'x/manifest.json', type: 'symlink', linkname: '/etc/passwd' }],
    ['a hard link', { name: 'x/records.json', type: 'link', linkname: 'x/manifest.json' }],
  ];
  for (const [what, entry] of hostile) {
    writeFileSync(file, await tarOf([...entries, entry]));
    const refused = cli(cwd, ['verify-bundle', file], env);
    assert.equal(refused.code, 1, `${what}: ${refused.stdout}${refused.stderr}`);
    assert.match(refused.stdout, /^INVALID: the archive: /, what);
    assert.equal(existsSync(escape), false, `${what}: nothing written outside`);
  }
  writeFileSync(file, await tarOf([...entries, entries[0] as TarEntry]));
  assert.match(cli(cwd, ['verify-bundle', file], env).stdout, /INVALID: the archive: .* twice/);
  writeFileSync(file, 'not a tar archive at all, just text');
  const junk = cli(cwd, ['verify-bundle', file], env);
  assert.equal(junk.code, 1);
  assert.match(junk.stdout, /^INVALID: /);
  assert.ok(statSync(file).isFile());
});

test('token revoke of a revoked token says when, exits non-zero and records nothing', () => {
  const { cwd, env } = initialized(true);
  const made = JSON.parse(
    ok(cli(cwd, ['token', 'create', '--role', 'auditor', '--name', 'ci', '--json'], env)),
  ) as { id: string };
  assert.match(ok(cli(cwd, ['token', 'revoke', made.id], env)), /revoked/);
  const again = cli(cwd, ['token', 'revoke', made.id], env);
  assert.equal(again.code, 2);
  assert.equal(again.stdout, '');
  assert.match(
    again.stderr,
    /^dihya-logs: TOKEN_ALREADY_REVOKED: token [0-9a-f]{12} was already revoked at \d{4}-\d\d-\d\dT/,
  );
  assert.equal(events(cwd, env, 'token.revoked').length, 1, 'one revocation in the audit trail');
  const unknown = cli(cwd, ['token', 'revoke', '0123456789ab'], env);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /NOT_FOUND/);
});

test('tail -n N prints the last N of all channels merged by time; with one --channel, its last N', () => {
  const { cwd, env } = initialized(true);
  ok(cli(cwd, ['write', '--msg', 'app 1'], env));
  ok(cli(cwd, ['write', '--level', 'AUDIT', '--event', 'a.b', '--msg', 'audit 1'], env));
  ok(cli(cwd, ['write', '--msg', 'app 2'], env));
  ok(cli(cwd, ['write', '--level', 'AUDIT', '--event', 'a.b', '--msg', 'audit 2'], env));
  const msgs = (args: string[]): string[] =>
    ok(cli(cwd, ['tail', '--format', 'ndjson', ...args], env))
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { msg: string }).msg);
  assert.deepEqual(msgs(['-n', '2']), ['app 2', 'audit 2']);
  assert.deepEqual(msgs(['-n', '3']), ['audit 1', 'app 2', 'audit 2']);
  assert.deepEqual(msgs(['-n', '2', '--channel', 'app']), ['app 1', 'app 2']);
  assert.equal(ok(cli(cwd, ['tail', '-n', '0'], env)), '');
});
