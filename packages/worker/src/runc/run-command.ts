import { TsctlError, UnavailableError } from "@tsctl/api";
import { DirectSpawner, type Spawner } from "../spawner/index.js";

/** CommandResult is a finished child process's exit code and captured output. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** directSpawner serves callers without an executor's spawner (test teardown, tools). */
const directSpawner = new DirectSpawner();

/**
 * runCommand runs a short-lived helper (runc, mount) to completion through spawner, capturing its
 * output. The signal kills the child; a missing binary becomes Unavailable. It never throws for a
 * non-zero exit: callers decide which codes are failures (see checked()).
 */
export async function runCommand(file: string, args: string[], signal?: AbortSignal, spawner: Spawner = directSpawner): Promise<CommandResult> {
  signal?.throwIfAborted();
  try {
    const r = await spawner.run(file, args, signal === undefined ? {} : { signal });
    return { code: r.code ?? 128 + (r.signal === null ? 0 : 9), stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.name !== "AbortError" && err.code === "ENOENT") throw new UnavailableError(`${file} not found`, err);
    throw e;
  }
}

/** oneLine squeezes a helper's stderr into a one-line message, preferring runc's JSON "msg". */
export function oneLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const msgs = lines.map((l) => {
    if (!l.startsWith("{")) return l;
    try {
      const parsed = JSON.parse(l) as { msg?: unknown };
      return typeof parsed.msg === "string" ? parsed.msg : l;
    } catch {
      return l;
    }
  });
  return msgs.at(-1) ?? "";
}

/** checked turns a non-zero exit into an Internal error naming the command and its stderr. */
export function checked(what: string, r: CommandResult): CommandResult {
  if (r.code !== 0) throw new TsctlError("Internal", `${what}: ${oneLine(r.stderr) || `exit status ${r.code}`}`);
  return r;
}
