import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prepareEvent } from '../../src/pipeline/prepare.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { expectCode } from '../helpers.js';
import { LIMITS, MemoryKeys, revealed, settings, store } from './helpers.js';

test('secrets by key name: any case, any separator, any depth, any type; removed and named', () => {
  const keys = new MemoryKeys();
  const rec = store(
    {
      data: {
        Password: 'hunter2',
        'client-secret': { nested: 'x' },
        headers: { 'X-API-KEY': 'k', Authorization: 'Bearer abc', 'Set-Cookie': ['a=1', 'b=2'] },
        items: [{ accessToken: 123456 }, { DB_PASSWORD: true }],
        githubToken: 'whatever',
        max_tokens: 1000,
      },
    },
    settings(keys),
  );
  const data = rec.data as Record<string, unknown>;
  assert.equal(data.Password, '[REDACTED:password]');
  assert.equal(data['client-secret'], '[REDACTED:clientsecret]');
  assert.deepEqual(data.headers, {
    Authorization: '[REDACTED:authorization]',
    'Set-Cookie': '[REDACTED:setcookie]',
    'X-API-KEY': '[REDACTED:xapikey]',
  });
  assert.deepEqual(data.items, [
    { accessToken: '[REDACTED:accesstoken]' },
    { DB_PASSWORD: '[REDACTED:password]' },
  ]);
  assert.equal(data.githubToken, '[REDACTED:token]');
  assert.equal(data.max_tokens, 1000, 'a count of tokens is not a token');
  assert.equal(rec.pii, undefined, 'no personal data, nothing encrypted');
});

test('cards keep their last 4 digits; card codes and health data are removed', () => {
  const rec = store(
    {
      data: {
        card_number: '4111-1111-1111-1111',
        pan: 5500000000000004,
        cvv: '123',
        diagnosis: 'flu',
        Medical: { a: 1 },
        religion: 'x',
      },
    },
    settings(new MemoryKeys()),
  );
  assert.deepEqual(rec.data, {
    Medical: '[REDACTED:health]',
    card_number: '[REDACTED:card ****1111]',
    cvv: '[REDACTED:card_code]',
    diagnosis: '[REDACTED:health]',
    pan: '[REDACTED:card ****0004]',
    religion: '[REDACTED:special_category]',
  });
});

test('a card number sent as a number, under any key, is caught; long numbers that are not cards stay numbers', () => {
  const rec = store(
    { data: { ref: 4111111111111111, order: 4111111111111112, at_ms: 1764000000000, n: 42 } },
    settings(new MemoryKeys()),
  );
  assert.deepEqual(rec.data, {
    at_ms: 1764000000000,
    n: 42,
    order: 4111111111111112,
    ref: '[REDACTED:card ****1111]',
  });
});

test('personal data becomes placeholders; the values are encrypted under the subject key and put back for allowed readers', () => {
  const keys = new MemoryKeys();
  const input = {
    event: 'auth.login.failure',
    actor: { id: 'u-42', email: 'jean.dupont@example.fr', ip: '203.0.113.7', type: 'user' },
    msg: 'failed login for jean.dupont@example.fr from 203.0.113.7, call 06 12 34 56 78',
    data: { phone: '+33 6 12 34 56 78', note: 'iban FR76 3000 6000 0112 3456 7890 189' },
  };
  const rec = store(input, settings(keys));
  const u42 = keys.entries.get('u-42')!;
  assert.equal(rec.sub, u42.pseudonym);
  assert.deepEqual(rec.actor, {
    email: '[email#1]',
    id: u42.pseudonym,
    ip: '[ip#1]',
    type: 'user',
  });
  // Fields are classified in canonical order (data before msg): the numbering follows it.
  assert.equal(rec.msg, 'failed login for [email#1] from [ip#1], call [phone#2]');
  assert.deepEqual(rec.data, { note: 'iban [iban#1]', phone: '[phone#1]' });
  const text = JSON.stringify(rec);
  for (const value of ['u-42', 'jean.dupont', '203.0.113.7', '06 12 34', 'FR76'])
    assert.ok(!text.includes(value), value);
  assert.deepEqual(Object.keys(rec.pii as object), [u42.pseudonym]);

  const back = revealed(rec, keys);
  assert.deepEqual(back.actor, input.actor);
  assert.equal(back.msg, input.msg);
  assert.deepEqual(back.data, input.data);
  assert.equal(back.subject, 'u-42');

  // Erased (key and mapping gone): the record stays as stored, unreadable.
  keys.erase('u-42');
  const after = revealed(rec, keys);
  assert.deepEqual(after.actor, rec.actor);
  assert.equal(after.msg, rec.msg);
  assert.equal(after.subject, undefined);
});

