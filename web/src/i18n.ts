/**
 * The page's language: every string it shows comes from the catalogues of ./i18n/ (the page's
 * own words, and the service's vocabulary and error codes), every date and number is written
 * by one Intl formatter of the page's language.
 */
import { en } from './i18n/en.js';
import { fr } from './i18n/fr.js';
import { termsEn } from './i18n/terms-en.js';
import { termsFr } from './i18n/terms-fr.js';

const EN = { ...en, ...termsEn };
export type Key = keyof typeof EN;
/** A key with plural forms (`name_one`, `name_other`), by its base name. */
export type PluralKey = {
  [K in Key]: K extends `${infer B}_other` ? B : never;
}[Key];

export type Lang = 'en' | 'fr';
const DICTIONARIES: Record<Lang, Record<Key, string>> = { en: EN, fr: { ...fr, ...termsFr } };
/** The locale of each language: its dates, numbers and plural rules. */
const LOCALES: Record<Lang, string> = { en: 'en-GB', fr: 'fr-FR' };
const STORAGE_KEY = 'dihya-logs.lang';

function initialLang(): Lang {
  const stored = localStorage.getItem(STORAGE_KEY);
  if (stored === 'en' || stored === 'fr') return stored;
  return navigator.language.toLowerCase().startsWith('fr') ? 'fr' : 'en';
}

interface Formats {
  readonly date: Intl.DateTimeFormat;
  readonly axisTime: Intl.DateTimeFormat;
  readonly axisDay: Intl.DateTimeFormat;
  readonly number: Intl.NumberFormat;
  readonly percent: Intl.NumberFormat;
  readonly plural: Intl.PluralRules;
}

function formatsOf(l: Lang): Formats {
  const locale = LOCALES[l];
  return {
    // One form for every date on the page: `7 Dec 2026, 16:40:12` / `7 déc. 2026, 16:40:12`.
    date: new Intl.DateTimeFormat(locale, {
      day: 'numeric',
      month: 'short',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    }),
    // A chart's axis: the same locale, the parts its span needs (`16:00`, `7 déc.`).
    axisTime: new Intl.DateTimeFormat(locale, {
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }),
    axisDay: new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short' }),
    number: new Intl.NumberFormat(locale),
    percent: new Intl.NumberFormat(locale, { style: 'percent' }),
    plural: new Intl.PluralRules(locale),
  };
}

let current: Lang = initialLang();
let formats = formatsOf(current);

export function lang(): Lang {
  return current;
}

/** Change the language; the choice is kept in localStorage (it is not a secret). */
export function setLang(l: Lang): void {
  current = l;
  formats = formatsOf(l);
  localStorage.setItem(STORAGE_KEY, l);
  document.documentElement.lang = l;
}

/** Whether a string is a key of the catalogue (for keys made from what the service sends). */
export function isKey(k: string): k is Key {
  return Object.prototype.hasOwnProperty.call(EN, k);
}

/** The string of a key, with `{name}` placeholders filled in (as text, never markup). */
export function t(key: Key, vars: Record<string, string | number> = {}): string {
  return DICTIONARIES[current][key].replace(/\{(\w+)\}/g, (m, name: string) => {
    const v = vars[name];
    return v === undefined ? m : typeof v === 'number' ? num(v) : v;
  });
}

/** The plural form of `base` for `count` (Intl.PluralRules), `{count}` filled in too. */
export function tn(
  base: PluralKey,
  count: number,
  vars: Record<string, string | number> = {},
): string {
  const form = `${base}_${formats.plural.select(count)}`;
  return t(isKey(form) ? form : (`${base}_other` as Key), { count, ...vars });
}

/**
 * A sentence with nodes in it: `{name}` placeholders become the given nodes (record content
 * in an element marked translate="no"), the rest text.
 */
export function tParts(
  key: Key,
  vars: Record<string, Node | string | number>,
): Array<Node | string> {
  const out: Array<Node | string> = [];
  const text = DICTIONARIES[current][key];
  let last = 0;
  for (const m of text.matchAll(/\{(\w+)\}/g)) {
    out.push(text.slice(last, m.index));
    const v = vars[m[1] ?? ''];
    out.push(v === undefined ? m[0] : typeof v === 'number' ? num(v) : v);
    last = m.index + m[0].length;
  }
  out.push(text.slice(last));
  return out.filter((x) => x !== '');
}

/** tParts with the plural form of `base` for `count` (see tn). */
export function tnParts(
  base: PluralKey,
  count: number,
  vars: Record<string, Node | string | number>,
): Array<Node | string> {
  const form = `${base}_${formats.plural.select(count)}`;
  return tParts(isKey(form) ? form : (`${base}_other` as Key), { count, ...vars });
}

/** A fraction (0 to 1) as a percentage in the page's language (`42%` / `42 %`). */
export function percent(fraction: number): string {
  return formats.percent.format(fraction);
}

/** A number as the page's language writes it (`1,234` / `1 234`). */
export function num(n: number): string {
  return formats.number.format(n);
}

/** A date (ISO text or epoch milliseconds) in the page's one date format; `—` when none. */
export function when(v: string | number | undefined | null): string {
  if (v === undefined || v === null || v === '') return '—';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? String(v) : formats.date.format(d);
}

/** A short date for a chart's axis: the time of day, or the day and month. */
export function axisDate(ms: number, parts: 'time' | 'day'): string {
  return (parts === 'time' ? formats.axisTime : formats.axisDay).format(new Date(ms));
}

/** A term the service sends (`lvl_`, `out_`, `st_`, `kind_`, `role_` + value), else as sent. */
export function term(prefix: 'lvl' | 'out' | 'st' | 'kind' | 'role', value: string): string {
  const k = `${prefix}_${value}`;
  return isKey(k) ? t(k) : value;
}

// The legal bases of the default retention duties (config/resolve.ts), as the service sends them.
const BASES: Readonly<Record<string, Key>> = {
  [termsEn.basis_audit]: 'basis_audit',
  [termsEn.basis_security]: 'basis_security',
};

/** A legal basis: the default ones translated, one the operator wrote as written. */
export function basis(text: string): { text: string; translated: boolean } {
  const k = BASES[text];
  return k === undefined ? { text, translated: false } : { text: t(k), translated: true };
}

/**
 * What went wrong, in the page's language: the error's stable `code` (docs/errors.md) mapped to
 * its text, with the code for reference; never the service's English message.
 */
export function errorText(err: unknown): string {
  const code =
    typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
      ? err.code
      : undefined;
  if (code === undefined) return t(err instanceof TypeError ? 'errNetwork' : 'errPage');
  const k = `err_${code}`;
  return t('errorCode', { text: isKey(k) ? t(k) : t('errGeneric'), code });
}
