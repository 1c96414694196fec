import { spawn } from "node:child_process";
import { TsctlError, UnavailableError } from "@tsctl/api";

/** CommandResult is a finished child process's exit code and captured output. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * runCommand runs a short-lived helper (runc, mount) to completion, capturing its output. The
 * signal kills the child; a missing binary becomes Unavailable. It never throws for a non-zero
 * exit: callers decide which codes are failures (see checked()).
 */
export function runCommand(file: string, args: string[], signal?: AbortSignal): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"], signal });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e: NodeJS.ErrnoException) => {
      if (e.name === "AbortError") reject(e);
      else if (e.code === "ENOENT") reject(new UnavailableError(`${file} not found`, e));
      else reject(e);
    });
    child.on("close", (code, sig) => {
      resolve({
        code: code ?? 128 + (sig === null ? 0 : 9),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
  });
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
