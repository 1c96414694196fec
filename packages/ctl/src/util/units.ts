/**
 * Parsers for flag values, matching the formats Docker users type: Go durations ("1m30s"),
 * RAM sizes ("64M", "1.5g", 1024-based), CPU counts ("0.5") and unsigned integers. Each throws
 * ParseError with Docker's reason text; callers attach the flag name via `flagValue`.
 */
import { FlagValueError } from "../errors.js";

/** ParseError carries the reason a value was rejected, without the flag name. */
export class ParseError extends Error {
  override name = "ParseError";
}

/** flagValue runs a parser and reports failures against the flag they came from. */
export function flagValue<T>(flag: string, value: string, parse: (v: string) => T): T {
  try {
    return parse(value);
  } catch (err) {
    if (err instanceof ParseError) throw new FlagValueError(flag, value, err.message);
    throw err;
  }
}

const sizeUnits: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** parseRamBytes reads sizes like "64M", "64mb", "1.5GiB", "512" (bytes), all 1024-based. */
export function parseRamBytes(value: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp])?(?:i?b)?$/i.exec(value);
  if (!m) throw new ParseError(`invalid size: '${value}'`);
  const unit = sizeUnits[(m[2] ?? "").toLowerCase()] ?? 1;
  return Math.trunc(Number(m[1]) * unit);
}

const durationUnits: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  "μs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** parseDurationMs reads Go durations ("1h2m3.5s", "500ms", "0") and returns milliseconds. */
export function parseDurationMs(value: string): number {
  const invalid = () => new ParseError(`time: invalid duration "${value}"`);
  let rest = value;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    if (rest[0] === "-") sign = -1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") throw invalid();
  let total = 0;
  while (rest !== "") {
    const num = /^(\d*(?:\.\d*)?)/.exec(rest)?.[1] ?? "";
    if (num === "" || num === ".") throw invalid();
    rest = rest.slice(num.length);
    const unit = /^[^\d.]*/.exec(rest)?.[0] ?? "";
    if (unit === "") throw new ParseError(`time: missing unit in duration "${value}"`);
    const scale = durationUnits[unit];
    if (scale === undefined) throw new ParseError(`time: unknown unit "${unit}" in duration "${value}"`);
    total += Number(num) * scale;
    rest = rest.slice(unit.length);
  }
  return sign * total;
}

/** parseNanoCpus reads a CPU count such as "0.5" or "2" as billionths of a CPU. */
export function parseNanoCpus(value: string): number {
  const m = /^(\d+)(?:\.(\d*))?$/.exec(value);
  if (!m) throw new ParseError(`failed to parse ${value} as a rational number`);
  const frac = m[2] ?? "";
  if (frac.replace(/0+$/, "").length > 9) throw new ParseError("value is too precise");
  return Number(m[1] ?? "0") * 1_000_000_000 + Number((frac + "000000000").slice(0, 9));
}

/** parseUint reads a non-negative integer the way Go's strconv.ParseUint reports errors. */
export function parseUint(value: string): number {
  if (!/^\d+$/.test(value)) throw new ParseError(`strconv.ParseUint: parsing "${value}": invalid syntax`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new ParseError(`strconv.ParseUint: parsing "${value}": value out of range`);
  return n;
}

/** parseInt64 reads a signed integer the way Go's strconv.ParseInt reports errors. */
export function parseInt64(value: string): number {
  if (!/^[-+]?\d+$/.test(value)) throw new ParseError(`strconv.ParseInt: parsing "${value}": invalid syntax`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new ParseError(`strconv.ParseInt: parsing "${value}": value out of range`);
  return n;
}

/** oneOf builds a parser accepting only the listed words. */
export function oneOf<T extends string>(...allowed: T[]): (v: string) => T {
  return (v) => {
    if ((allowed as string[]).includes(v)) return v as T;
    throw new ParseError(`must be one of ${allowed.join(", ")}`);
  };
}
