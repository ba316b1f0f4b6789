import { parseNote, type Note } from '../integrity/note/index.js';
import { LogsError } from '../errors.js';

/** A parsed add-checkpoint body (c2sp.org/tlog-witness). */
export interface AddCheckpointRequest {
  readonly oldSize: number;
  /** Consistency proof hashes, 32 bytes each, at most 63. */
  readonly proof: readonly Buffer[];
  readonly note: Note;
}

export const MAX_PROOF_LINES = 63;
const HASH_B64 = /^[a-z\d+/]{43}=$/i;

const bad = (why: string): LogsError => new LogsError('NOTE_MALFORMED', `add-checkpoint: ${why}`);

/**
 *   old <size>\n
 *   <base64 hash>\n        (0 to 63 lines)
 *   \n
 *   <checkpoint note>
 * Every line ends with a newline; anything else is NOTE_MALFORMED (400).
 */
export function parseAddCheckpoint(body: Buffer): AddCheckpointRequest {
  let at = 0;
  const nextLine = (): string => {
    const nl = body.indexOf(0x0a, at);
    if (nl < 0) throw bad('every line must end with a newline');
    // The header is ASCII; latin1 keeps each byte one character so nothing is reinterpreted.
    const line = body.toString('latin1', at, nl);
    at = nl + 1;
    return line;
  };
  const first = nextLine();
  const m = /^old (0|[1-9]\d{0,15})$/.exec(first);
  const oldSize = m?.[1] === undefined ? NaN : Number(m[1]);
  if (!Number.isSafeInteger(oldSize)) throw bad('the first line must be "old <size>"');
  const proof: Buffer[] = [];
  for (;;) {
    const line = nextLine();
    if (line === '') break;
    if (proof.length === MAX_PROOF_LINES) throw bad(`over ${MAX_PROOF_LINES} proof lines`);
    const hash = HASH_B64.test(line) ? Buffer.from(line, 'base64') : undefined;
    if (hash?.toString('base64') !== line) throw bad('a proof line is not base64 of 32 bytes');
    proof.push(hash);
  }
  return Object.freeze({
    oldSize,
    proof: Object.freeze(proof),
    note: parseNote(body.subarray(at), { maxBytes: body.length }),
  });
}
