/**
 * What the value detectors share: the kinds they find, a hit, the cheap features of a string
 * that decide which detectors run, and a regex match loop that allocates nothing on no match.
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

/** A detector: what it finds, and a scan that reports hits (only if its features are present). */
export interface Detector {
  readonly name: string;
  readonly secret: boolean;
  readonly description: string;
  readonly run: (s: string, f: Features, hit: HitSink) => void;
}
