import { LogsError } from '../../errors.js';

/**
 * Standard, padded, canonical base64 (RFC 4648 section 4) or undefined. Node's decoder skips
 * what it does not know; re-encoding and comparing refuses all of that, and non-zero pad bits.
 */
export function decodeBase64(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

/**
 * A decimal with no leading zero ("0" alone is fine) that fits a safe integer, or undefined.
 * Checkpoint sizes are uint64 on the wire; trees past 2^53 - 1 leaves are refused here.
 */
export function parseDecimal(text: string): number | undefined {
  if (text.length === 0 || text.length > 16) return undefined;
  if (text.length > 1 && text.startsWith('0')) return undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
  }
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Text that must not hold control characters but newline (signed-note, "Format"). */
export function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return true;
  }
  return false;
}

export function malformed(message: string, details?: Record<string, unknown>): LogsError {
  return new LogsError('NOTE_MALFORMED', message, details === undefined ? {} : { details });
}

export function keyInvalid(message: string): LogsError {
  return new LogsError('NOTE_KEY_INVALID', message);
}
