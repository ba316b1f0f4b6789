import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { findPersonal } from '../../src/redact/personal.js';
import { features } from '../../src/redact/scan.js';
import { findSecrets } from '../../src/redact/secrets.js';
import { ibanValid, looksLikeCard, luhnValid, nirValid } from '../../src/redact/validators.js';

/** What the detectors find in a string: "kind=text" for each hit. */
function found(s: string): string[] {
  const hits: string[] = [];
  const f = features(s);
  const sink = (a: number, b: number, kind: string): void => {
    hits.push(`${kind}=${s.slice(a, b)}`);
  };
  findSecrets(s, f, sink);
  findPersonal(s, f, sink);
  return hits;
}

const has = (s: string, expected: string): void => {
  assert.ok(
    found(s).includes(expected),
    `${JSON.stringify(s)}: expected ${expected}, found ${JSON.stringify(found(s))}`,
  );
};
const none = (s: string): void => {
  assert.deepEqual(found(s), [], `${JSON.stringify(s)} is not a secret nor personal data`);
};

const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';

test('JWT: anywhere in text; not a lone base64 segment', () => {
  has(`token ${JWT} end`, `jwt=${JWT}`);
  has(`{"t":"${JWT}"}`, `jwt=${JWT}`);
  none('eyJhbGciOiJIUzI1NiJ9 alone is only a header');
  none('eyJ.eyJ.x');
});

test('Bearer and Basic credentials', () => {
  has('Authorization: Bearer abcdefgh12345678', 'bearer=abcdefgh12345678');
  has('authorization: basic dXNlcjpwYXNzd29yZA==', 'basic=dXNlcjpwYXNzd29yZA==');
  none('a bearer of bad news');
  none('basic usage of the api');
});

test('PEM private keys, even cut short; public keys and certificates stay', () => {
  const key = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----';
  has(`key: ${key} done`, `private_key=${key}`);
  has(
    '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1r',
    'private_key=-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1r',
  );
  none('-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAK\n-----END CERTIFICATE-----');
  none('-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZ\n-----END PUBLIC KEY-----');
});

test('cloud and SaaS keys with a known shape', () => {
  const cases: Array<[string, string]> = [
    ['aws_key', 'AKIAIOSFODNN7EXAMPLE'],
    ['aws_key', 'ASIAY34FZKBOKMUTVV7A'],
    ['github_token', `ghp_${'a1B2'.repeat(9)}`],
    ['github_token', `github_pat_11ABCDEFG0${'x'.repeat(72)}`],
    ['gitlab_token', 'glpat-xXxXxXxXxXxXxXxXxXxX'],
    ['slack_token', 'xoxb-263594206564-2343594206574-FGqddMF8t08v8N7Oq4i57vs1'],
    ['stripe_key', 'sk_live_4eC39HqLyjWDarjtT1zdp7dc'],
    ['stripe_key', 'rk_test_51H8aaaaaaaaaaaaaaaaaaaa'],
    ['google_key', 'AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe'],
    ['npm_token', `npm_${'A1b2C3'.repeat(6)}`],
    ['openai_key', `sk-proj-${'Ab1'.repeat(16)}`],
    ['openai_key', `sk-${'Zz9'.repeat(16)}`],
  ];
  for (const [kind, secret] of cases) has(`the key is ${secret}.`, `${kind}=${secret}`);
  none('AKIA1234'); // too short
  none('the task-list-is-longer-than-twenty'); // "sk-" inside a word
  none(`ghp_${'a'.repeat(10)}`); // too short for a GitHub token
  none('sk_live'); // prefix only
});

test('Slack webhooks: the secret path', () => {
  has(
    'post to https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX now',
    'slack_webhook=T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX',
  );
});

test('credentials in URLs and secret query parameters; other parameters stay', () => {
  has('postgres://admin:s3cr3t@db.example.com:5432/app', 'url_credentials=admin:s3cr3t');
  has('https://x.io/cb?code=abc123&state=ok', 'secret_param=abc123');
  has('https://x.io/a?page=2&access_token=zzz999', 'secret_param=zzz999');
  has(
    'https://s3.amazonaws.com/b/k?X-Amz-Signature=deadbeef&X-Amz-Date=1',
    'secret_param=deadbeef',
  );
  assert.equal(found('https://x.io/search?q=cats&page=2').length, 0);
  // A user without a password is no secret, but a user name at a host is personal data.
  assert.deepEqual(found('https://user@example.org/path'), ['email=user@example.org']);
});

