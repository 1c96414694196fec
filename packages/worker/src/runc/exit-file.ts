import { watch, type FSWatcher } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { constants } from "node:os";
import { WakeableSleep } from "./wakeable-sleep.js";

/** ExitRecord is what conmon left in the exit file: the code and when it was written. */
export interface ExitRecord {
  exitCode: number;
  finishedAtMs: number;
}

/** readExitFile returns the recorded exit, or undefined while the container has not exited. */
export async function readExitFile(path: string): Promise<ExitRecord | undefined> {
  try {
    const [text, st] = await Promise.all([readFile(path, "utf8"), stat(path)]);
    const code = Number.parseInt(text.trim(), 10);
    // conmon creates the file and then writes it; an empty read means "try again shortly".
    if (Number.isNaN(code)) return undefined;
    return { exitCode: code, finishedAtMs: st.mtimeMs };
  } catch {
    return undefined;
  }
}

/** signalName maps Docker-style exit codes 128+n back to the signal name (137 → "SIGKILL"). */
export function signalName(exitCode: number): string | undefined {
  if (exitCode <= 128 || exitCode > 128 + 64) return undefined;
  const n = exitCode - 128;
  return Object.entries(constants.signals).find(([, v]) => v === n)?.[0];
}

/** WaitExitOptions tunes waitForExit; orphaned reports that no exit file can come any more. */
export interface WaitExitOptions {
  pollMs?: number;
  orphaned?: () => Promise<boolean>;
}

/**
 * waitForExit resolves when the exit file appears. It watches the exit directory and also polls,
 * since inotify can miss events (directory made later, another process wrote it before we
 * watched). If orphaned() says the supervisor died without writing one, it resolves with 255, the
 * code Docker reports when the real one is unknown.
 */
export async function waitForExit(exitDir: string, exitFile: string, signal: AbortSignal, opts: WaitExitOptions = {}): Promise<ExitRecord> {
  // inotify on the exit dir wakes us at once; polling only covers the rare missed event, so it can be slow.
  const pollMs = opts.pollMs ?? 2000;
  let watcher: FSWatcher | undefined;
  const poll = new WakeableSleep();
  const nudge = poll.wake;
  try {
    watcher = watch(exitDir, nudge);
    watcher.on("error", () => undefined);
  } catch {
    // The directory may not exist yet (half-made container); polling covers it.
  }
  signal.addEventListener("abort", nudge);
  try {
    for (let round = 0; ; round++) {
      signal.throwIfAborted();
      const rec = await readExitFile(exitFile);
      if (rec !== undefined) return rec;
      // Checking the supervisor costs a runc call; every few seconds is plenty.
      if (opts.orphaned !== undefined && round > 0 && round % Math.max(1, Math.round(4000 / pollMs)) === 0 && (await opts.orphaned())) {
        const again = await readExitFile(exitFile);
        return again ?? { exitCode: 255, finishedAtMs: Date.now() };
      }
      await poll.sleep(pollMs);
    }
  } finally {
    signal.removeEventListener("abort", nudge);
    watcher?.close();
  }
}
