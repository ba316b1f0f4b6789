/**
 * Crash-test hooks. `DIHYA_LOGS_FAILPOINT=name[:n]` makes the process kill itself with SIGKILL
 * the n-th time (default first) it reaches the named point, so tests can prove that a crash at
 * that exact step of rotation, sealing or retention loses and duplicates nothing. Unset (always,
 * outside tests), a failpoint is one comparison.
 */
const spec = process.env.DIHYA_LOGS_FAILPOINT;
const [target, nth] = spec === undefined ? [undefined, 0] : parse(spec);
let hits = 0;

function parse(text: string): [string, number] {
  const at = text.lastIndexOf(':');
  if (at === -1) return [text, 1];
  const n = Number(text.slice(at + 1));
  return [text.slice(0, at), Number.isSafeInteger(n) && n > 0 ? n : 1];
}

export function failpoint(name: string): void {
  if (target !== name) return;
  hits += 1;
  if (hits === nth) process.kill(process.pid, 'SIGKILL');
}

/** Whether the next call of `failpoint(name)` kills the process (to tear a write before it). */
export function failpointArmed(name: string): boolean {
  return target === name && hits + 1 === nth;
}

/**
 * Fault-injection hooks for the torture suite and tests. `DIHYA_LOGS_FAULT=name:CODE[:n]` makes
 * the n-th (default first) operation at the named point fail as the system would fail it
 * (`fdatasync:EIO`, `write:ENOSPC`), once. Unset, a fault point is one comparison.
 */
const faultSpec = process.env.DIHYA_LOGS_FAULT;
const fault = faultSpec === undefined ? undefined : parseFault(faultSpec);
let faultHits = 0;

function parseFault(text: string): { name: string; code: string; nth: number } | undefined {
  const [name, code, n] = text.split(':');
  if (name === undefined || code === undefined || !/^E[A-Z]{2,15}$/.test(code)) return undefined;
  const nth = Number(n ?? 1);
  return { name, code, nth: Number.isSafeInteger(nth) && nth > 0 ? nth : 1 };
}

/** The error to fail this operation with, when a fault is injected here now; else undefined. */
export function injectedFault(name: string): NodeJS.ErrnoException | undefined {
  if (fault?.name !== name) return undefined;
  faultHits += 1;
  if (faultHits !== fault.nth) return undefined;
  const err: NodeJS.ErrnoException = new Error(`${fault.code}: injected fault (${name})`);
  err.code = fault.code;
  return err;
}
