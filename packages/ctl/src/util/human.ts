/**
 * Human-readable durations and sizes in the shapes Docker prints ("About a minute",
 * "Less than a second", "4.26MB", "64MiB"), so tables read the same as Docker's.
 */

/** humanDuration describes an elapsed time in milliseconds, capitalised like Docker's. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(ms / 3_600_000 / 24 / 365)} years`;
}

/** ago renders "3 minutes ago" for a past timestamp; used by CREATED columns. */
export function ago(thenMs: number, nowMs: number): string {
  return `${humanDuration(Math.max(0, nowMs - thenMs))} ago`;
}

const decimalUnits = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const binaryUnits = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

function scaled(size: number, base: number, units: string[], precision: number): string {
  let i = 0;
  while (size >= base && i < units.length - 1) {
    size /= base;
    i++;
  }
  return `${Number(size.toPrecision(Math.max(precision, String(Math.trunc(size)).length)))}${units[i]}`;
}

/** humanSize is the decimal size with 3 significant digits shown by `image ls` ("4.26MB"). */
export function humanSize(bytes: number): string {
  return scaled(bytes, 1000, decimalUnits, 3);
}

/** bytesSize is the 1024-based size shown by `--pretty` inspect output ("64MiB"). */
export function bytesSize(bytes: number): string {
  return scaled(bytes, 1024, binaryUnits, 4);
}

/** capitalize turns enum-ish words ("running") into Docker's pretty form ("Running"). */
export function capitalize(word: string): string {
  return word === "" ? word : word[0]!.toUpperCase() + word.slice(1);
}

/** ellipsis shortens text to at most max characters, ending with "…" when cut. */
export function ellipsis(text: string, max: number): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  return chars.slice(0, Math.max(0, max - 1)).join("") + "…";
}
