import fc from 'fast-check';
import { withLuhnDigit } from '../../src/redact/validators.js';

/**
 * Generators of secrets of every kind the classification must remove, each with the probes
 * that must never appear in anything stored or printed (for a card: its digits, with or
 * without separators; the last four may stay).
 */
export interface Secret {
  readonly kind: string;
  /** What is placed in the event. */
  readonly text: string;
  /** Substrings that must not survive. */
  readonly probes: readonly string[];
  /** Where it may go: as a value anywhere (`value`), or only under a key of its own (`keyed`). */
  readonly placement: 'value' | 'keyed';
  /** For `keyed` secrets: the key it must sit under. */
  readonly key?: string;
}

/** The characters of an ASCII alphabet. */
const chars = (alphabet: string): string[] => alphabet.match(/[\s\S]/g) ?? [];

const alnum = (min: number, max: number): fc.Arbitrary<string> =>
  fc.string({
    unit: fc.constantFrom(
      ...chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'),
    ),
    minLength: min,
    maxLength: max,
  });
const upperNum = (n: number): fc.Arbitrary<string> =>
  fc.string({
    unit: fc.constantFrom(...chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ0234567')),
    minLength: n,
    maxLength: n,
  });
const b64url = (min: number, max: number): fc.Arbitrary<string> =>
  fc.string({
    unit: fc.constantFrom(
      ...chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'),
    ),
    minLength: min,
    maxLength: max,
  });
// A password: no separator a detector stops at, and a marker so it cannot occur by chance.
const password = alnum(8, 16).map((s) => `Pw${s}!9`);

const value = (kind: string, text: string, probes: string[] = [text]): Secret => ({
  kind,
  text,
  probes,
  placement: 'value',
});

/** Case and separator variants of a key name: `client_secret`, `Client-Secret`, `CLIENTSECRET`, `clientSecret`. */
export const keyVariant = (words: readonly string[]): fc.Arbitrary<string> =>
  fc
    .tuple(
      fc.constantFrom('_', '-', '', '.', ' '),
      fc.constantFrom('lower', 'upper', 'title', 'camel'),
    )
    .map(([sep, style]) => {
      const w = words.map((x, i) => {
        if (style === 'upper') return x.toUpperCase();
        if (style === 'title' || (style === 'camel' && i > 0))
          return x[0]!.toUpperCase() + x.slice(1);
        return x;
      });
      return w.join(style === 'camel' ? '' : sep);
    });

const SECRET_KEYS: readonly (readonly string[])[] = [
  ['password'],
  ['passwd'],
  ['client', 'secret'],
  ['access', 'token'],
  ['refresh', 'token'],
  ['id', 'token'],
  ['api', 'key'],
  ['x', 'api', 'key'],
  ['authorization'],
  ['proxy', 'authorization'],
  ['cookie'],
  ['set', 'cookie'],
  ['session', 'id'],
  ['private', 'key'],
  ['cvv'],
  ['pin'],
  ['db', 'password'],
  ['stripe', 'secret'],
  ['github', 'token'],
];
const HEALTH_KEYS: readonly (readonly string[])[] = [
  ['diagnosis'],
  ['medical', 'record'],
  ['health'],
  ['allergies'],
];

export const secretArb: fc.Arbitrary<Secret> = fc.oneof(
  fc
    .tuple(b64url(10, 40), b64url(10, 80), b64url(20, 43))
    .map(([h, p, s]) => value('jwt', `eyJ${h}.eyJ${p}.${s}`)),
  alnum(20, 40).map((t) => value('bearer', `Bearer ${t}`, [t])),
  fc.tuple(alnum(4, 10), password).map(([u, p]) => {
    const b = Buffer.from(`${u}:${p}`).toString('base64');
    return value('basic', `Basic ${b}`, [b]);
  }),
  fc.array(b64url(40, 64), { minLength: 2, maxLength: 5 }).map((lines) => {
    const body = lines.join('\n');
    return value(
      'private_key',
      `-----BEGIN RSA PRIVATE KEY-----\n${body}\n-----END RSA PRIVATE KEY-----`,
      lines,
    );
  }),
  upperNum(16).map((t) => value('aws', `AKIA${t}`)),
  alnum(36, 36).map((t) => value('github', `ghp_${t}`)),
  alnum(22, 22).map((t) => value('github_pat', `github_pat_${t}`)),
  b64url(20, 30).map((t) => value('gitlab', `glpat-${t}`)),
  fc.tuple(fc.nat(), alnum(24, 24)).map(([n, t]) => value('slack', `xoxb-${1000000 + n}-${t}`)),
  alnum(24, 32).map((t) => value('stripe', `sk_live_${t}`)),
  b64url(35, 35).map((t) => value('google', `AIza${t}`)),
  alnum(36, 36).map((t) => value('npm', `npm_${t}`)),
  b64url(40, 60).map((t) => value('openai', `sk-proj-${t}`)),
  fc
    .tuple(alnum(3, 8), password)
    .map(([u, p]) => value('url_credentials', `https://${u}:${p}@db.example.com:5432/app`, [p])),
  fc
    .tuple(
      fc.constantFrom(
        'token',
        'access_token',
        'api_key',
        'password',
        'client_secret',
        'X-Amz-Signature',
      ),
      password,
    )
    .map(([k, p]) => value('query', `https://api.example.com/v1/x?page=2&${k}=${p}&lang=fr`, [p])),
  fc
    .tuple(
      fc.constantFrom('password=', 'password: ', 'api_key=', '"password": "', "token: '"),
      password,
    )
    .map(([k, p]) => {
      const close = k.endsWith('"') ? '"' : k.endsWith("'") ? "'" : '';
      return value('free_text', `login failed ${k}${p}${close} for this account`, [p]);
    }),
  fc
    .tuple(
      fc.constantFrom('4', '51', '52', '53', '54', '55'),
      fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 15, maxLength: 15 }),
      fc.constantFrom('', ' ', '-'),
    )
    .map(([prefix, digits, sep]) => {
      const number = withLuhnDigit((prefix + digits.join('')).slice(0, 15));
      const shown = sep === '' ? number : number.match(/.{1,4}/g)!.join(sep);
      return value('card', `paid with ${shown} today`, [number, shown, number.slice(0, 12)]);
    }),
  fc
    .tuple(fc.constantFrom(...SECRET_KEYS).chain(keyVariant), password)
    .map(([key, p]) => ({ kind: 'keyed', text: p, probes: [p], placement: 'keyed' as const, key })),
  fc
    .tuple(
      fc.constantFrom(...HEALTH_KEYS).chain(keyVariant),
      alnum(8, 12).map((s) => `Dx${s}`),
    )
    .map(([key, p]) => ({
      kind: 'health',
      text: p,
      probes: [p],
      placement: 'keyed' as const,
      key,
    })),
);

