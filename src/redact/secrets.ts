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
