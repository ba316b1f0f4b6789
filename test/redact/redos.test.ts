import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DETECTORS } from '../../src/redact/detectors.js';
import { features } from '../../src/redact/scan.js';

const MiB = 1024 * 1024;
const fill = (unit: string): string => unit.repeat(Math.ceil(MiB / unit.length)).slice(0, MiB);

/**
 * Adversarial inputs: each repeats the start of some pattern without ever completing it, the
 * shape that makes a backtracking regex go quadratic or worse.
 */
const ATTACKS: Array<[string, string]> = [
  ['letters', fill('a')],
  ['digits', fill('1')],
  ['spaced digits', fill('1 ')],
  ['dashed digits', fill('4-')],
  ['jwt head', `eyJ${fill('a')}`],
  ['jwt heads', fill(' eyJaaaaaaaa.')],
  ['jwt dots', `eyJ${fill('aaaaaaa.')}`],
  ['aws', fill('AKIA')],
  ['github', fill('ghp_')],
  ['openai', fill('sk-')],
  ['slack', fill('xoxb-')],
  ['bearer', fill('bearer ')],
  ['bearer spaces', `bearer${fill(' ')}`],
  ['pem', fill('-----BEGIN PRIVATE KEY-----')],
  ['pem no end', `-----BEGIN RSA PRIVATE KEY-----${fill('A')}`],
  ['url scheme', fill('a://')],
  ['url user', `ab://${fill('a:')}`],
  ['query', fill('?token=')],
  ['query amp', fill('&x')],
  ['assignment', fill('password=')],
  ['assignment quote', `password: "${fill('a')}`],
  ['assignment keys', fill('xpasswordx ')],
  ['colons', fill(':')],
  ['hex colons', fill('a:')],
  ['dots', fill('1.')],
  ['octets', fill('255.')],
  ['at', fill('a@')],
  ['email domain', `a@${fill('b.')}`],
  ['email local', `${fill('a.')}@`],
  ['plus digits', fill('+1')],
  ['zeros', fill('06 ')],
  ['iban', fill('FR76 ')],
  ['iban blocks', fill('AB12')],
  ['nir', fill('1 84 ')],
  ['mixed', fill('a1@:=.-_+/ ')],
  // Where a secret value ends (issue 18): scans that look ahead or back for its end.
  ['url segments', `@${fill('a:// ')}`],
  ['url segments with @', fill('a://b@ ')],
  ['url ats', fill('a://b:c@')],
  ['url user names', fill(`a://${'b'.repeat(60)}@`)],
  ['assignment escapes', `password="${fill('\\"')}`],
  ['assignment quotes', fill('password="a"b ')],
  ['assignment separators', `password=${fill('&a')}`],
  ['assignment long pairs', `password=${fill(`&${'a'.repeat(63)}`)}`],
  ['assignment json pairs', `token=${fill(',"a a a" ')}`],
  ['bearer quoted', fill('"bearer aaaaaaaa"a ')],
];

test('every detector scans 1 MiB of adversarial text in under 50 ms', () => {
  const slow: string[] = [];
  for (const [attack, text] of ATTACKS) {
    const f = features(text);
    for (const d of DETECTORS) {
      // Best of three: other tests share the two cores. A super-linear pattern takes seconds
      // on 1 MiB, not a little over 50 ms, so the margin stays generous.
      let best = Infinity;
      for (let attempt = 0; attempt < 3 && best > 50; attempt++) {
        const t0 = performance.now();
        d.run(text, f, () => undefined);
        best = Math.min(best, performance.now() - t0);
      }
      if (best > 50) slow.push(`${d.name} on "${attack}": ${best.toFixed(1)} ms`);
    }
  }
  assert.deepEqual(slow, []);
});
