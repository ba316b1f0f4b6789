import { brandAccepts, ibanValid, ipv6Valid, nirValid } from './validators.js';

/**
 * Value detectors: secrets and personal data found by their shape, wherever they sit in a
 * string. Every pattern runs in linear time on hostile input: matches can only start at a
 * token boundary (a lookbehind), and every quantifier is bounded, so no position is scanned
 * more than a constant number of times (test/redact/redos.test.ts feeds each 1 MiB of
 * adversarial text; the regexp lint rules check for super-linear backtracking).
 */

export type SecretKind =
  | 'jwt'
  | 'bearer'
  | 'basic'
  | 'private_key'
  | 'aws_key'
  | 'github_token'
  | 'gitlab_token'
  | 'slack_token'
  | 'slack_webhook'
  | 'stripe_key'
  | 'google_key'
  | 'npm_token'
  | 'openai_key'
  | 'url_credentials'
  | 'secret_param'
  | 'secret'
  | 'card';

export type PersonalKind = 'email' | 'phone' | 'ip' | 'nir' | 'iban';

/** A finding: the range [start, end) of `text` and what it is. */
export interface Hit {
  start: number;
  end: number;
  kind: SecretKind | PersonalKind;
  secret: boolean;
}

export type HitSink = (
  start: number,
  end: number,
  kind: SecretKind | PersonalKind,
  secret: boolean,
) => void;

/** Cheap facts about a string, computed in one pass, that decide which detectors run. */
export interface Features {
  at: boolean;
  colon: boolean;
  equals: boolean;
  digits: boolean;
  /** A run of 16 or more token characters (letters, digits, _ and -). */
  longToken: boolean;
  /** Upper-case letters (IBAN). */
  upper: boolean;
  dot: boolean;
  space: boolean;
  /** Counts that rule detectors out: a card needs 13 digits, an IPv4 address 3 dots... */
  digitCount: number;
  dots: number;
  colons: number;
  /** Something any detector could start from; when false, none is run. */
  any: boolean;
}

const NONE: readonly RegExpExecArray[] = [];

/**
 * Every match of a global regex in a string. Unlike String#matchAll it neither clones the
 * regex nor allocates when nothing matches, which is almost always.
 */
export function matches(re: RegExp, s: string): readonly RegExpExecArray[] {
  re.lastIndex = 0;
  let m = re.exec(s);
  if (m === null) return NONE;
  const out: RegExpExecArray[] = [];
  while (m !== null) {
    out.push(m);
    if (m[0].length === 0) re.lastIndex++;
    m = re.exec(s);
  }
  return out;
}

export function features(s: string): Features {
  const f: Features = {
    at: false,
    colon: false,
    equals: false,
    digits: false,
    longToken: false,
    upper: false,
    dot: false,
    space: false,
    digitCount: 0,
    dots: 0,
    colons: 0,
    any: false,
  };
  let run = 0;
  let digitRun = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const isDigit = c >= 48 && c <= 57;
    const isUpper = c >= 65 && c <= 90;
    const isToken = isDigit || isUpper || (c >= 97 && c <= 122) || c === 95 || c === 45;
    run = isToken ? run + 1 : 0;
    if (isDigit) {
      digitRun++;
      f.digitCount++;
    } else digitRun = 0;
    if (run >= 16) f.longToken = true;
    if (digitRun >= 2) f.digits = true;
    if (isUpper) f.upper = true;
    else if (c === 64) f.at = true;
    else if (c === 58) f.colons++;
    else if (c === 61) f.equals = true;
    else if (c === 46) f.dots++;
    else if (c === 32 || c === 9 || c === 10) f.space = true;
  }
  f.colon = f.colons > 0;
  f.dot = f.dots > 0;
  // "-----BEGIN" is a long token; "Bearer x" has a space; every other detector needs a flag.
  f.any = f.at || f.colon || f.equals || f.digits || f.longToken || f.dot || f.space;
  return f;
}

// --- secrets with a known shape -------------------------------------------------------------

const TOKEN_SECRETS =
  /(?<![\w-])(?:eyJ[\w-]{8,8192}\.[\w-]{2,8192}\.[\w-]{0,8192}|(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA)[A-Z0-9]{16}|gh[oprsu]_[a-zA-Z0-9]{36,251}|github_pat_\w{22,255}|gl(?:pat|dt|rt|ptt|ft|cbt|soat|imt)-[\w-]{20,200}|xox[aboprs]-[a-zA-Z0-9-]{10,250}|xapp-\d-[a-zA-Z0-9-]{20,250}|[rs]k_(?:live|test)_[a-zA-Z0-9]{16,247}|whsec_[a-zA-Z0-9]{24,247}|AIza[\w-]{35}|GOCSPX-[\w-]{20,60}|ya29\.[\w.-]{20,2048}|npm_[a-zA-Z0-9]{36}|sk-(?:proj-|svcacct-|admin-|ant-)?[\w-]{20,250})(?![\w-])/g;

