/** Durations and sizes as a person reads them: `15 min`, `7 days`, `64 MiB`. */

const UNITS: ReadonlyArray<readonly [number, string, string]> = [
  [86_400_000, 'day', 'days'],
  [3_600_000, 'h', 'h'],
  [60_000, 'min', 'min'],
  [1000, 's', 's'],
];

/** A configured duration, in the largest unit it is a whole number of (`15 min`, `1 h`). */
export function duration(ms: number): string {
  for (const [size, one, many] of UNITS)
    if (ms >= size && ms % size === 0) return `${ms / size} ${ms === size ? one : many}`;
  return `${ms} ms`;
}

const HOUR_MS = 3_600_000;

/** A measured duration, rounded for a person: `90 min`, `2 h`, `3 days`. */
export function roughDuration(ms: number): string {
  if (ms < 2 * HOUR_MS) return `${Math.round(ms / 60_000)} min`;
  if (ms <= 48 * HOUR_MS) return `${Math.round(ms / HOUR_MS)} h`;
  return `${Math.round(ms / (24 * HOUR_MS))} days`;
}

const SIZES: ReadonlyArray<readonly [number, string]> = [
  [1024 ** 3, 'GiB'],
  [1024 ** 2, 'MiB'],
  [1024, 'KiB'],
];

export function bytes(n: number): string {
  for (const [size, unit] of SIZES) if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  return `${n} bytes`;
}

export function days(n: number): string {
  return n === 1 ? '1 day' : `${n} days`;
}
