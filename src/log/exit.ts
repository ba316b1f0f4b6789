/**
 * Process exit and signal hooks shared by every open Logs: on exit, buffered records are
 * written, synced and checkpointed synchronously; on SIGINT/SIGTERM/SIGHUP the same happens,
 * and if nobody else handles the signal it is raised again so the process still stops.
 */
export interface ExitTarget {
  /** Write, sync and checkpoint everything, synchronously; keep running. */
  flushSync(): void;
  /** As flushSync, then release everything. */
  closeSync(): void;
}

const targets = new Set<ExitTarget>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let installed = false;

function onExit(): void {
  for (const t of [...targets]) t.closeSync();
}

function onSignal(signal: NodeJS.Signals): void {
  for (const t of [...targets]) t.flushSync();
  // Someone else (the host application) handles this signal: let it decide when to stop.
  if (process.listenerCount(signal) > 1) return;
  for (const t of [...targets]) t.closeSync();
  uninstall();
  process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', onExit);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.removeListener('exit', onExit);
  for (const s of SIGNALS) process.removeListener(s, onSignal);
}

export function registerExit(target: ExitTarget): void {
  targets.add(target);
  install();
}

export function unregisterExit(target: ExitTarget): void {
  targets.delete(target);
  if (targets.size === 0) uninstall();
}
