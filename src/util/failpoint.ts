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
