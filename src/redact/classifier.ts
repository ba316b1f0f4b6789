import { findPersonal } from './personal.js';
import { features, matches, type PersonalKind, type SecretKind } from './scan.js';
import { findSecrets } from './secrets.js';
import { builtInRule, normalizeKey, type KeyRule, type Mode } from './keys.js';
import { truncateIp } from './ip.js';
import { quote } from '../event/quote.js';

/** A value pattern from the configuration. */
export interface PatternRule {
  readonly name: string;
  readonly regex: RegExp;
  readonly mode: Exclude<Mode, 'identifier'>;
}

/** Compiled classification rules: built once at start, never per record. */
export interface ClassifierRules {
  /** Key rules from the configuration (normalized names); they win over the built-in ones. */
  readonly keys: ReadonlyMap<string, KeyRule>;
  readonly patterns: readonly PatternRule[];
  /** `truncate`: IP addresses are cut to /24 (IPv4) or /48 (IPv6) and kept in clear. */
  readonly ip: 'encrypt' | 'truncate';
}

interface Range {
  start: number;
  end: number;
  kind: string;
  /** 0: keep (protects the range), 1: secret, 2: personal. */
  rank: 0 | 1 | 2;
  mode: Mode;
}

// Below this length no built-in detector can match (the shortest, an e-mail, needs 6).
const MIN_SCAN = 6;
const KEY_CACHE_MAX = 4096;
const PLAIN_CACHE_MAX = 16_384;
const PLAIN_CACHE_LENGTH = 256;

/**
 * Where the classifier sends the personal data it finds (the pipeline's per-record context,
 * `pipeline/pii.ts`): each call returns what the value is replaced by in the stored record.
 */
export interface PersonalValues {
  /** A personal value of a kind (email, ip, ...): returns its placeholder. */
  personal(kind: string, value: string): string;
  /** A person's identifier: returns their pseudonym. */
  identifier(id: string): string;
}

/**
 * Classifies what a record holds: removes secrets, masks card numbers, and hands personal data
 * to the record's PiiContext, which replaces it with placeholders and keeps it for encryption.
 */
export class Classifier {
  private readonly keyCache = new Map<string, KeyRule | null>();
  // A text seen to hold nothing → its JSON text (false: it holds something).
  private readonly plainCache = new Map<string, string | false>();

  constructor(readonly rules: ClassifierRules) {}

  /** The rule for a field name, or undefined: configuration first, then the built-in names. */
  keyRule(key: string): KeyRule | undefined {
    const cached = this.keyCache.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const normalized = normalizeKey(key);
    const found = this.rules.keys.get(normalized) ?? builtInRule(normalized);
    if (this.keyCache.size < KEY_CACHE_MAX && key.length <= 64)
      this.keyCache.set(key, found ?? null);
    return found;
  }

  /**
   * Does a short text (an event type, a channel name) hold nothing to classify? Cached: such
   * texts come back again and again.
   */
  isPlain(s: string): boolean {
    let known = this.plainCache.get(s);
    if (known === undefined) {
      known = this.find(s).length === 0 ? quote(s) : false;
      this.remember(s, known);
    }
    return known !== false;
  }

  /** A string with every secret replaced and every personal value turned into a placeholder. */
  scan(s: string, ctx: PersonalValues): string {
    // Logs repeat themselves (routes, user agents, messages): a string seen plain is plain.
    if (s.length <= PLAIN_CACHE_LENGTH && typeof this.plainCache.get(s) === 'string') return s;
    if (this.rules.patterns.length === 0 && isUuid(s)) return s;
    const ranges = this.find(s);
    if (ranges.length === 0) {
      this.remember(s, quote(s));
      return s;
    }
    return this.rewrite(s, ranges, ctx);
  }

  /** scan(), then the result as JSON text: the serializer's path, which skips the quoting of
   * texts seen before. */
  scanToJson(s: string, ctx: PersonalValues): string {
    if (s.length <= PLAIN_CACHE_LENGTH) {
      const known = this.plainCache.get(s);
      if (typeof known === 'string') return known;
    }
    // UUIDs are everywhere in logs and can hold nothing: no detector, no escaping.
    if (this.rules.patterns.length === 0 && isUuid(s)) return `"${s}"`;
    const ranges = this.find(s);
    if (ranges.length === 0) {
      const text = quote(s);
      this.remember(s, text);
      return text;
    }
    return quote(this.rewrite(s, ranges, ctx));
  }

  private remember(s: string, known: string | false): void {
    if (s.length > PLAIN_CACHE_LENGTH) return;
    // Bounded: when full, start over (cheap, and what matters comes back soon).
    if (this.plainCache.size >= PLAIN_CACHE_MAX) this.plainCache.clear();
    this.plainCache.set(s, known);
  }

