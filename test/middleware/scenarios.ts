import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Keystore } from '../../src/crypto/keystore.js';
import { reveal } from '../../src/pipeline/reveal.js';
import { LogLayout } from '../../src/store/file/layout.js';
import { readRecords, type TestLog } from '../helpers.js';

/** What the test apps (Express and Fastify, the same routes) are asked, and must not store. */
export const SECRET_TOKEN = 's3cr3t-token-value';
export const SECRET_QUERY = 'abc123secret';
export const PASSWORD = 'Hunter2-Pa55word!';
export const EMAIL = 'jean.dupont@example.fr';
export const USER_ID = 'u-42';
export const GIVEN_ID = 'req-given-7f3a';

/** Both apps: a user signed in by this bearer token; `/slow` waits until its client is gone. */
export function userFromAuth(authorization: string | undefined): { id: string } | undefined {
  return authorization === `Bearer ${SECRET_TOKEN}` ? { id: USER_ID } : undefined;
}

export interface Sent {
  /** The x-request-id each response carried, by scenario. */
  readonly ids: Record<'user' | 'login' | 'missing' | 'boom' | 'project', string>;
}

/**
 * The requests of both tests: a signed-in GET with a secret query parameter, a log-in with a
 * password and an e-mail, a 404 with an invalid request id, a route that throws, a route under
 * a prefix, an ignored health check, and a request whose client goes away.
 */
