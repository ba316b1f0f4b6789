import { closeSync, existsSync, fdatasyncSync, openSync, constants } from 'node:fs';
import { isHex64 } from '../../crypto/hash.js';
import { FILE_MODE, writeAll } from '../../util/fs.js';
import type { LogLayout } from './layout.js';
import { lastLines, scanLines } from './lines.js';

/**
 * One witness's cosignature of one checkpoint, as `.integrity/cosignatures.log` keeps it (one
 * JSON line each, appended and synced). `line` is the note signature line the witness returned
 * (c2sp.org/tlog-cosignature), without its newline: appended to the checkpoint's signed note
 * (see checkpoint-note.ts), it makes the cosigned checkpoint a receipt or a verifier checks.
 */
export interface Cosignature {
  readonly channel: string;
  readonly origin: string;
  readonly size: number;
  /** Merkle root (hex) of the cosigned checkpoint. */
  readonly root: string;
  /** The witness's key name. */
  readonly witness: string;
  readonly line: string;
  /** When it was received (ISO 8601). */
  readonly ts: string;
}

// A cosignature line: "— <name> <base64 of 4 + 8 + 64 bytes>".
const MAX_LINE = 600;

function asCosignature(v: unknown): Cosignature | undefined {
  const c = v as Partial<Record<keyof Cosignature, unknown>> | null;
  const ok =
    typeof c === 'object' &&
    c !== null &&
    typeof c.channel === 'string' &&
    typeof c.origin === 'string' &&
    Number.isSafeInteger(c.size) &&
    (c.size as number) >= 0 &&
    isHex64(c.root) &&
    typeof c.witness === 'string' &&
    typeof c.line === 'string' &&
    c.line.length <= MAX_LINE &&
    c.line.startsWith('\u2014 ') &&
    typeof c.ts === 'string';
  return ok ? (c as Cosignature) : undefined;
}

/**
 * Every cosignature kept, oldest first. Read defensively: a line that is not one is skipped
 * (what it claims is checked against the witness's key by whoever uses it, never trusted here).
 */
export function readCosignatures(layout: LogLayout): Cosignature[] {
  const file = layout.cosignaturesFile;
  if (!existsSync(file)) return [];
  const out: Cosignature[] = [];
  scanLines(file, ({ bytes }) => {
    try {
      const c = asCosignature(JSON.parse(bytes.toString('utf8')));
      if (c !== undefined) out.push(c);
    } catch {
      // a torn or foreign line: skipped
    }
  });
  return out;
}

/** Append cosignatures, synced before this returns (a receipt may be built from them at once). */
export function appendCosignatures(layout: LogLayout, cosignatures: readonly Cosignature[]): void {
  if (cosignatures.length === 0) return;
  const fd = openSync(
    layout.cosignaturesFile,
    constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
    FILE_MODE,
  );
  try {
    writeAll(fd, cosignatures.map((c) => `${JSON.stringify(c)}\n`).join(''));
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * The cosignatures of one checkpoint (origin, size, root) among the last `bytes` of the file:
 * a witness client stores them as it gets them, so those of a recent checkpoint are at its end.
 */
export function cosignaturesOf(
  layout: LogLayout,
  checkpoint: { readonly origin: string; readonly size: number; readonly root: string },
  bytes = 256 * 1024,
): Cosignature[] {
  const file = layout.cosignaturesFile;
  if (!existsSync(file)) return [];
  const out = new Map<string, Cosignature>();
  const { lines } = lastLines(file, Math.ceil(bytes / 200));
  for (const l of lines) {
    try {
      const c = asCosignature(JSON.parse(l.toString('utf8')));
      if (
        c !== undefined &&
        c.origin === checkpoint.origin &&
        c.size === checkpoint.size &&
        c.root === checkpoint.root
      )
        out.set(c.witness, c);
    } catch {
      // skipped
    }
  }
  return [...out.values()];
}
