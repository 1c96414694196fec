/**
 * Column alignment like Go's tabwriter as Docker configures it (minimum cell width 10, padding 3),
 * so `tsctl` tables line up exactly as Docker's do. The last column is never padded.
 */

const minWidth = 10;
const padding = 3;

/** alignColumns pads every cell but the last of each row so columns line up. */
export function alignColumns(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      if (i === row.length - 1) return;
      widths[i] = Math.max(widths[i] ?? 0, Math.max(minWidth, [...cell].length + padding));
    });
  }
  return rows.map((row) =>
    row.map((cell, i) => (i === row.length - 1 ? cell : cell + " ".repeat((widths[i] ?? 0) - [...cell].length))).join(""),
  );
}
