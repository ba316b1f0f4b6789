import { decodeBase64, hasControl, malformed, parseDecimal } from './encoding.js';

/**
 * c2sp.org/tlog-checkpoint: the note text of a log's tree head.
 *   <origin>\n<tree size, decimal, no leading zero>\n<base64 of the 32-byte root>\n[extension lines]
 * Every line is non-empty and ends with a newline.
 */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  /** The RFC 6962 root hash, 32 bytes. */
  readonly rootHash: Buffer;
  /** Opaque extension lines (not recommended by the spec), without their newlines. */
  readonly extensions: readonly string[];
}

export interface CheckpointInput {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  readonly extensions?: readonly string[];
}

const MAX_CHECKPOINT_LINES = 64;

/** The note text of a checkpoint (ending with a newline). */
export function formatCheckpoint(c: CheckpointInput): string {
  if (!Number.isSafeInteger(c.size) || c.size < 0)
    throw malformed('a tree size is a whole number from 0');
  if (c.rootHash.length !== 32) throw malformed('a root hash is 32 bytes');
  const lines = [c.origin, String(c.size), Buffer.from(c.rootHash).toString('base64')];
  lines.push(...(c.extensions ?? []));
  for (const line of [c.origin, ...(c.extensions ?? [])]) {
    if (line.length === 0 || line.includes('\n') || hasControl(line) || !line.isWellFormed())
      throw malformed('origin and extension lines are non-empty single lines of text');
  }
  return `${lines.join('\n')}\n`;
}

/** Parse a checkpoint's note text strictly. */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw malformed('a checkpoint must end with a newline');
  if (hasControl(text) || !text.isWellFormed())
    throw malformed('a checkpoint holds a control character other than newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw malformed('a checkpoint has at least three lines');
  if (lines.length > MAX_CHECKPOINT_LINES) throw malformed('a checkpoint has too many lines');
  if (lines.some((l) => l.length === 0)) throw malformed('a checkpoint line is empty');
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string];
  const size = parseDecimal(sizeText);
  if (size === undefined)
    throw malformed('the tree size is not a decimal without leading zeros (up to 2^53 - 1)');
  const rootHash = decodeBase64(rootText);
  if (rootHash?.length !== 32) throw malformed('the root hash is not base64 of 32 bytes');
  return Object.freeze({ origin, size, rootHash, extensions: Object.freeze(extensions) });
}
