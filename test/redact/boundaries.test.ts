import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileClassifier } from '../../src/redact/compile.js';
import { DEFAULT_CLASSIFICATION } from '../../src/redact/settings.js';

// Where a secret value ends (docs/classification.md): the strings of issue 18, and the ordinary
// text that must stay as it is.

const classifier = compileClassifier(DEFAULT_CLASSIFICATION);

/** The stored text, and the personal values handed over for encryption. */
function scan(s: string): { text: string; personal: string[] } {
  const personal: string[] = [];
  const text = classifier.scan(s, {
    personal: (kind, value) => {
      personal.push(value);
      return `[${kind}#${personal.length}]`;
    },
    identifier: (id) => id,
  });
  return { text, personal };
}

const expect = (input: string, stored: string, personal: string[] = []): void => {
  assert.deepEqual(scan(input), { text: stored, personal }, input);
};

test('URL credentials run to the last @: a password with #, @, /, ? or : is removed whole, not taken for an e-mail', () => {
  expect('postgres://user:pa#ss@host/db', 'postgres://[REDACTED:url_credentials]@host/db');
  expect(
    'postgres://admin:p@ss#w/rd?x@db.example.com:5432/app',
    'postgres://[REDACTED:url_credentials]@db.example.com:5432/app',
  );
  expect(
    'retry mysql://svc:a:b@c@db.internal/app then amqp://g:h#i@mq.example.com',
    'retry mysql://[REDACTED:url_credentials]@db.internal/app then amqp://[REDACTED:url_credentials]@mq.example.com',
  );
  // A user name may hold an @; a password anything.
  expect(
    'postgres://me@corp.com:pw#x@db.example.com/app',
    'postgres://[REDACTED:url_credentials]@db.example.com/app',
  );
  // A URL in JSON, then an e-mail address: the `:` after `"email"` follows no user name.
  expect(
    '{"url":"https://example.com/a","email":"bob@example.org"}',
    '{"url":"https://example.com/a","email":"[email#1]"}',
    ['bob@example.org'],
  );
  // No password, no credentials: a user at a host is an e-mail address, as before.
  expect('https://user@example.org/path', 'https://[email#1]/path', ['user@example.org']);
});

test('free text: password= runs past &, ; and , that start no other pair', () => {
  expect(
    'login failed password=ab&cdefgh for bob',
    'login failed password=[REDACTED:secret] for bob',
  );
  expect('smtp_password=ab,cd!ef; user=x', 'smtp_password=[REDACTED:secret]; user=x');
  expect(
    'user=u&password=ab>&cd/ef&remember=1',
    'user=u&password=[REDACTED:secret_param]&remember=1',
  );
  expect('a=1, password=ab;cd,ef&gh, b=2', 'a=1, password=[REDACTED:secret], b=2');
  expect('a=1;secret=x&y;b=2', 'a=1;secret=[REDACTED:secret_param];b=2');
  expect('GET /cb?code=ab&cd#ef&state=ok 302', 'GET /cb?code=[REDACTED:secret_param]&state=ok 302');
});

test('quoted values run to the closing quote; JSON escapes inside a string are followed', () => {
  expect('{"password":"pa\\"ss","x":1}', '{"password":"[REDACTED:secret]","x":1}');
  expect('{"password":"a\\\\","x":1}', '{"password":"[REDACTED:secret]","x":1}');
  expect('password="C:\\dir\\" next "x"', 'password="[REDACTED:secret]" next "x"');
  expect("db_password: 'pa ss', host=db", "db_password: '[REDACTED:secret]', host=db");
  // JSON of JSON, its quotes escaped: the value runs to the next pair.
  expect(
    '{"body":"{\\"password\\":\\"pa#s,s\\",\\"n\\":1}"}',
    '{"body":"{\\"password\\":[REDACTED:secret],\\"n\\":1}"}',
  );
  // A quote that does not end the value is part of it.
  expect('password="ab"cd&remember=1', 'password=[REDACTED:secret]&remember=1');
});

test('Basic and Bearer credentials run to white space, or to the quote that opened before them', () => {
  expect('Authorization: Bearer ab#cd!ef/gh', 'Authorization: [REDACTED:secret] [REDACTED:bearer]');
  expect('proxy said basic ab:c"d@e f', 'proxy said basic [REDACTED:basic] f');
  expect(
    '{"headers":{"authorization":"Bearer ab#cd!ef"}}',
    '{"headers":{"authorization":"[REDACTED:secret]"}}',
  );
  expect('x "Bearer ab#cd"ef!gh", y', 'x "Bearer [REDACTED:bearer]", y');
});

test('two detectors that disagree on where a secret ends: both ends go', () => {
  // The URL's credentials end at the last @; the query parameter inside them runs on.
  expect(
    'redis://default:x&token=ab@cdefghij@cache.example.org/0 up',
    'redis://[REDACTED:url_credentials] up',
  );
});

test('ordinary text stays: pairs without a secret name, JSON numbers, URLs without credentials', () => {
  for (const s of [
    'a=1&b=2',
    'https://x.io/search?q=cats&page=2#top',
    'the password field is required',
    'retry 3, timeout=30s; ok',
    '{"a":1,"b":"x,y;z&w"}',
    'see https://example.com/docs and https://example.org/a?b=c',
  ])
    expect(s, s);
  expect('{"max_tokens":1000,"model":"x"}', '{"max_tokens":[REDACTED:secret],"model":"x"}');
});
