import { matches, type Detector, type Features, type HitSink } from './scan.js';
import { ibanValid, ipv6Valid, nirValid } from './validators.js';

/**
 * Personal data found by its shape (e-mail addresses, phone numbers, IP addresses, NIRs, IBANs):
 * encrypted under its subject's key and replaced by a placeholder. Linear time on hostile
 * input, as every detector (detectors.ts).
 */

const EMAIL = /(?<![\w%+.-])[\w%+.-]{1,64}@[a-z\d-]{1,63}(?:\.[a-z\d-]{1,63}){1,8}(?![\w-])/gi;
const PHONE_INTERNATIONAL = /(?<![\w+])\+[1-9](?:[ .-]?\d){6,14}\b/g;
const PHONE_FRENCH = /(?<![\w+])(?:00 ?33[ .]?[1-9]|0[1-9])(?:[ .-]?\d{2}){4}\b/g;
const IPV4 =
  /(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\.?\d|\w)/g;
const IPV6 = /(?<![\w.:])(?:[\da-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[\da-f]{0,4})(?![\w:])/gi;
const NIR = /\b[12] ?\d{2} ?(?:0[1-9]|1[0-2]|[2-9]\d) ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}\b/g;
const IBAN = /(?<![A-Z\d])[A-Z]{2}\d{2}(?: ?[A-Z\d]{4}){2,7}(?: ?[A-Z\d]{1,4})?(?![A-Z\d])/g;
const VERSION_BEFORE = /(?:\bv|version|ver\.)\s*$/i;

/** Loopback and unspecified addresses say nothing about a person. */
function meaningfulIp(ip: string): boolean {
  return !ip.startsWith('127.') && ip !== '0.0.0.0' && ip !== '::1' && ip !== '::';
}

/** The personal-data detectors, in the order they run. */
export const PERSONAL_DETECTORS: readonly Detector[] = [
  {
    name: 'email',
    secret: false,
    description: 'e-mail addresses',
    run: (s, f, hit) => {
      if (!f.at) return;
      for (const m of matches(EMAIL, s)) {
        const tld = m[0].slice(m[0].lastIndexOf('.') + 1);
        if (/^[a-z]{2,24}$/i.test(tld)) hit(m.index, m.index + m[0].length, 'email', false);
      }
    },
  },
  {
    name: 'phone',
    secret: false,
    description: 'phone numbers: E.164 (+33 6 12 34 56 78) and French national formats',
    run: (s, f, hit) => {
      if (f.digitCount < 7) return;
      if (s.includes('+'))
        for (const m of matches(PHONE_INTERNATIONAL, s))
          hit(m.index, m.index + m[0].length, 'phone', false);
      for (const m of matches(PHONE_FRENCH, s)) hit(m.index, m.index + m[0].length, 'phone', false);
    },
  },
  {
    name: 'nir',
    secret: false,
    description: 'French social security numbers (NIR) with a valid key',
    run: (s, f, hit) => {
      if (f.digitCount < 13) return;
      for (const m of matches(NIR, s))
        if (nirValid(m[0])) hit(m.index, m.index + m[0].length, 'nir', false);
    },
  },
  {
    name: 'iban',
    secret: false,
    description: 'IBANs that pass the mod-97 check',
    run: (s, f, hit) => {
      if (f.digitCount < 4 || !f.upper) return;
      for (const m of matches(IBAN, s))
        if (ibanValid(m[0])) hit(m.index, m.index + m[0].length, 'iban', false);
    },
  },
  {
    name: 'ipv4',
    secret: false,
    description: 'IPv4 addresses (not loopback, not version strings)',
    run: (s, f, hit) => {
      if (f.dots < 3 || f.digitCount < 4) return;
      for (const m of matches(IPV4, s)) {
        if (!meaningfulIp(m[0])) continue;
        if (VERSION_BEFORE.test(s.slice(Math.max(0, m.index - 10), m.index))) continue; // v1.2.3.4
        hit(m.index, m.index + m[0].length, 'ip', false);
      }
    },
  },
  {
    name: 'ipv6',
    secret: false,
    description: 'IPv6 addresses (not ::1, not times or MAC addresses)',
    run: (s, f, hit) => {
      if (f.colons < 2) return;
      for (const m of matches(IPV6, s)) {
        if (ipv6Valid(m[0]) && meaningfulIp(m[0])) hit(m.index, m.index + m[0].length, 'ip', false);
      }
    },
  },
];

/** Personal data: encrypted under its subject's key, replaced by a placeholder. */
export function findPersonal(s: string, f: Features, hit: HitSink): void {
  for (const d of PERSONAL_DETECTORS) d.run(s, f, hit);
}
