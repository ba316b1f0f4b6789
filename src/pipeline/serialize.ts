import { LogsError } from '../errors.js';
import { jcsNumber } from '../event/canonical.js';
import { quote } from '../event/quote.js';
import type { Classifier } from '../redact/classifier.js';
import type { KeyRule } from '../redact/keys.js';
import type { PiiContext } from './pii.js';
import { looksLikeCard } from '../redact/validators.js';
import { NOT_SPECIAL, convertSpecial, errorToRecord, mapToRecord } from './convert.js';
import {
  EMPTY_SHAPE,
  quoteKey,
  shapesOf,
  sortKeys,
  type Shape,
  type ShapeCache,
} from './shapes.js';

export { quote } from '../event/quote.js';

/** Bounds applied to everything a producer hands us. */
export interface ValueLimits {
  /** Deepest nesting of objects and arrays, counting the record itself as 1. */
  readonly maxDepth: number;
  /** Largest serialized record, in bytes of UTF-8. */
  readonly maxRecordBytes: number;
}

/**
 * Serializes the field values of one event into canonical (RFC 8785) JSON, converting the values
 * a program logs (Error, Date, Map, Set, Buffer, BigInt, class instances, cycles) into JSON on
 * the way, and enforcing the depth and size limits. One pass: normalizing, bounding and
 * serializing are done together because this is the hot path. Use one instance per record:
 * the size budget is shared by all its fields.
 *
 * Throws EVENT_TOO_DEEP, EVENT_TOO_LARGE or EVENT_NON_FINITE with the path of the bad value.
 */
export class ValueSerializer {
  private budget: number;
  private readonly ancestors: object[] = [];
  // Keys from the field down to the current value; turned into a path only for an error message.
  private readonly keys: Array<string | number> = [];
  private readonly shapes: ShapeCache;

  constructor(
    private readonly limits: ValueLimits,
    /** Classification: without it values are stored as given (used for trusted, internal data). */
    private readonly classify?: Classification,
  ) {
    this.budget = limits.maxRecordBytes;
    this.shapes = shapesOf(classify?.classifier);
  }

  /**
   * A top-level field of the record (depth 2: the record itself is depth 1). Returns undefined
   * for a value JSON drops (undefined, a function, a symbol). `rules` override the key rules of
   * the field's own keys (`actor.id` is an identifier, `actor.name` personal, ...).
   */
  field(v: unknown, name: string, rules?: ReadonlyMap<string, KeyRule>): string | undefined {
    this.keys[0] = name;
    return this.value(v, 2, undefined, rules);
  }

  private value(
    v: unknown,
    depth: number,
    rule: KeyRule | undefined,
    childRules?: ReadonlyMap<string, KeyRule>,
  ): string | undefined {
    switch (typeof v) {
      case 'string':
        return this.string(v, rule);
      case 'number':
        if (!Number.isFinite(v)) return jcsNumber(v, this.path());
        // For a finite number, String() is ECMAScript's Number::toString: exactly what JCS wants.
        if (rule === undefined && v >= 1e12 && Number.isSafeInteger(v)) return this.longInteger(v);
        return rule === undefined || rule.mode === 'keep'
          ? String(v)
          : this.string(String(v), rule);
      case 'boolean':
        return rule?.mode === 'remove' ? this.string('', rule) : v ? 'true' : 'false';
      case 'bigint':
        // Lossless: a BigInt can exceed what a JSON number holds exactly.
        return this.string(v.toString(), rule);
      case 'object':
        if (v === null) return 'null';
        // A secret's whole value goes, whatever its shape; nothing inside is even looked at.
        if (rule !== undefined && (rule.mode === 'remove' || rule.mode === 'mask'))
          return this.string('', { ...rule, mode: 'remove' });
        return this.object(v, depth, rule, childRules);
      default:
        return undefined; // undefined, function, symbol: dropped, as JSON.stringify does
    }
  }

  /**
   * A whole number of 13 digits or more may be a card number sent as a number. Only one with
   * a card's shape (brand prefix, length, Luhn) goes through the detectors, like text; a
   * millisecond timestamp or an order number stays a number without that cost.
   */
  private longInteger(v: number): string {
    const text = String(v);
    const c = this.classify;
    if (c === undefined || !looksLikeCard(text)) return text;
    const scanned = c.classifier.scan(text, c.ctx);
    if (scanned === text) return text;
    const json = quote(scanned);
    this.budget -= json.length;
    return json;
  }

  private string(s: string, rule: KeyRule | undefined): string {
    // Cheap early refusal of huge strings before anything copies them.
    if (s.length > this.budget) this.tooLarge();
    const c = this.classify;
    const text =
      c === undefined
        ? quote(s)
        : rule === undefined
          ? c.classifier.scanToJson(s, c.ctx)
          : quote(c.classifier.applyRule(rule, s, c.ctx));
    this.budget -= text.length;
    return text;
  }

  private object(
    v: object,
    depth: number,
    rule: KeyRule | undefined,
    childRules?: ReadonlyMap<string, KeyRule>,
  ): string {
    if (depth > this.limits.maxDepth) {
      throw new LogsError(
        'EVENT_TOO_DEEP',
        `${this.path()}: nested deeper than ${this.limits.maxDepth} levels`,
      );
    }
    if (this.ancestors.includes(v)) return '"[Circular]"';
    this.ancestors.push(v);
    try {
      const proto: unknown = Object.getPrototypeOf(v);
      // Plain objects and arrays are nearly everything: check them before the special cases.
      if (proto === Object.prototype || proto === null) {
        return this.record(v as Record<string, unknown>, depth, rule, childRules);
      }
      if (Array.isArray(v)) return this.array(v, depth, rule);
      const special = convertSpecial(v);
      if (special !== NOT_SPECIAL) return this.value(special, depth, rule) ?? 'null';
      if (v instanceof Set) return this.array([...(v as Set<unknown>)], depth, rule);
      if (v instanceof Map)
        return this.record(mapToRecord(v as Map<unknown, unknown>), depth, rule);
      if (v instanceof Error) return this.record(errorToRecord(v), depth, rule);
      return this.record(v as Record<string, unknown>, depth, rule);
    } finally {
      this.ancestors.pop();
    }
  }

