/** CPU time from /proc, for the benches that watch other processes (Linux only). */
import { readFileSync } from 'node:fs';

// /proc/<pid>/stat counts CPU time in clock ticks: 100 per second on Linux.
const TICK_MS = 10;

/** CPU time (user + system, all threads, ms) a process has used so far; undefined once gone. */
export function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after the command name, which is in parentheses and may hold spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}

/** CPU time (ms) all processes have used since boot, from /proc/stat; undefined off Linux. */
export function systemCpuMs(): number | undefined {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    // cpu  user nice system idle iowait irq softirq steal ...: all but idle and iowait.
    const t = cpu.trim().split(/\s+/).slice(1).map(Number);
    const busy = t.slice(0, 8).reduce((a, b, i) => (i === 3 || i === 4 ? a : a + b), 0);
    return Number.isFinite(busy) ? busy * TICK_MS : undefined;
  } catch {
    return undefined;
  }
}