  /** What scan() would find, without a context: for error messages and self-tests. */
  findings(s: string): Array<{ kind: string; secret: boolean }> {
    return this.find(s)
      .filter((r) => r.rank !== 0)
      .map((r) => ({ kind: r.kind, secret: r.rank === 1 }));
  }

  /** Apply a key rule to a scalar value (strings, numbers, booleans). */
  applyRule(rule: KeyRule, value: string, ctx: PersonalValues): string {
    switch (rule.mode) {
      case 'remove':
        return `[REDACTED:${rule.name}]`;
      case 'mask':
        return mask(rule.name, value);
      case 'encrypt':
        if (rule.name === 'ip' && this.rules.ip === 'truncate')
          return truncateIp(value) ?? ctx.personal('ip', value);
        return ctx.personal(rule.name, value);
      case 'identifier':
        return ctx.identifier(value);
      case 'keep':
        return value;
    }
  }

  private find(s: string): Range[] {
    const ranges: Range[] = [];
    for (const p of this.rules.patterns) {
      for (const m of matches(p.regex, s)) {
        if (m[0].length > 0)
          ranges.push({
            start: m.index,
            end: m.index + m[0].length,
            kind: p.name,
            rank: p.mode === 'keep' ? 0 : p.mode === 'encrypt' ? 2 : 1,
            mode: p.mode,
          });
      }
    }
    const f = s.length >= MIN_SCAN ? features(s) : undefined;
    if (f?.any === true) {
      const hit = (
        start: number,
        end: number,
        kind: SecretKind | PersonalKind,
        secret: boolean,
      ): void => {
        ranges.push({
          start,
          end,
          kind,
          rank: secret ? 1 : 2,
          mode: kind === 'card' ? 'mask' : secret ? 'remove' : 'encrypt',
        });
      };
      findSecrets(s, f, hit);
      findPersonal(s, f, hit);
    }
    return ranges.length <= 1 ? ranges : resolveOverlaps(ranges);
  }

  private rewrite(s: string, ranges: readonly Range[], ctx: PersonalValues): string {
    let out = '';
    let at = 0;
    for (const r of ranges) {
      out += s.slice(at, r.start);
      const value = s.slice(r.start, r.end);
      out += this.replacement(r, value, ctx);
      at = r.end;
    }
    return out + s.slice(at);
  }

  private replacement(r: Range, value: string, ctx: PersonalValues): string {
    if (r.rank === 0) return value;
    if (r.mode === 'mask') return mask(r.kind, value);
    if (r.rank === 1) return `[REDACTED:${r.kind}]`;
    if (r.kind === 'ip' && this.rules.ip === 'truncate')
      return truncateIp(value) ?? ctx.personal('ip', value);
    return ctx.personal(r.kind, value);
  }
}

/**
 * Keep the ranges that win: a kept range protects what it covers; then secrets before personal
 * data; then the earliest, then the longest. Overlapping losers are dropped, except that secrets
 * overlapping secrets are removed together: where two detectors disagree on where a secret ends
 * (a URL's credentials, a query parameter inside them), neither end stays in clear.
 */
function resolveOverlaps(ranges: Range[]): Range[] {
  ranges.sort(
    (a, b) => a.rank - b.rank || a.start - b.start || b.end - b.start - (a.end - a.start),
  );
  const kept: Range[] = [];
  for (const r of ranges) {
    const hits = kept.filter((k) => r.start < k.end && k.start < r.end);
    if (hits.length === 0) kept.push(r);
    else if (r.rank === 1 && hits.every((k) => k.rank === 1)) {
      // Ranges between two of the hits overlap r too: the union overlaps nothing else.
      const first = hits.reduce((a, b) => (b.start < a.start ? b : a));
      const end = Math.max(r.end, ...hits.map((k) => k.end));
      const merged: Range =
        hits.length === 1 && end === first.end ? first : { ...first, end, mode: 'remove' };
      for (const k of hits) kept.splice(kept.indexOf(k), 1);
      kept.push(merged);
    }
  }
  return kept.sort((a, b) => a.start - b.start);
}

/** 8-4-4-4-12 hexadecimal digits. A loop: faster than a regular expression at this size. */
function isUuid(s: string): boolean {
  if (s.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = s.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
    } else if (!((c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 102))) {
      return false;
    }
  }
  return true;
}

/** A card number keeps only its last 4 digits. */
function mask(name: string, value: string): string {
  const digits = value.replace(/\D/g, '');
  return digits.length >= 12 ? `[REDACTED:${name} ****${digits.slice(-4)}]` : `[REDACTED:${name}]`;
}