  private array(items: readonly unknown[], depth: number, rule: KeyRule | undefined): string {
    let out = '[';
    for (let i = 0; i < items.length; i++) {
      if (i > 0) out += ',';
      this.keys.push(i);
      out += this.value(items[i], depth + 1, rule) ?? 'null';
      this.keys.pop();
      this.budget -= 1;
      if (this.budget < 0) this.tooLarge();
    }
    return out + ']';
  }

  private record(
    obj: Record<string, unknown>,
    depth: number,
    rule: KeyRule | undefined,
    childRules?: ReadonlyMap<string, KeyRule>,
  ): string {
    const { keys, texts, rules } = this.shapeOf(Object.keys(obj));
    let out = '{';
    let first = true;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      let item: unknown;
      try {
        item = obj[key];
      } catch {
        item = '[unreadable]'; // a throwing getter must not take the host application down
      }
      this.keys.push(key);
      const text = this.value(item, depth + 1, this.childRule(key, rules[i], rule, childRules));
      this.keys.pop();
      if (text === undefined) continue;
      const keyText = texts[i] as string;
      this.budget -= keyText.length + 2;
      if (this.budget < 0) this.tooLarge();
      out += (first ? '' : ',') + keyText + ':' + text;
      first = false;
    }
    return out + '}';
  }

  /**
   * The rule for a child: the field's own rules, then what the key's name says (`named`), then
   * what the parent's rule passes down. A secret's name always wins, even inside a `keep` zone.
   */
  private childRule(
    key: string,
    named: KeyRule | undefined,
    parent: KeyRule | undefined,
    own?: ReadonlyMap<string, KeyRule>,
  ): KeyRule | undefined {
    const rule = own?.get(key) ?? named;
    if (rule === undefined) return parent;
    if (parent?.mode === 'keep' && rule.mode !== 'remove' && rule.mode !== 'mask') return parent;
    return rule;
  }

  /**
   * The keys of an object in canonical order, with their JSON text and the rule their names
   * carry. Objects of one kind come again and again with the same keys in the same order: that
   * is looked up, not worked out again.
   */
  private shapeOf(keys: string[]): Shape {
    if (keys.length === 0) return EMPTY_SHAPE;
    const known = this.shapes.get(keys);
    if (known !== undefined) return known;
    const given = keys.slice();
    const shape = this.keyTexts(keys);
    if (shape.plain) this.shapes.add(given, shape);
    return shape;
  }

  /**
   * Keys are classified too (an e-mail or a token used as a key is replaced), so the order is
   * that of the stored text; replaced keys that collide get a `#n` suffix.
   */
  private keyTexts(keys: string[]): Shape & { plain: boolean } {
    const c = this.classify;
    const rulesOf = (sorted: readonly string[]): Array<KeyRule | undefined> =>
      c === undefined ? [] : sorted.map((k) => c.classifier.keyRule(k));
    const stored =
      c === undefined
        ? keys
        : keys.map((k) =>
            k.length < 6 || c.classifier.isPlain(k) ? k : c.classifier.scan(k, c.ctx),
          );
    if (stored.every((s, i) => s === keys[i])) {
      const sorted = sortKeys(keys);
      return { keys: sorted, texts: sorted.map(quoteKey), rules: rulesOf(sorted), plain: true };
    }
    const seen = new Set<string>();
    const pairs = keys.map((k, i) => {
      let s = stored[i] as string;
      for (let n = 2; seen.has(s); n++) s = `${stored[i] as string}#${n}`;
      seen.add(s);
      return [k, s] as const;
    });
    pairs.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    const sorted = pairs.map((p) => p[0]);
    return {
      keys: sorted,
      texts: pairs.map((p) => quote(p[1])),
      rules: rulesOf(sorted),
      plain: false,
    };
  }

  /** `data.items[3].name`, for error messages (only plain keys are shown: they may be hostile). */
  private path(): string {
    let out = '';
    for (const k of this.keys) {
      const shown = typeof k === 'number' ? `[${k}]` : safeKey(k, this.classify);
      out += typeof k === 'number' || out === '' ? shown : `.${shown}`;
    }
    return out;
  }

  private tooLarge(): never {
    throw new LogsError(
      'EVENT_TOO_LARGE',
      `${this.path()}: the record would exceed ${this.limits.maxRecordBytes} bytes`,
    );
  }
}

/** What the serializer needs to classify: the compiled rules and the record's personal data. */
export interface Classification {
  readonly classifier: Classifier;
  readonly ctx: PiiContext;
}

// A key that reads as a field name (`http.status_code`, `@timestamp`); anything else (markup,
// a path, `k=v`, a long run of characters) is not repeated.
const PLAIN_KEY = /^[\w.@:$-]{1,64}$/;

/** A key as shown in an error message: a field name, never markup, a secret or personal data. */
function safeKey(key: string, c: Classification | undefined): string {
  if (!PLAIN_KEY.test(key)) return '(a key)';
  if (c === undefined) return key;
  return c.classifier.findings(key).length === 0
    ? key
    : '(a key that holds a secret or personal data)';
}