function tokenKind(token: string): SecretKind {
  if (token.startsWith('eyJ')) return 'jwt';
  if (token.startsWith('gh') || token.startsWith('github_pat_')) return 'github_token';
  if (token.startsWith('gl')) return 'gitlab_token';
  if (token.startsWith('xox') || token.startsWith('xapp-')) return 'slack_token';
  if (token.startsWith('sk_') || token.startsWith('rk_') || token.startsWith('whsec_'))
    return 'stripe_key';
  if (token.startsWith('AIza') || token.startsWith('GOCSPX-') || token.startsWith('ya29.'))
    return 'google_key';
  if (token.startsWith('npm_')) return 'npm_token';
  if (token.startsWith('sk-')) return 'openai_key';
  return 'aws_key';
}

const AUTH = /\b(bearer|basic)[\t ]{1,8}([\w.~+/-]{8,4096}=*)/gi;
const URL_CREDENTIALS = /\b[a-z][\d+.a-z-]{1,20}:\/\/([^\s#/:?@]{1,256}:[^\s#/?@]{1,256})@/gi;
const SLACK_WEBHOOK = /hooks\.slack\.com\/(?:services|workflows)\/([\w/-]{10,200})/g;
const SECRET_PARAM =
  /[&;?](?:[\w.-]{0,40}(?:token|secret|password|passwd|pwd|api[_-]?key|signature|credential|session(?:id)?|auth)[\w.-]{0,40}|key|sig|code)=([^\s"#&']{1,8192})/gi;
const SECRET_ASSIGNMENT =
  /(?<![\w-])[\w-]{0,40}(?:password|passwd|pwd|secret|token|api[_-]?key|private[_-]?key|authorization|cookie|session(?:[_-]?id)?|credentials?)[\w-]{0,40}["']?[\t ]{0,4}[:=][\t ]{0,4}(?:"([^\n"]{1,4096})"|'([^\n']{1,4096})'|([^\s"',;&}]{1,4096}))/gi;
// Card numbers as they are written: 13-19 digits in one piece, or 4-4-4-x and 4-6-x groups with
// one kind of separator. Each match is at most 22 characters and the scan resumes after it.
// Every name SECRET_ASSIGNMENT can start from contains one of these: a cheap test first.
const SECRET_WORD = /pass|pwd|secret|token|key|auth|cookie|session|credential/i;
// Digit runs are bounded by word boundaries, not only digit ones: digits inside a hex identifier
// (a pseudonym sub_0963645454ad…, a request id, a digest) are not a card, a phone or a NIR.
const CARD =
  /(?<![\w-])(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{1,7}|\d{4}([ -])\d{6}\2\d{4,5})\b/g;

/** Is s[start, end) (digits and separators) a card number? Luhn and brand, without copying. */
function cardAt(s: string, start: number, end: number): boolean {
  let n = 0;
  let sum = 0;
  let four = 0;
  for (let i = end - 1; i >= start; i--) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) continue;
    sum += n % 2 === 1 ? (d > 4 ? d * 2 - 9 : d * 2) : d;
    n++;
  }
  for (let i = start, k = 0; k < 4; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) continue;
    four = four * 10 + d;
    k++;
  }
  return sum % 10 === 0 && brandAccepts(four, n);
}

const PEM_BEGIN = '-----BEGIN';
const PEM_KEY = 'PRIVATE KEY-----';
const PEM_END = '-----END';

function privateKeys(s: string, hit: HitSink): void {
  for (let at = s.indexOf(PEM_BEGIN); at !== -1; at = s.indexOf(PEM_BEGIN, at + 1)) {
    const head = s.indexOf(PEM_KEY, at);
    // The header is `-----BEGIN [RSA |EC |OPENSSH |ENCRYPTED ]PRIVATE KEY-----`: short.
    if (head === -1 || head - at > 40) continue;
    const end = s.indexOf(PEM_END, head);
    const close = end === -1 ? -1 : s.indexOf('-----', end + PEM_END.length);
    // A key cut short (no END line) is still a key: remove it to the end of the string.
    const stop = close === -1 ? s.length : close + 5;
    hit(at, stop, 'private_key', true);
    at = stop - 1;
  }
}

