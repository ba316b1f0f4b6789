import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers.js';
import { testService, type TestService } from '../service/helpers.js';
import { DOC_TOKEN, DOC_URL, recipe, shipped, type Rec } from './helpers.js';

// The real daemon, Debian's package: the recipe of docs/shippers.md is what runs.
const INSTALL = 'apt-get install -y syslog-ng-core syslog-ng-mod-http';
// In /usr/sbin, which not every PATH has.
const SYSLOG_NG = existsSync('/usr/sbin/syslog-ng') ? '/usr/sbin/syslog-ng' : 'syslog-ng';

/** A syslog-ng daemon reading a loopback UDP port, shipping to a test service. */
interface Daemon {
  readonly service: TestService;
  readonly port: number;
  /** What syslog-ng printed (its own messages go to s_src, shipped). */
  output(): string;
  stop(): Promise<void>;
}

const daemons: Daemon[] = [];
let s: TestService;
let main: Daemon;
const run = Math.random().toString(36).slice(2, 8);

/** The installed syslog-ng's config version (3.38), failing the test when it cannot run. */
function syslogNgVersion(): string {
  const r = spawnSync(SYSLOG_NG, ['--version'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0)
    assert.fail(`syslog-ng is not installed (${String(r.error ?? r.stderr)}): ${INSTALL}`);
  const version = /syslog-ng \d+ \((\d+\.\d+)/.exec(r.stdout)?.[1];
  assert.ok(version !== undefined, `unexpected syslog-ng --version: ${r.stdout}`);
  const modules = /Available-Modules: (.*)/.exec(r.stdout)?.[1]?.split(',') ?? [];
  if (!modules.includes('http'))
    assert.fail(`syslog-ng has no http() destination (Debian's syslog-ng-mod-http): ${INSTALL}`);
  return version;
}

async function freeUdpPort(): Promise<number> {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const p = sock.address().port;
  await new Promise<void>((resolve) => sock.close(resolve));
  return p;
}

/**
 * Run syslog-ng with `conf`, the recipe's text, in a temporary directory, as root but with no
 * system-wide effect: its own persist file, pid file and control socket. Debian's
 * syslog-ng.conf defines s_src (the system's logs and syslog-ng's own) and includes
 * conf.d/*.conf, where the recipe goes; here s_src reads a loopback UDP port instead.
 */
async function startSyslogNg(service: TestService, conf: string): Promise<Daemon> {
  const version = syslogNgVersion();
  const url = await service.app.listen({ host: '127.0.0.1', port: 0 });
  const port = await freeUdpPort();
  const dir = tempDir('dihya-syslog-ng-');
  const file = path.join(dir, 'syslog-ng.conf');
  const text = [
    `@version: ${version}`,
    `source s_src { network(transport("udp") ip("127.0.0.1") port(${port})); internal(); };`,
    conf.replaceAll(DOC_URL, url).replaceAll(DOC_TOKEN, service.token.ingest),
  ].join('\n');
  writeFileSync(file, text, { mode: 0o600 });
  // Spawned once the recipe parses; stop() may run before that.
  const proc: { child?: ChildProcess } = {};
  let output = '';
  const daemon: Daemon = {
    service,
    port,
    output: () => output,
    stop: async () => {
      const child = proc.child;
      if (child !== undefined && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      await service.close();
    },
  };
  // Stopped in after(), whatever fails from here on.
  daemons.push(daemon);
  const check = spawnSync(SYSLOG_NG, ['--syntax-only', '-f', file], { encoding: 'utf8' });
  assert.equal(check.status, 0, `the recipe does not parse:\n${check.stderr}`);
  const args = ['-F', '--no-caps', '-f', file, '-R', path.join(dir, 'persist')];
  args.push('-p', path.join(dir, 'pid'), '-c', path.join(dir, 'ctl'));
  const child = spawn(SYSLOG_NG, args, {
    env: { ...process.env, TZ: 'UTC' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr.on('data', (b: Buffer) => (output += b.toString()));
  proc.child = child;
  // Its own "starting up" message, shipped through the recipe, says the pipeline works.
  const records = await shipped(service, 1, 15_000);
  assert.ok(
    byMsg(records, 'syslog-ng starting up') !== undefined,
    `syslog-ng did not ship its start: ${JSON.stringify(records)}\n${output}`,
  );
  return daemon;
}

/** A BSD syslog line (what `logger` sends), facility user, stamped now in UTC. */
async function send(d: Daemon, severity: number, text: string): Promise<string> {
  const now = new Date();
  now.setUTCMilliseconds(0);
  const month = now.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const day = String(now.getUTCDate()).padStart(2, ' ');
  const clock = now.toISOString().slice(11, 19);
  const line = `<${8 + severity}>${month} ${day} ${clock} testhost shiptest[4242]: ${text}`;
  const sock = createSocket('udp4');
  await new Promise<void>((resolve, reject) =>
    sock.send(line, d.port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
  );
  sock.close();
  return now.toISOString();
}

/** How many ingest requests the service answered with `status`. */
async function answered(service: TestService, status: number): Promise<number> {
  const res = await service.app.inject({ url: '/metrics', headers: service.auth('auditor') });
  const line = res.body
    .split('\n')
    .find(
      (l) =>
        l.startsWith('dihya_logs_http_requests_total{') &&
        l.includes('route="/v1/events"') &&
        l.includes(`status="${status}"`),
    );
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const byMsg = (records: Rec[], text: string): Rec | undefined =>
  records.find((r) => typeof r.msg === 'string' && r.msg.includes(text));

// A 4 KiB record limit, so that one long line is a record the service will never store.
const SMALL_RECORDS = { limits: { max_record_bytes: 4096 } };
const TOO_LONG = 'x'.repeat(5000);

before(async () => {
  syslogNgVersion(); // fails first, before anything is opened, when syslog-ng cannot run
  s = await testService({}, SMALL_RECORDS);
  main = await startSyslogNg(s, recipe('syslog-ng', 'conf'));
});

after(async () => {
  for (const d of daemons) await d.stop();
});

test('syslog-ng, the recipe of docs/shippers.md: notice, alert, emerg, info and err land in app with their levels, message, time and fields', async () => {
  const sent: Array<[number, string, string, string | undefined]> = [
    [5, 'notice', 'INFO', 'notice'],
    [1, 'alert', 'CRITICAL', 'alert'],
    [0, 'emerg', 'CRITICAL', 'emerg'],
    [6, 'info', 'INFO', undefined],
    [3, 'err', 'ERROR', 'err'],
  ];
  const times: string[] = [];
  for (const [sev, name] of sent) times.push(await send(main, sev, `${name} message ${run}`));
  let records: Rec[] = [];
  const until = Date.now() + 15_000;
  while (Date.now() < until) {
    records = await shipped(s, 1);
    if (sent.every(([, name]) => byMsg(records, `${name} message ${run}`))) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  sent.forEach(([, name, level, priority], i) => {
    const r = byMsg(records, `${name} message ${run}`);
    assert.ok(r, `${name} arrived (syslog-ng said:\n${main.output()})`);
    assert.equal(r.msg, `${name} message ${run}`);
    assert.equal(r.level, level, name);
    assert.equal(r.channel, 'app');
    assert.equal(r.event, 'shipped.log');
    assert.equal(r.data?.program, 'shiptest');
    assert.equal(r.data.pid, '4242');
    assert.equal(r.data.facility, 'user');
    assert.equal(r.data.priority, priority, `${name}: the syslog severity kept when it says more`);
    assert.equal(r.data.time, times[i], `${name}: the time syslog-ng read`);
    assert.equal(typeof r.data.host, 'string');
  });
});

test('syslog-ng, on a record the service will never store (413): that batch is dropped once, and what follows still arrives', async () => {
  const before413 = await answered(s, 413);
  await send(main, 6, `too long ${run} ${TOO_LONG}`);
  // The refused batch: answered once.
  const until = Date.now() + 10_000;
  while ((await answered(s, 413)) === before413 && Date.now() < until)
    await new Promise((r) => setTimeout(r, 100));
  assert.equal(await answered(s, 413), before413 + 1, `one 413\n${main.output()}`);
  await send(main, 5, `after the refused one ${run}`);
  let records: Rec[] = [];
  const later = Date.now() + 10_000;
  while (Date.now() < later) {
    records = await shipped(s, 1);
    if (byMsg(records, `after the refused one ${run}`) && byMsg(records, "action='drop'")) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(byMsg(records, `after the refused one ${run}`), 'later messages still get through');
  assert.equal(byMsg(records, `too long ${run}`), undefined);
  assert.equal(await answered(s, 413), before413 + 1, 'the refused batch was not sent again');
  // syslog-ng says what it dropped in its own log, which the recipe's s_src ships too.
  const notice = byMsg(records, "action='drop'");
  assert.ok(notice, `syslog-ng's drop notice was shipped\n${main.output()}`);
  assert.match(String(notice.msg), /status_code='413'/);
});

test("syslog-ng 3.38's own default, the recipe without response-action(): a refused batch is sent again after each time-reopen(), for ever, and holds back what follows", async () => {
  const recipeText = recipe('syslog-ng', 'conf');
  const line = / {4}response-action\([^)]*\)\n/;
  assert.match(recipeText, line);
  // time-reopen(1) instead of 60 s, to see it within seconds.
  const withDefault = recipeText.replace(line, '    time-reopen(1)\n');
  const d = await startSyslogNg(await testService({}, SMALL_RECORDS), withDefault);
  await send(d, 6, `too long ${run} ${TOO_LONG}`);
  await new Promise((r) => setTimeout(r, 1500));
  await send(d, 5, `held back ${run}`);
  const until = Date.now() + 15_000;
  while ((await answered(d.service, 413)) < 4 && Date.now() < until)
    await new Promise((r) => setTimeout(r, 200));
  assert.ok((await answered(d.service, 413)) >= 4, 'the same batch, again and again');
  const records = await shipped(d.service, 1, 0);
  assert.equal(byMsg(records, `held back ${run}`), undefined, 'nothing after it got through');
});
