import fc from 'fast-check';

/**
 * Passwords drawn from the whole printable ASCII set, and the places a backend writes them in
 * text: URL credentials, `key=value` pairs, JSON inside a string, Authorization headers. What
 * the classification must make of each is in docs/classification.md ("Where a secret value
 * ends").
 */

/** 0x21-0x7e: every printable ASCII character but the space. */
export const PRINTABLE = Array.from({ length: 0x7e - 0x20 }, (_, i) =>
  String.fromCharCode(0x21 + i),
);
/** The characters that used to end a value or a URL's user information too early. */
const AWKWARD = Array.from('#@&;,/?:="\'\\%<>!{}[]()|`^~+');

const password = (unit: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.string({ unit, minLength: 8, maxLength: 40 });

// Every printable character can come anywhere; the awkward ones come often.
const printable = fc.oneof(
  { arbitrary: fc.constantFrom(...PRINTABLE), weight: 3 },
  { arbitrary: fc.constantFrom(...AWKWARD), weight: 1 },
);

/** Printable, no space: what an unquoted value, a URL or a header can hold. */
export const passwordArb = password(printable);
/** Printable with spaces: what a quoted value can hold. */
export const spacedPasswordArb = password(
  fc.oneof({ arbitrary: printable, weight: 6 }, { arbitrary: fc.constant(' '), weight: 1 }),
);

// The one thing an unquoted value cannot hold, by the rule that delimits it: a separator followed
// by another pair (`&x=`, `; x=`, `,"x":`) starts that pair. Same expression as SECRET_ASSIGNMENT's.
const NEXT_PAIR = /[&,;][\t ]{0,4}(?:[\w.-]{1,64}=|\\?"[\w .-]{1,64}\\?"[\t ]{0,4}:)/;

/**
 * A password an unquoted `key=value` can delimit: no separator followed by another pair, and
 * no quote first (a value that starts with a quote is read as a quoted one).
 */
export const unquotedPasswordArb = passwordArb.filter(
  (p) => !NEXT_PAIR.test(p) && !p.startsWith('"') && !p.startsWith("'"),
);

/** A place for a password: a text with `P` in it. */
export interface Template {
  readonly name: string;
  readonly make: (p: string) => string;
}

const t = (name: string, make: (p: string) => string): Template => ({ name, make });
/** The inside of a JSON string holding p. */
export const jsonInner = (p: string): string => JSON.stringify(p).slice(1, -1);

export const URL_TEMPLATES: readonly Template[] = [
  t('url', (p) => `postgres://user:${p}@db.example:5432/app`),
  t('url in text', (p) => `connect failed: mysql://svc:${p}@10.0.0.7/app?ssl=true (retrying)`),
  t('url in a pair', (p) => `dsn=redis://default:${p}@cache.example.org:6379/0 retry=3`),
  t('url in JSON', (p) => `{"db":"amqp://guest:${jsonInner(p)}@mq.example.com/vh","n":1}`),
];

export const PAIR_TEMPLATES: readonly Template[] = [
  t('& pairs', (p) => `user=u&password=${p}&remember=1`),
  t('& pairs in a URL', (p) => `GET https://app.example/login?user=u&pwd=${p}&next=/ 302`),
  t('& pairs in a URL, last', (p) => `cb https://u.example/cb?state=s&access_token=${p}`),
  t('; pairs', (p) => `smtp_password=${p}; user=x`),
  t('; pairs, no space', (p) => `a=1;secret=${p};b=2`),
  t(', pairs', (p) => `a=1, password=${p}, b=2`),
  t(', pairs, no space', (p) => `a=1,api_key=${p},b=2`),
  t('space pairs', (p) => `login failed password=${p} for bob`),
  t('colon', (p) => `db_token: ${p} (rotated)`),
  // JSON of JSON: `{"body":"{\"password\":\"...\"}"}`, the quotes escaped.
  t('JSON in JSON', (p) => JSON.stringify({ body: JSON.stringify({ password: p, n: 1 }) })),
  t('at the end', (p) => `reset done, new password=${p}`),
];

export const SPACED_TEMPLATES: readonly Template[] = [
  t('JSON in a string', (p) => `{"user":"u","password":"${jsonInner(p)}","remember":true}`),
  t('JSON in a string, spaced', (p) => `body: { "password": "${jsonInner(p)}" } sent`),
  t('JSON, last key', (p) => `{"client_secret":"${jsonInner(p)}"}`),
];

/** Quoted in free text without escapes: the value cannot hold its own quote. */
export const QUOTED_TEMPLATES: ReadonlyArray<Template & { readonly quote: string }> = [
  { ...t('double quotes', (p) => `login failed password="${p}" for bob`), quote: '"' },
  { ...t('single quotes', (p) => `db_password='${p}', host=db`), quote: "'" },
];

export const HEADER_TEMPLATES: readonly Template[] = [
  t('Basic', (p) => `Authorization: Basic ${p}`),
  t('Bearer', (p) => `GET /api headers Authorization: Bearer ${p} accept=json`),
  t('Bearer in JSON', (p) => `{"headers":{"authorization":"Bearer ${jsonInner(p)}"}}`),
  t('Basic, lower case', (p) => `proxy said basic ${p}`),
];