/** An ordinary field name, never one that means a secret. */
const plainKey = fc.constantFrom(
  'note',
  'details',
  'info',
  'message',
  'context',
  'value',
  'description',
  'payload',
  'extra',
  'comment',
);
const filler = fc.constantFrom(
  'hello',
  'request done',
  'user clicked',
  'retry 3',
  'ok',
  'timeout after 30 s',
  'cache miss',
);

/** Put a secret somewhere: as a whole value, inside free text, in an array, in an Error, or under its own key. */
export const placedArb = fc
  .tuple(secretArb, fc.array(plainKey, { minLength: 0, maxLength: 4 }), plainKey, filler, fc.nat(5))
  .map(([secret, path, leaf, words, how]) => {
    let v: unknown;
    if (secret.placement === 'keyed') {
      v = { [secret.key as string]: secret.text };
    } else if (how === 0) {
      v = { [leaf]: secret.text };
    } else if (how === 1) {
      v = { [leaf]: `${words} ${secret.text} ${words}` };
    } else if (how === 2) {
      v = { [leaf]: [words, secret.text] };
    } else if (how === 3) {
      v = { err: new Error(`failed: ${secret.text}`) };
    } else if (how === 4) {
      v = { headers: { 'x-trace': words, [leaf]: secret.text } };
    } else {
      v = { [leaf]: new Map([[words, secret.text]]) };
    }
    for (const k of path.reverse()) v = { [k]: v };
    return {
      secret,
      data: v as Record<string, unknown>,
      msg: how === 1 && secret.placement === 'value' ? `${words}: ${secret.text}` : words,
    };
  });