test('password=... and "password": "..." inside free text', () => {
  has('login failed password=hunter2 for bob', 'secret=hunter2');
  has('{"password": "my secret pass", "x": 1}', 'secret=my secret pass');
  has("db_password: 'pa ss'", 'secret=pa ss');
  has('API_KEY=abc123def', 'secret=abc123def');
  none('the password field is required');
  none('passwordless sign-in');
});

test('card numbers that pass Luhn and match a brand; near misses stay', () => {
  has('card 4111 1111 1111 1111 ok', 'card=4111 1111 1111 1111');
  has('5500-0000-0000-0004', 'card=5500-0000-0000-0004');
  has('amex 378282246310005', 'card=378282246310005');
  none('order 4111111111111112'); // fails Luhn
  none('order 1234567812345670'); // passes Luhn, but no brand starts with 1 (an order number)
  none('ts 1795480465741'); // a millisecond timestamp
  assert.ok(luhnValid('79927398713') && !luhnValid('79927398710'));
  assert.ok(looksLikeCard('4012888888881881') && !looksLikeCard('1234567812345670'));
});

test('e-mail addresses; near misses stay', () => {
  has('mail jean.dupont+x@example.fr please', 'email=jean.dupont+x@example.fr');
  has('<Marie.Curie@Sorbonne.EDU>', 'email=Marie.Curie@Sorbonne.EDU');
  none('user@localhost');
  none('version 1.2@beta');
  none('@handle on social media');
});

test('phone numbers: E.164 and French formats; near misses stay', () => {
  has('call +33 6 12 34 56 78', 'phone=+33 6 12 34 56 78');
  has('call +14155552671', 'phone=+14155552671');
  has('tel 06.12.34.56.78', 'phone=06.12.34.56.78');
  has('tel 0612345678.', 'phone=0612345678');
  has('tel 0033 6 12 34 56 78', 'phone=0033 6 12 34 56 78');
  none('order 2024-11-25');
  none('the total is 12 34 56');
  none('timezone +0100');
  // Ten digits inside an identifier: a pseudonym, a uuid's last group, a hash.
  none('actor sub_0963645454ad4289b2bb4d2e');
  none('commit cafe0612345678');
  none('request 1b9d6bcd-bbfd-4b2d-9b5d-0612345678ab');
  none('digest e3b0c44298fc1c1490612345678b4c8996fb92427ae41e4649b934ca495991b7852b855');
  has('(0612345678)', 'phone=0612345678');
});

test('IPv4 and IPv6 addresses; versions, loopback and times stay', () => {
  has('from 203.0.113.7:443', 'ip=203.0.113.7');
  has('connect to 10.0.0.1.', 'ip=10.0.0.1');
  has('from 2001:db8:85a3::8a2e:370:7334 ok', 'ip=2001:db8:85a3::8a2e:370:7334');
  has('[fe80::1]', 'ip=fe80::1');
  none('version 1.2.3.4');
  none('v1.2.3.4');
  none('1.2.3');
  none('256.1.1.1');
  none('1.2.3.4.5');
  none('127.0.0.1 and ::1');
  none('12:34:56');
  none('mac 00:1A:2B:3C:4D:5E');
});

test('French NIR with a valid key; a wrong key stays', () => {
  // 2 55 08 14 168 025 38: key = 97 - (2550814168025 mod 97) = 38
  has('nir 2 55 08 14 168 025 38', 'nir=2 55 08 14 168 025 38');
  has('nir 255081416802538', 'nir=255081416802538');
  none('nir 2 55 08 14 168 025 39');
  // Corsica: department 2A counts as 19 in the key.
  const key = 97n - (1841219451089n % 97n);
  assert.ok(nirValid(`1 84 12 2A 451 089 ${String(key).padStart(2, '0')}`));
  assert.ok(!nirValid(`1 84 12 2A 451 089 ${String(key + 1n).padStart(2, '0')}`));
});

test('IBANs checked with mod-97; a wrong check digit stays', () => {
  has('iban FR76 3000 6000 0112 3456 7890 189 ok', 'iban=FR76 3000 6000 0112 3456 7890 189');
  has('DE89370400440532013000', 'iban=DE89370400440532013000');
  none('FR76 3000 6000 0112 3456 7890 188');
  assert.ok(ibanValid('GB82 WEST 1234 5698 7654 32') && !ibanValid('GB82 WEST 1234 5698 7654 33'));
});

test('identifiers are neither secrets nor personal data: random uuids, hex digests (both cases) and pseudonyms', () => {
  for (let i = 0; i < 10_000; i++) {
    for (const id of [
      randomUUID(),
      randomBytes(32).toString('hex'),
      randomBytes(32).toString('hex').toUpperCase(),
      `sub_${randomBytes(12).toString('hex')}`,
    ])
      assert.deepEqual(found(`id ${id} done`), [], id);
  }
});
