/**
 * How the keys of an object are written, remembered per kind of object: canonical (RFC 8785)
 * key order, each key's JSON text, and the rule its name carries. The serializer's hot path
 * looks a kind of object up here instead of sorting and quoting its keys again.
 */
import { quote } from '../event/quote.js';
import type { Classifier } from '../redact/classifier.js';
import type { KeyRule } from '../redact/keys.js';

/** How the keys of one kind of object are written: in canonical order, with their rules. */
export interface Shape {
  readonly keys: readonly string[];
  /** JSON text of each key (as stored: classified). */
  readonly texts: readonly string[];
  /** The rule each key's name carries (empty without classification). */
  readonly rules: ReadonlyArray<KeyRule | undefined>;
}

export const EMPTY_SHAPE: Shape = { keys: [], texts: [], rules: [] };

/**
 * Shapes of objects seen, by their keys in the order Object.keys gives them (the order the
 * program built them in). Only objects whose keys are all plain are kept; bounded, so hostile
 * input with ever new keys cannot grow it: when full, it starts over.
 */
export class ShapeCache {
  private static readonly MAX = 2048;
  private readonly byFirst = new Map<string, Array<{ given: readonly string[]; shape: Shape }>>();
  private size = 0;

  get(keys: readonly string[]): Shape | undefined {
    const list = this.byFirst.get(keys[0] as string);
    if (list === undefined) return undefined;
    next: for (const { given, shape } of list) {
      if (given.length !== keys.length) continue;
      for (let i = 1; i < keys.length; i++) if (given[i] !== keys[i]) continue next;
      return shape;
    }
    return undefined;
  }

  add(given: readonly string[], shape: Shape): void {
    if (given.length > 64 || given.some((k) => k.length > 64)) return;
    if (this.size >= ShapeCache.MAX) {
      this.byFirst.clear();
      this.size = 0;
    }
    const first = given[0] as string;
    let list = this.byFirst.get(first);
    if (list === undefined) this.byFirst.set(first, (list = []));
    // A few kinds of objects per first key; more and the newest takes the place of the oldest,
    // so a lookup never compares against more than a handful.
    if (list.length >= 8) list.shift();
    list.push({ given, shape });
    this.size += 1;
  }
}

// Shapes depend on the rules (which keys are plain, what they carry): one cache per classifier.
const UNCLASSIFIED_SHAPES = new ShapeCache();
const classifiedShapes = new WeakMap<Classifier, ShapeCache>();

/** The cache for objects serialized under these rules (none: stored as given). */
export function shapesOf(classifier: Classifier | undefined): ShapeCache {
  if (classifier === undefined) return UNCLASSIFIED_SHAPES;
  let cache = classifiedShapes.get(classifier);
  if (cache === undefined) classifiedShapes.set(classifier, (cache = new ShapeCache()));
  return cache;
}

/**
 * Sort keys by UTF-16 code units, as RFC 8785 asks (JavaScript's `<` on strings compares code
 * units). Objects in logs are small: insertion sort beats Array.prototype.sort on them.
 */
export function sortKeys(keys: string[]): string[] {
  if (keys.length > 16) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i] as string;
    let j = i - 1;
    while (j >= 0 && (keys[j] as string) > k) {
      keys[j + 1] = keys[j] as string;
      j--;
    }
    keys[j + 1] = k;
  }
  return keys;
}

// Keys repeat from record to record: remember their JSON text. Bounded, so hostile unique keys
// cannot grow it without limit.
const keyTexts = new Map<string, string>();
const KEY_CACHE_MAX = 4096;

/** A key's JSON text (remembered for short keys). */
export function quoteKey(key: string): string {
  let text = keyTexts.get(key);
  if (text === undefined) {
    text = quote(key);
    if (keyTexts.size < KEY_CACHE_MAX && key.length <= 64) keyTexts.set(key, text);
  }
  return text;
}