test('the subject: an explicit subject first, then the actor; an e-mail with no subject becomes one', () => {
  const keys = new MemoryKeys();
  const s = settings(keys);
  assert.equal(
    store({ subject: 'u-7', actor: 'admin-1', msg: 'deleted the account' }, s).sub,
    keys.subject('u-7').pseudonym,
  );
  assert.equal(store({ actor: 'u-8' }, s).sub, keys.subject('u-8').pseudonym);
  const anonymous = store({ msg: 'newsletter sign-up from Marie@Example.org' }, s);
  assert.equal(
    anonymous.sub,
    keys.subject('marie@example.org').pseudonym,
    'an e-mail subject is case-insensitive',
  );
  assert.equal(anonymous.msg, 'newsletter sign-up from [email#1]');
  assert.equal(store({ msg: 'nothing personal here' }, s).sub, undefined);
  // An actor known only by its e-mail is the subject; an e-mail id names one person in any case.
  assert.equal(
    store({ actor: { email: 'Ana@Example.org' }, msg: 'signed up' }, s).sub,
    keys.subject('ana@example.org').pseudonym,
  );
  assert.equal(
    store({ subject: 'ANA@example.org' }, s).sub,
    keys.subject('ana@example.org').pseudonym,
  );
});

test('a target that is a person is its own subject; other targets keep their ids', () => {
  const keys = new MemoryKeys();
  const s = settings(keys);
  const rec = store(
    {
      actor: { id: 'admin-1' },
      target: { type: 'user', id: 'u-9', email: 'nine@example.com' },
      event: 'account.delete',
    },
    s,
  );
  const admin = keys.subject('admin-1');
  const nine = keys.subject('u-9');
  assert.deepEqual(rec.target, { email: '[email#1]', id: nine.pseudonym, type: 'user' });
  assert.equal(rec.sub, admin.pseudonym);
  // The admin's only personal data is their id: the pseudonym says it, nothing to encrypt.
  assert.deepEqual(Object.keys(rec.pii as object), [nine.pseudonym]);
  assert.deepEqual(revealed(rec, keys).target, {
    email: 'nine@example.com',
    id: 'u-9',
    type: 'user',
  });
  const project = store({ actor: 'admin-1', target: { type: 'project', id: 'p-3' } }, s);
  assert.deepEqual(project.target, { id: 'p-3', type: 'project' });
});

test('identifier fields anywhere become the pseudonym of that person', () => {
  const keys = new MemoryKeys();
  const rec = store({ actor: 'admin', data: { user_id: 'u-5', customerId: 77 } }, settings(keys));
  assert.deepEqual(rec.data, {
    customerId: keys.subject('77').pseudonym,
    user_id: keys.subject('u-5').pseudonym,
  });
});

test('IP addresses can be truncated and kept in clear instead', () => {
  const keys = new MemoryKeys();
  const rec = store(
    { data: { ip: '203.0.113.77' }, msg: 'from 2001:db8:85a3:1234::1' },
    settings(keys, { ip_addresses: 'truncate' }),
  );
  assert.deepEqual(rec.data, { ip: '203.0.113.0/24' });
  assert.equal(rec.msg, 'from 2001:db8:85a3::/48');
  assert.equal(rec.pii, undefined);
});

test('rules from the configuration: key and pattern rules, remove, encrypt and keep', () => {
  const keys = new MemoryKeys();
  const s = settings(keys, {
    keys: { employee_number: 'encrypt', trace_id: 'keep' },
    patterns: [
      { name: 'order_id', pattern: '(?<![\\w-])ORD-\\d{6}(?!\\d)', mode: 'keep' },
      { name: 'badge', pattern: '(?<![\\w-])BDG-\\d{4}(?!\\d)', mode: 'remove' },
    ],
  });
  const rec = store(
    {
      actor: 'u-1',
      data: {
        'Employee-Number': 'E-991',
        trace_id: 'sk-aaaaaaaaaaaaaaaaaaaaaaaa',
        note: 'order ORD-411111 badge BDG-1234',
      },
    },
    s,
  );
  const data = rec.data as Record<string, unknown>;
  assert.equal(data['Employee-Number'], '[employeenumber#1]');
  assert.equal(data.trace_id, 'sk-aaaaaaaaaaaaaaaaaaaaaaaa', 'kept as configured');
  assert.equal(data.note, 'order ORD-411111 badge [REDACTED:badge]');
});

test('configured patterns must be safe: one that can backtrack super-linearly is refused at start', async () => {
  const err = await expectCode('CONFIG_INVALID', () =>
    resolveConfig(
      { classification: { patterns: [{ name: 'bad', pattern: '(a+)+b', mode: 'remove' }] } },
      process.cwd(),
    ),
  );
  assert.match(err.message, /classification\.patterns\.bad: .*super-linearly/);
  await expectCode('CONFIG_INVALID', () =>
    resolveConfig(
      { classification: { patterns: [{ name: 'x', pattern: '(', mode: 'remove' }] } },
      process.cwd(),
    ),
  );
  await expectCode('CONFIG_INVALID', () =>
    resolveConfig({ classification: { keys: { a: 'explode' } } }, process.cwd()),
  );
});

