import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { TsctlError, UnavailableError } from "@tsctl/api";
import type { Spawner } from "../spawner/index.js";
import type { ContainerPaths } from "./layout.js";
import { oneLine } from "./run-command.js";

/** ConmonOptions are what conmon needs to create one container through runc. */
export interface ConmonOptions {
  conmonPath: string;
  /** The runtime conmon runs: runc itself, or the run-detached adapter (detached-runtime.ts). */
  runcPath: string;
  runcRoot: string;
  id: string;
  name: string;
  paths: ContainerPaths;
}

/**
 * conmonArgs is the conmon 2.1.6 command line: it runs `runc --root R --log-format=json --log=L
 * create --bundle B --pid-file P <id>`, keeps the container's stdio, writes the k8s-file log and
 * the exit code (<exit-dir>/<id>), and daemonises (fork + setsid) so it outlives tsd.
 */
export function conmonArgs(o: ConmonOptions): string[] {
  const p = o.paths;
  return [
    "--api-version", "1",
    "-c", o.id,
    "-u", o.id,
    "-n", o.name,
    "-r", o.runcPath,
    "-b", p.execDir,
    "-p", p.containerPidFile,
    "-l", `k8s-file:${p.logFile}`,
    "--exit-dir", p.exitDir,
    "--socket-dir-path", p.socketDir,
    "--conmon-pidfile", p.conmonPidFile,
    "--runtime-arg", "--root",
    "--runtime-arg", o.runcRoot,
    "--runtime-arg", "--log-format=json",
    "--runtime-arg", `--log=${p.runcLog}`,
    "--log-level", "error",
  ];
}

/**
 * startConmon creates the container under a new conmon and resolves with the container's pid
 * once `runc create` has finished. conmon reports that on the sync pipe (fd 3, _OCI_SYNCPIPE) as
 * {"data": pid} or {"data": -1, "message": why}. The pipe stays open in the daemon, so the
 * spawner reads one message and closes our end instead of waiting for EOF. conmon gets its own
 * session, so signals sent to tsd's process group never reach it.
 */
export async function startConmon(o: ConmonOptions, spawner: Spawner, signal: AbortSignal): Promise<number> {
  signal.throwIfAborted();
  // conmon's own stderr goes to a file: a pipe would be held open by the daemon for its lifetime.
  const outPath = join(o.paths.execDir, "conmon.out");
  const conmonOutput = async (): Promise<string> => oneLine(await readFile(outPath, "utf8").catch(() => ""));
  const text = await spawner.startDetached(o.conmonPath, conmonArgs(o), { env: { _OCI_SYNCPIPE: "3" }, outPath, signal }).catch((e: unknown) => {
    const err = e as NodeJS.ErrnoException;
    throw err.code === "ENOENT" ? new UnavailableError(`${o.conmonPath} not found`, err) : e;
  });
  if (text.trim() === "") throw new TsctlError("Internal", `conmon for ${o.id} failed: ${(await conmonOutput()) || "no report"}`);
  const msg = JSON.parse(text.split("\n")[0] as string) as { data: number; message?: string };
  if (msg.data < 0) {
    throw new TsctlError("Internal", `create container ${o.id}: ${oneLine(msg.message ?? "") || (await conmonOutput())}`);
  }
  return msg.data;
}