export async function exercise(
  base: string,
  slow: { arrived: Promise<void>; gone: Promise<void> },
): Promise<Sent> {
  const user = await fetch(`${base}/users/${USER_ID}?token=${SECRET_QUERY}&page=2`, {
    headers: { authorization: `Bearer ${SECRET_TOKEN}`, 'x-request-id': GIVEN_ID },
  });
  assert.equal(user.status, 200);
  assert.deepEqual(await user.json(), { id: USER_ID });

  const login = await fetch(`${base}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: `sid=${SECRET_TOKEN}` },
    body: JSON.stringify({ email: EMAIL, password: PASSWORD, remember: true }),
  });
  assert.equal(login.status, 200);
  await login.arrayBuffer();

  const missing = await fetch(`${base}/nope/${USER_ID}`, {
    headers: { 'x-request-id': 'not valid: has spaces' },
  });
  assert.equal(missing.status, 404);
  await missing.arrayBuffer();

  const boom = await fetch(`${base}/boom`);
  assert.equal(boom.status, 500);
  await boom.arrayBuffer();

  const project = await fetch(`${base}/projects/p-7`);
  assert.equal(project.status, 200);
  await project.arrayBuffer();

  const health = await fetch(`${base}/health`);
  assert.equal(health.status, 200);
  assert.equal(health.headers.get('x-request-id'), null, 'an ignored request is left alone');
  await health.arrayBuffer();

  // The client goes away while the route is still working.
  const url = new URL(`${base}/slow`);
  const req = http.request({ host: url.hostname, port: url.port, path: url.pathname });
  req.on('error', () => undefined);
  req.end();
  await slow.arrived;
  req.destroy();
  await slow.gone;

  const id = (r: Response): string => r.headers.get('x-request-id') ?? '';
  return {
    ids: {
      user: id(user),
      login: id(login),
      missing: id(missing),
      boom: id(boom),
      project: id(project),
    },
  };
}

type Rec = Record<string, unknown>;

/**
 * After `logs.close()`: one `http.request` record per request but the ignored one, each with
 * its route template, status, level, outcome and request id, and nothing secret anywhere in
 * the logs directory; the e-mail only encrypted, and readable again with the keys.
 */
export function checkApiLog(t: TestLog, sent: Sent): void {
  const records = readRecords(path.join(t.dir, 'api.log')) as Array<Rec & { data: Rec }>;
  assert.deepEqual(
    records.map((r) => [r.event, r.msg, r.level, r.outcome]),
    [
      ['http.request', 'GET /users/:id 200', 'INFO', 'success'],
      ['http.request', 'POST /login 200', 'INFO', 'success'],
      ['http.request', 'GET (unmatched) 404', 'WARNING', 'failure'],
      ['http.request', 'GET /boom 500', 'ERROR', 'error'],
      ['http.request', 'GET /projects/:id 200', 'INFO', 'success'],
      ['http.request', 'GET /slow 499', 'WARNING', 'error'],
    ],
  );
  const [user, login, missing, boom, project, aborted] = records as [
    Rec & { data: Rec },
    ...Array<Rec & { data: Rec }>,
  ];
  assert.ok(login && missing && boom && project && aborted);

  // Request ids: the valid one given is kept and echoed; the others are generated and echoed.
  assert.equal(user.request_id, GIVEN_ID);
  assert.equal(sent.ids.user, GIVEN_ID);
  for (const [r, echoed] of [
    [login, sent.ids.login],
    [missing, sent.ids.missing],
    [boom, sent.ids.boom],
    [project, sent.ids.project],
  ] as const) {
    assert.match(String(r.request_id), /^[0-9a-f-]{36}$/);
    assert.equal(r.request_id, echoed);
  }
  assert.match(String(aborted.request_id), /^[0-9a-f-]{36}$/);

  for (const r of records) {
    assert.equal(r.channel, 'api');
    assert.equal(typeof r.data.duration_ms, 'number');
    assert.ok((r.data.duration_ms as number) > 0, `duration of ${String(r.msg)}`);
    assert.equal(typeof r.data.bytes_in, 'number');
    assert.equal(typeof r.data.bytes_out, 'number');
    assert.equal(r.data.ip, '[ip#1]', 'the address is personal data: encrypted');
  }
  assert.deepEqual(
    records.map((r) => [r.data.method, r.data.route, r.data.status]),
    [
      ['GET', '/users/:id', 200],
      ['POST', '/login', 200],
      ['GET', '(unmatched)', 404],
      ['GET', '/boom', 500],
      ['GET', '/projects/:id', 200],
      ['GET', '/slow', 499],
    ],
  );
  // The raw path (with the user's id in it) is left out by default: the template says enough.
  assert.equal(user.data.path, undefined);
  assert.equal(missing.data.path, undefined);
  assert.ok((user.data.bytes_out as number) > 0);
  assert.equal(
    login.data.bytes_in,
    JSON.stringify({ email: EMAIL, password: PASSWORD, remember: true }).length,
  );

  // The signed-in user is the actor, stored as a pseudonym; the others have none.
  assert.match(String((user.actor as Rec | undefined)?.id), /^sub_[0-9a-f]{24}$/);
  assert.equal(user.sub, (user.actor as Rec).id);
  assert.equal(login.actor, undefined);

  // Headers, query and body: secrets removed by the classification, by name and by value.
  const headers = user.data.headers as Rec;
  assert.equal(headers.authorization, '[REDACTED:authorization]');
  assert.equal(headers['x-request-id'], GIVEN_ID);
  assert.equal(user.data.query && (user.data.query as Rec).token, '[REDACTED:token]');
  assert.equal((user.data.query as Rec).page, '2');
  assert.equal((login.data.headers as Rec).cookie, '[REDACTED:cookie]');
  const body = login.data.body as Rec;
  assert.equal(body.password, '[REDACTED:password]');
  assert.equal(body.email, '[email#1]');
  assert.equal(body.remember, true);
  assert.equal(user.data.body, undefined, 'a GET has no body');

  // Nothing secret in any file of the logs directory; the e-mail only encrypted.
  for (const [file, bytes] of files(t.dir)) {
    for (const secret of [SECRET_TOKEN, SECRET_QUERY, PASSWORD, EMAIL]) {
      assert.ok(!bytes.includes(secret), `${secret} found in ${file}`);
    }
  }

  // With the keys: the e-mail, the user's id and the addresses come back.
  const keys = Keystore.openReadOnly(new LogLayout(t.dir).subjectsFile, t.masterKey, t.logId);
  try {
    const back = reveal(login, keys, t.logId).record as Rec & { data: Rec };
    assert.equal((back.data.body as Rec).email, EMAIL);
    assert.equal(
      (back.data.body as Rec).password,
      '[REDACTED:password]',
      'a secret never comes back',
    );
    assert.match(String(back.data.ip), /127\.0\.0\.1$/);
    assert.equal(back.subject, EMAIL, 'the e-mail is whose data it is');
    const who = reveal(user, keys, t.logId).record as Rec;
    assert.equal((who.actor as Rec).id, USER_ID);
  } finally {
    keys.close();
  }
}

/** Every file under a directory, with its bytes (as latin1 text, to search). */
function files(dir: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else out.push([p, readFileSync(p).toString('latin1')]);
  }
  return out;
}

/** A promise with its resolve function, for the `/slow` route. */
export function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