test('hostile values: __proto__, cycles, Errors with cause chains, axios-style headers, Maps, Buffers, BigInt, Dates', () => {
  const keys = new MemoryKeys();
  const cause = new Error('upstream said: password=hunter2');
  const axiosError = Object.assign(new Error('Request failed with status code 401', { cause }), {
    config: {
      headers: {
        Authorization: 'Bearer abcdefghijklmnopqrstuvwxyz',
        'Content-Type': 'application/json',
      },
      url: 'https://u:p4ss@api.example.com/x?api_key=zzz',
    },
  });
  const cyclic: Record<string, unknown> = { email: 'loop@example.com' };
  cyclic.self = cyclic;
  const rec = store(
    {
      actor: 'u-1',
      data: {
        err: axiosError,
        cyclic,
        map: new Map([['password', 'hunter3']]),
        buf: Buffer.from('ghp_' + 'a'.repeat(36)),
        big: 12n,
        when: new Date(0),
        proto: JSON.parse('{"__proto__":{"token":"abc"}}') as unknown,
      },
    },
    settings(keys),
  );
  const text = JSON.stringify(rec);
  for (const secret of [
    'hunter2',
    'hunter3',
    'abcdefghijklmnopqrstuvwxyz',
    'p4ss',
    'zzz',
    'ghp_',
    'loop@example.com',
  ]) {
    assert.ok(!text.includes(secret), `${secret} leaked`);
  }
  const err = (rec.data as Record<string, Record<string, unknown>>).err!;
  assert.deepEqual((err.config as Record<string, unknown>).headers, {
    Authorization: '[REDACTED:authorization]',
    'Content-Type': 'application/json',
  });
  assert.match(
    String((err.cause as Record<string, unknown>).message),
    /password=\[REDACTED:secret\]/,
  );
  assert.match(String(err.stack), /Request failed/);
  assert.deepEqual(
    (rec.data as Record<string, unknown>).proto,
    JSON.parse('{"__proto__":{"token":"[REDACTED:token]"}}'),
  );
  assert.equal(({} as Record<string, unknown>).token, undefined);
});

test('a secret or personal value as a key is replaced too, and the record stays canonical', () => {
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghijklmnop';
  const rec = store(
    { actor: 'u-1', data: { [jwt]: 1, 'a@example.com': 2, zeta: 3 } },
    settings(new MemoryKeys()),
  );
  assert.deepEqual(Object.keys(rec.data as object), ['[REDACTED:jwt]', '[email#1]', 'zeta']);
});

test('error messages never repeat a secret the producer sent', () => {
  const s = settings(new MemoryKeys());
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghijklmnop';
  const token = `ghp_${'b'.repeat(36)}`;
  const cases: unknown[] = [
    { [jwt]: 1 },
    { level: token },
    { channel: 'xoxb-1234567890-abcdefghij' },
    { event: token },
    { request_id: 'a b' },
    { data: { [token]: { x: NaN } } },
    { data: { [token]: 'x'.repeat(70_000) } },
  ];
  for (const input of cases) {
    let message = '';
    try {
      prepareEvent(input, { ...LIMITS, classification: s });
    } catch (err) {
      message = (err as Error).message;
    }
    assert.notEqual(message, '', `${JSON.stringify(Object.keys(input as object))} was refused`);
    for (const secret of [jwt, token, 'xoxb-1234567890-abcdefghij'])
      assert.ok(!message.includes(secret), message);
  }
});

test('the rules are introspectable: configured ones first, then every built-in name and detector', async () => {
  const { describeClassification } = await import('../../src/redact/describe.js');
  const { compileClassifier } = await import('../../src/redact/compile.js');
  const c = resolveConfig(
    { classification: { keys: { employee_number: 'encrypt' }, ip_addresses: 'truncate' } },
    process.cwd(),
  ).classification;
  const rules = describeClassification(compileClassifier(c));
  assert.deepEqual(rules[0], {
    kind: 'key',
    match: 'employeenumber',
    mode: 'encrypt',
    source: 'config',
  });
  assert.ok(rules.some((r) => r.kind === 'key' && r.match === 'password' && r.mode === 'remove'));
  assert.ok(rules.some((r) => r.kind === 'detector' && r.match === 'card' && r.mode === 'mask'));
  assert.ok(
    rules.some((r) => r.kind === 'detector' && r.match === 'ipv4' && r.mode === 'keep'),
    'truncated, kept in clear',
  );
  assert.ok(
    rules.some((r) => r.kind === 'detector' && r.match === 'email' && r.mode === 'encrypt'),
  );
});
