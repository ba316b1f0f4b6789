import { matches, type Detector, type Features, type HitSink, type SecretKind } from './scan.js';
import { brandAccepts } from './validators.js';

/**
 * Secrets with a known shape (tokens, keys, credentials, card numbers), found wherever they sit
 * in a string: removed (or, for cards, masked), never stored. Linear time on hostile input, as
 * every detector (detectors.ts).
 */

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

// A credential after Bearer/Basic runs to white space, whatever it holds: a password may hold any
// printable character, and a Basic value is not always base64.
const AUTH = /\b(bearer|basic)[\t ]{1,8}(\S{8,4096})/gi;
// Where a URL starts; its credentials are delimited in code (urlCredentials).
const URL_START = /\b[a-z][\d+.a-z-]{1,20}:\/\//gi;
const SPACE = /\s/g;
// What may follow the closing quote of a quoted value (and SECRET_ASSIGNMENT's lookaheads).
const VALUE_END = ' \t\n\r&),;]}';
const SLACK_WEBHOOK = /hooks\.slack\.com\/(?:services|workflows)\/([\w/-]{10,200})/g;
// An unquoted secret value (SECRET_PARAM, SECRET_ASSIGNMENT) runs to white space, or to a `&`,
// `;` or `,` followed by another pair (`key=`, or `"key":` in JSON); any other `&`, `;`, `,`,
// quote or bracket is part of it: a password may hold any of them.
const SECRET_PARAM =
  /[&;?](?:[\w.-]{0,40}(?:token|secret|password|passwd|pwd|api[_-]?key|signature|credential|session(?:id)?|auth)[\w.-]{0,40}|key|sig|code)=((?:[^\s&,;]|[&,;](?![\t ]{0,4}(?:[\w.-]{1,64}=|\\?"[\w .-]{1,64}\\?"[\t ]{0,4}:))){1,8192})/gi;
// A quoted value runs to its closing quote, read with backslash escapes (JSON inside a string:
// `"pa\"ss"` is one value) or, failing that, without; it counts as quoted only when that quote
// ends it (white space, the end, `,`, `;`, `&`, `)`, `]`, `}` next). Otherwise it is unquoted.
const SECRET_ASSIGNMENT =
  /(?<![\w-])[\w-]{0,40}(?:password|passwd|pwd|secret|token|api[_-]?key|private[_-]?key|authorization|cookie|session(?:[_-]?id)?|credentials?)[\w-]{0,40}\\?["']?[\t ]{0,4}[:=][\t ]{0,4}("(?:[^\n"\\]|\\.){1,4096}"(?=[\s&),;\]}]|$)|"[^\n"]{1,4096}"(?=[\s&),;\]}]|$)|'(?:[^\n'\\]|\\.){1,4096}'(?=[\s&),;\]}]|$)|'[^\n']{1,4096}'(?=[\s&),;\]}]|$)|(?:[^\s&,;]|[&,;](?![\t ]{0,4}(?:[\w.-]{1,64}=|\\?"[\w .-]{1,64}\\?"[\t ]{0,4}:))){1,4096})/gi;
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

/**
 * Can s[from, to) be the user name of URL credentials? Not with `/`, `?` or `#` (a URL parser
 * ends the authority there) nor `"` (a URL in JSON, then `"key":"...@..."`). Ranges checked for
 * successive URLs never overlap: each ends at the first `:` after its own `://`.
 */
function userName(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2f || c === 0x3f || c === 0x23 || c === 0x22) return false;
  }
  return true;
}

/**
 * `user:password` in URLs. The user information runs from `://` to the last `@` before white
 * space, if a user name and a `:` come first: a password may hold `@`, `#`, `/`, `?` or `:`, so
 * it cannot end where a URL parser would end the authority. A `host:port/path@...` URL loses its
 * host and path to this: removing too much beats storing a password. Linear: the white space,
 * `@` and `:` positions only move forward.
 */
function urlCredentials(s: string, hit: HitSink): void {
  let segmentEnd = -1; // where the current run of non-space text ends
  let lastAt = -1; // the last @ in it
  // The next @ and : at or after the scan (-1: none left; -2: not looked for yet).
  let nextAt = -2;
  let nextColon = -2;
  let done = 0; // the end of the last credentials found: a URL inside them is not another
  for (const m of matches(URL_START, s)) {
    const from = m.index + m[0].length;
    if (from < done) continue;
    if (from > segmentEnd) {
      SPACE.lastIndex = from;
      const space = SPACE.exec(s);
      segmentEnd = space === null ? s.length : space.index;
      if (nextAt !== -1 && nextAt < from) nextAt = s.indexOf('@', from);
      lastAt = -1;
      while (nextAt !== -1 && nextAt < segmentEnd) {
        lastAt = nextAt;
        nextAt = s.indexOf('@', nextAt + 1);
      }
    }
    if (lastAt <= from) continue;
    if (nextColon !== -1 && nextColon < from) nextColon = s.indexOf(':', from);
    if (nextColon === -1 || nextColon >= lastAt || !userName(s, from, nextColon)) continue;
    hit(from, lastAt, 'url_credentials', true);
    done = lastAt;
  }
}

const kindOf = (scheme: string): SecretKind => scheme.toLowerCase() as SecretKind;

/**
 * In `"Bearer x"`, where the quote that opened before `Bearer` closes, in s[from, to): the first
 * one not escaped by a backslash and followed by what ends a value; -1 if none. A quote followed
 * by anything else is part of the credential.
 */
function closingQuote(s: string, from: number, to: number, q: string): number {
  for (let i = from; i < to; i++) {
    const c = s.charAt(i);
    if (c === '\\') i++;
    else if (c === q && (i + 1 === s.length || VALUE_END.includes(s.charAt(i + 1)))) return i;
  }
  return -1;
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

/** The secret detectors, in the order they run. */
export const SECRET_DETECTORS: readonly Detector[] = [
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
        const start = m.index + m[0].length - (m[2] as string).length;
        const q = s.charAt(m.index - 1);
        const end = q === '"' || q === "'" ? closingQuote(s, start, m.index + m[0].length, q) : -1;
        hit(start, end > start ? end : m.index + m[0].length, kindOf(m[1] as string), true);
      }
    },
  },
  {
    name: 'url_credentials',
    secret: true,
    description: 'user:password in URLs (scheme://user:pass@host), to the last @',
    run: (s, f, hit) => {
      if (f.colon && f.at) urlCredentials(s, hit);
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
        const value = m[1] as string;
        const end = m.index + m[0].length;
        // A quoted value loses its quotes; `""` is nothing to remove.
        const q = value.charAt(0);
        const quoted = (q === '"' || q === "'") && value.length > 1 && value.endsWith(q) ? 1 : 0;
        if (value.length > 2 * quoted)
          hit(end - value.length + quoted, end - quoted, 'secret', true);
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
