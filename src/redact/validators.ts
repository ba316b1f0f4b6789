import { isIPv6 } from 'node:net';

/** Luhn checksum over a string of digits (card numbers). */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** `body` with the Luhn check digit that makes it valid appended (test and self-test cards). */
export function withLuhnDigit(body: string): string {
  for (let d = 0; d <= 9; d++) if (luhnValid(`${body}${d}`)) return `${body}${d}`;
  throw new Error(`not a string of digits: ${body.length} characters`);
}

/**
 * Card numbers by brand prefix and length (Visa, Mastercard, Amex, Discover, JCB, Diners,
 * UnionPay, Maestro). A 13-19 digit number that no card brand issues (a millisecond timestamp,
 * an order number) is not a card even when its Luhn digit happens to fit.
 */
export function looksLikeCard(digits: string): boolean {
  return (
    digits.length >= 13 &&
    digits.length <= 19 &&
    brandAccepts(Number(digits.slice(0, 4)), digits.length) &&
    luhnValid(digits)
  );
}

/** Does a card brand issue numbers starting with these 4 digits, of this length? */
export function brandAccepts(four: number, n: number): boolean {
  const two = Math.floor(four / 100);
  if (two >= 40 && two <= 49) return n === 13 || n === 16 || n === 19; // Visa
  if ((two >= 51 && two <= 55) || (four >= 2221 && four <= 2720)) return n === 16; // Mastercard
  if (two === 34 || two === 37) return n === 15; // Amex
  if (four === 6011 || two === 65 || (four >= 6440 && four <= 6499)) return n >= 16; // Discover
  if (four >= 3528 && four <= 3589) return n >= 16; // JCB
  if ((four >= 3000 && four <= 3059) || two === 36 || two === 38 || two === 39) return n >= 14; // Diners
  if (two === 62) return n >= 16; // UnionPay
  if (two === 50 || (two >= 56 && two <= 69)) return n >= 12; // Maestro
  return false;
}

/** IBAN: country code, check digits, BBAN; valid when the mod-97 remainder is 1 (ISO 13616). */
export function ibanValid(text: string): boolean {
  // One pass, no copies: it runs on every IBAN-shaped match, which hostile text makes many.
  const chars: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c === 32) continue;
    if (c >= 97 && c <= 122) c -= 32; // upper case
    const digit = c >= 48 && c <= 57;
    const letter = c >= 65 && c <= 90;
    const n = chars.length;
    if ((n < 2 && !letter) || (n >= 2 && n < 4 && !digit) || (!digit && !letter)) return false;
    chars.push(c);
    if (chars.length > 34) return false;
  }
  if (chars.length < 15) return false;
  // mod 97 of the number made by moving the first four characters to the end, A=10 ... Z=35.
  let rest = 0;
  for (let k = 0; k < chars.length; k++) {
    const c = chars[(k + 4) % chars.length] as number;
    rest = c <= 57 ? (rest * 10 + (c - 48)) % 97 : (rest * 100 + (c - 55)) % 97;
  }
  return rest === 1;
}

/**
 * French NIR (social security number): 13 digits and a 2-digit key = 97 - (number mod 97),
 * Corsica's departments 2A and 2B counted as 19 and 18.
 */
export function nirValid(text: string): boolean {
  const nir = text.replace(/ /g, '').toUpperCase();
  if (!/^[12]\d{4}(?:\d{2}|2A|2B)\d{8}$/.test(nir)) return false;
  const body = nir.slice(0, 13).replace('2A', '19').replace('2B', '18');
  const key = Number(nir.slice(13));
  let rest = 0;
  for (const ch of body) rest = (rest * 10 + (ch.charCodeAt(0) - 48)) % 97;
  return key === 97 - rest;
}

/** IPv6 as Node parses it, with at least one hexadecimal digit (`::` alone is not an address). */
export function ipv6Valid(text: string): boolean {
  return /[0-9a-f]/i.test(text) && isIPv6(text);
}
