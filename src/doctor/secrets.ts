import { randomBytes } from 'node:crypto';
import { withLuhnDigit } from '../redact/validators.js';

/** One secret placed in a self-test event: the value, and the keys on the way to it. */
export interface PlacedSecret {
  readonly value: string;
  /** Key names from the event's top field down (`['data', 'headers', 'Authorization']`). */
  readonly path: readonly string[];
  /** The whole string the secret sits in (`Bearer <value>`), for matching patterns. */
  readonly text: string;
}

/** A kind of secret, the event that carries it, and what must never come out of it. */
export interface SecretCase {
  readonly kind: string;
  readonly event: Record<string, unknown>;
  readonly secrets: readonly PlacedSecret[];
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER_NUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const B64URL = `${ALNUM}-_`;
const B64 = `${ALNUM}+/`;
// The characters that used to end a password too early in text (issue 18): a URL's `#`, `@`,
// `/`, `?`, a pair's `&`, `,`, `;`, and quotes.
const AWKWARD = '#@/?&,;:!"\'<>%';

/** `n` random characters of `alphabet`: new secrets on every run, so no rule can know them. */
function random(alphabet: string, n: number): string {
  const bytes = randomBytes(n);
  let out = '';
  for (const b of bytes) out += alphabet.charAt(b % alphabet.length);
  return out;
}

/**
 * A password that holds every awkward character between random letters and digits, in a fresh
 * order: never `x=` after a separator, so text can still tell where it ends.
 */
function awkwardPassword(): string {
  const order = randomBytes(AWKWARD.length);
  return (
    Array.from(AWKWARD, (c, i) => ({ c, key: order[i] ?? 0 }))
      .sort((a, b) => a.key - b.key)
      .map(({ c }) => random(ALNUM, 2) + c)
      .join('') + random(ALNUM, 2)
  );
}

type Template = (password: string) => string;

// Text that holds a password where a detector must find where it ends (issue 18).
const IN_TEXT: Readonly<Record<string, Template>> = {
  note: (p) => `login failed for selftest password=${p} (attempt 2)`,
  smtp: (p) => `smtp_password=${p}; smtp_user=selftest`,
  form: (p) => `user=selftest&password=${p}&remember=1`,
  body: (p) => `request body {"user":"selftest","password":${JSON.stringify(p)}}`,
};
const IN_HEADER: Readonly<Record<string, Template>> = {
  detail: (p) => `upstream refused Authorization: Bearer ${p} (401)`,
};
const IN_URL: Readonly<Record<string, Template>> = {
  replica: (p) => `postgres://app:${p}@replica.internal:5432/app`,
  cache: (p) => `connecting to redis://default:${p}@cache.example.com:6379/0 failed`,
};

/** A fresh awkward password in each text, under data.<name>. */
function placed(templates: Readonly<Record<string, Template>>): {
  data: Record<string, string>;
  secrets: PlacedSecret[];
} {
  const data: Record<string, string> = {};
  const secrets: PlacedSecret[] = [];
  for (const [name, make] of Object.entries(templates)) {
    const value = awkwardPassword();
    const text = make(value);
    data[name] = text;
    secrets.push({ value, path: ['data', name], text });
  }
  return { data, secrets };
}

/** A card number: 16 digits starting with 4 (Visa), with a valid Luhn check digit. */
function cardNumber(): string {
  let body = '4';
  for (const b of randomBytes(14)) body += String(b % 10);
  return withLuhnDigit(body);
}

// An actor, as most events have: a value a rule encrypts goes to their personal data.
const base = { level: 'INFO', event: 'doctor.selftest', actor: 'doctor-selftest' } as const;

/**
 * The secrets doctor feeds through the running classification, fresh each run. Each kind is
 * one a backend logs by accident: a login body, request headers, a token in a message.
 */
export function secretCases(): SecretCase[] {
  const password = `Pw${random(ALNUM, 14)}!9`;
  const bearer = random(ALNUM, 32);
  const jwt = `eyJ${random(B64URL, 20)}.eyJ${random(B64URL, 40)}.${random(B64URL, 43)}`;
  const awsId = `AKIA${random(UPPER_NUM, 16)}`;
  const awsSecret = random(B64, 40);
  const pemLines = [random(B64, 64), random(B64, 64), random(B64, 40)];
  const pem = `-----BEGIN PRIVATE KEY-----\n${pemLines.join('\n')}\n-----END PRIVATE KEY-----`;
  const card = cardNumber();
  const cardShown = (card.match(/.{4}/g) ?? [card]).join(' ');
  const github = `ghp_${random(ALNUM, 36)}`;
  const session = random(B64URL, 32);
  const apiKey = random(ALNUM, 32);
  const dbPassword = random(ALNUM, 20);
  const jwtMsg = `token refresh failed for ${jwt} (expired)`;
  const cardMsg = `order paid with card ${cardShown} today`;
  const githubNote = `deploy with ${github} from CI`;
  const cookie = `sid=${session}; theme=dark`;
  const dsn = `postgres://app:${dbPassword}@db.internal:5432/app`;
  const inText = placed(IN_TEXT);
  const inHeader = placed(IN_HEADER);
  const inUrl = placed(IN_URL);
  return [
    {
      kind: 'password',
      event: { ...base, data: { user: 'selftest', password, ...inText.data } },
      secrets: [{ value: password, path: ['data', 'password'], text: password }, ...inText.secrets],
    },
    {
      kind: 'authorization_header',
      event: {
        ...base,
        data: { headers: { Authorization: `Bearer ${bearer}` }, ...inHeader.data },
      },
      secrets: [
        {
          value: bearer,
          path: ['data', 'headers', 'Authorization'],
          text: `Bearer ${bearer}`,
        },
        ...inHeader.secrets,
      ],
    },
    {
      kind: 'jwt_in_message',
      event: { ...base, msg: jwtMsg },
      secrets: [{ value: jwt, path: ['msg'], text: jwtMsg }],
    },
    {
      kind: 'aws_credentials',
      event: {
        ...base,
        data: { aws_access_key_id: awsId, aws_secret_access_key: awsSecret },
      },
      secrets: [
        { value: awsId, path: ['data', 'aws_access_key_id'], text: awsId },
        { value: awsSecret, path: ['data', 'aws_secret_access_key'], text: awsSecret },
      ],
    },
    {
      kind: 'private_key',
      event: { ...base, data: { detail: pem } },
      secrets: pemLines.map((value) => ({ value, path: ['data', 'detail'], text: pem })),
    },
    {
      kind: 'card_number',
      event: { ...base, msg: cardMsg },
      // A masked card keeps its last four digits: no 12 characters of the number survive.
      secrets: [
        { value: card, path: ['msg'], text: cardMsg },
        { value: cardShown, path: ['msg'], text: cardMsg },
      ],
    },
    {
      kind: 'github_token',
      event: { ...base, data: { note: githubNote } },
      secrets: [{ value: github, path: ['data', 'note'], text: githubNote }],
    },
    {
      kind: 'session_cookie',
      event: { ...base, data: { headers: { Cookie: cookie } } },
      secrets: [{ value: session, path: ['data', 'headers', 'Cookie'], text: cookie }],
    },
    {
      kind: 'api_key',
      event: { ...base, data: { api_key: apiKey } },
      secrets: [{ value: apiKey, path: ['data', 'api_key'], text: apiKey }],
    },
    {
      kind: 'url_credentials',
      event: { ...base, data: { database: dsn, ...inUrl.data } },
      secrets: [{ value: dbPassword, path: ['data', 'database'], text: dsn }, ...inUrl.secrets],
    },
  ];
}
