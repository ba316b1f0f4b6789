/** A plain-text table: the first and last columns left-aligned, numbers right-aligned. */
export function renderTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    widths
      .map((w, c) => {
        const cell = cells[c] ?? '';
        return c === 0 || c === widths.length - 1 ? cell.padEnd(w) : cell.padStart(w);
      })
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...rows.map(line)].join('\n');
}

const INT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** 1234567.8 -> "1,234,568". */
export function int(n: number): string {
  return INT.format(n);
}

/** A fixed number of decimals: fixed(1.234, 2) -> "1.23". */
export function fixed(n: number, digits: number): string {
  return n.toFixed(digits);
}
