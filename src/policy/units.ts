/** Durations and sizes as a person reads them: `15 min`, `7 days`, `64 MiB`. */

const UNITS: ReadonlyArray<readonly [number, string, string]> = [
  [86_400_000, 'day', 'days'],
  [3_600_000, 'h', 'h'],
  [60_000, 'min', 'min'],
  [1000, 's', 's'],
];

export function duration(ms: number): string {
  for (const [size, one, many] of UNITS)
    if (ms >= size && ms % size === 0) return `${ms / size} ${ms === size ? one : many}`;
  return `${ms} ms`;
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
