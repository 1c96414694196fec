/**
 * Parsing of repeated KEY=VALUE flags (--env, --label, --label-add) and of shell-like command
 * strings (--entrypoint), matching Docker's handling of bare keys.
 */
import { ParseError } from "./units.js";

/** parseEnv accepts "K=V"; a bare "K" takes its value from the caller's environment, as Docker does. */
export function parseEnv(value: string, env: Record<string, string | undefined>): string {
  const eq = value.indexOf("=");
  const key = eq < 0 ? value : value.slice(0, eq);
  if (key === "") throw new ParseError(`invalid environment variable: ${value}`);
  if (eq >= 0) return value;
  const fromEnv = env[key];
  return fromEnv === undefined ? key : `${key}=${fromEnv}`;
}

/** parseLabels turns ["k=v", "flag"] into {k: "v", flag: ""}. */
export function parseLabels(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf("=");
    const key = eq < 0 ? v : v.slice(0, eq);
    if (key === "") throw new ParseError(`invalid label '${v}': empty name`);
    out[key] = eq < 0 ? "" : v.slice(eq + 1);
  }
  return out;
}

/** envKey is the variable name of a "K=V" entry. */
export function envKey(entry: string): string {
  const eq = entry.indexOf("=");
  return eq < 0 ? entry : entry.slice(0, eq);
}

/** mergeEnv applies --env-rm then --env-add to an env list, later keys replacing earlier ones. */
export function mergeEnv(current: readonly string[], add: readonly string[], rm: readonly string[]): string[] {
  const remove = new Set([...rm.map(envKey), ...add.map(envKey)]);
  return [...current.filter((e) => !remove.has(envKey(e))), ...add];
}

/** splitShellWords splits "sh -c 'echo hi'" into words, honouring quotes and backslashes. */
export function splitShellWords(input: string): string[] {
  const words: string[] = [];
  let cur = "";
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === "\\" && quote === '"' && i + 1 < input.length) cur += input[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < input.length) {
      cur += input[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new ParseError("invalid command line string");
  if (inWord) words.push(cur);
  return words;
}
