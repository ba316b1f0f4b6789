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

/** Best of `tries` runs of one detector over `text`, in ms. */
function best(d: (typeof DETECTORS)[number], text: string, tries: number): number {
  const f = features(text);
  let min = Infinity;
  for (let attempt = 0; attempt < tries; attempt++) {
    const t0 = performance.now();
    d.run(text, f, () => undefined);
    min = Math.min(min, performance.now() - t0);
  }
  return min;
}

/**
 * What fails is growth, not a slow moment: the tests share two cores, so a linear scan can take
 * 75 ms once. A scan is suspect when 1 MiB takes over 50 ms; it fails when it is over a second
 * (a super-linear pattern takes minutes on 1 MiB) or when four times the text takes more than
 * eight times as long (quadratic is sixteen).
 */
test('every detector scans adversarial text in linear time: 1 MiB fast, and 4x the text at most ~4x the time', () => {
  const slow: string[] = [];
  for (const [attack, text] of ATTACKS) {
    for (const d of DETECTORS) {
      const whole = best(d, text, 1);
      if (whole <= 50) continue;
      const again = best(d, text, 5);
      if (again <= 50) continue;
      const quarter = best(d, text.slice(0, MiB / 4), 5);
      const ratio = again / Math.max(quarter, 1);
      if (again > 1000 || ratio > 8) {
        slow.push(
          `${d.name} on "${attack}": ${again.toFixed(1)} ms, ${ratio.toFixed(1)}x a quarter`,
        );
      }
    }
  }
  assert.deepEqual(slow, []);
});