/** A detector: what it finds, and a scan that reports hits (only if its features are present). */
export interface Detector {
  readonly name: string;
  readonly secret: boolean;
  readonly description: string;
  readonly run: (s: string, f: Features, hit: HitSink) => void;
}

const SECRET_DETECTORS: readonly Detector[] = [
  {
    name: 'tokens',
    secret: true,
    description:
      'JWTs and keys with a known shape: AWS, GitHub, GitLab, Slack, Stripe, Google, npm, OpenAI',
    run: (s, f, hit) => {
      if (!f.longToken) return;
      for (const m of matches(TOKEN_SECRETS, s))
        hit(m.index, m.index + m[0].length, tokenKind(m[0]), true);
    },
  },
  {
    name: 'private_key',
    secret: true,
    description: 'PEM private keys (-----BEGIN ... PRIVATE KEY-----), even cut short',
    run: (s, _f, hit) => {
      if (s.includes(PEM_BEGIN)) privateKeys(s, hit);
    },
  },
  {
    name: 'authorization',
    secret: true,
    description: 'Bearer and Basic credentials',
    run: (s, _f, hit) => {
      if (!/bearer|basic/i.test(s)) return;
      for (const m of matches(AUTH, s)) {
        const value = m[2] as string;
        hit(
          m.index + m[0].length - value.length,
          m.index + m[0].length,
          (m[1] as string).toLowerCase() as SecretKind,
          true,
        );
      }
    },
  },
  {
    name: 'url_credentials',
    secret: true,
    description: 'user:password in URLs (scheme://user:pass@host)',
    run: (s, f, hit) => {
      if (!f.colon || !f.at) return;
      for (const m of matches(URL_CREDENTIALS, s)) {
        const creds = m[1] as string;
        const start = m.index + m[0].length - 1 - creds.length;
        hit(start, start + creds.length, 'url_credentials', true);
      }
    },
  },
  {
    name: 'slack_webhook',
    secret: true,
    description: 'Slack incoming-webhook URLs',
    run: (s, _f, hit) => {
      if (!s.includes('hooks.slack.com')) return;
      for (const m of matches(SLACK_WEBHOOK, s)) {
        const path = m[1] as string;
        hit(m.index + m[0].length - path.length, m.index + m[0].length, 'slack_webhook', true);
      }
    },
  },
  {
    name: 'secret_param',
    secret: true,
    description: 'secret query parameters (?token=, &password=, &code=, X-Amz-Signature=, ...)',
    run: (s, f, hit) => {
      if (!f.equals) return;
      for (const m of matches(SECRET_PARAM, s)) {
        const value = m[1] as string;
        hit(m.index + m[0].length - value.length, m.index + m[0].length, 'secret_param', true);
      }
    },
  },
  {
    name: 'secret_assignment',
    secret: true,
    description: 'password=..., "token": "...", api_key: ... inside free text',
    run: (s, f, hit) => {
      if ((!f.equals && !f.colon) || !SECRET_WORD.test(s)) return;
      for (const m of matches(SECRET_ASSIGNMENT, s)) {
        const value = (m[1] ?? m[2] ?? m[3]) as string;
        const quoted = m[1] !== undefined || m[2] !== undefined ? 1 : 0;
        const end = m.index + m[0].length - quoted;
        hit(end - value.length, end, 'secret', true);
      }
    },
  },
  {
    name: 'card',
    secret: true,
    description: 'card numbers of a known brand that pass Luhn (kept: the last 4 digits)',
    run: (s, f, hit) => {
      if (f.digitCount < 13) return;
      CARD.lastIndex = 0;
      for (let m = CARD.exec(s); m !== null; m = CARD.exec(s)) {
        if (cardAt(s, m.index, m.index + m[0].length))
          hit(m.index, m.index + m[0].length, 'card', true);
      }
    },
  },
];

/** Secrets: removed (or, for cards, masked), never stored. */
export function findSecrets(s: string, f: Features, hit: HitSink): void {
  for (const d of SECRET_DETECTORS) d.run(s, f, hit);
}

// --- personal data ----------------------------------------------------------------------------

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

const PERSONAL_DETECTORS: readonly Detector[] = [
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

/** Every built-in detector, secrets first: for `dihya-logs policy` and the ReDoS test. */
export const DETECTORS: readonly Detector[] = [...SECRET_DETECTORS, ...PERSONAL_DETECTORS];
