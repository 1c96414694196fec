import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * helperScriptPath finds spawner-main.mjs. tsc neither compiles nor copies .mjs files, so the one
 * source file serves both ways of running: next to this module when it runs from src/ (vitest),
 * and in ../../src/spawner/ when it runs from dist/spawner/ (bin/tsd after `npm run build`).
 * undefined means not found; the spawner then forks directly.
 */
export function helperScriptPath(): string | undefined {
  const candidates = ["./spawner-main.mjs", "../../src/spawner/spawner-main.mjs"];
  return candidates.map((c) => fileURLToPath(new URL(c, import.meta.url))).find((p) => existsSync(p));
}
