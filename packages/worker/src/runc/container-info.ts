import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import type { ContainerInfo, ExitStatus } from "../executor/types.js";
import type { RuncContext } from "./context.js";
import { readExitFile, signalName } from "./exit-file.js";
import { containerPaths, dataContainersDir, execContainersDir, type ContainerPaths } from "./layout.js";
import { readMeta, type ContainerMeta } from "./metadata.js";

/**
 * conmonPid returns the pid of the conmon supervising this container while it lives. The pid
 * file may outlive conmon and the pid be reused, so the process's command line must name us.
 */
export async function conmonPid(p: ContainerPaths, id: string): Promise<number | undefined> {
  const pid = Number.parseInt(await readFile(p.conmonPidFile, "utf8").catch(() => ""), 10);
  if (!(pid > 0)) return undefined;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  const argv = cmdline.split("\0");
  return argv[0]?.endsWith("conmon") === true && argv.includes(p.execDir) && argv.includes(id) ? pid : undefined;
}

/** exitStatus builds the agent's ExitStatus from conmon's exit file and our metadata. */
export async function exitStatus(p: ContainerPaths, meta?: ContainerMeta): Promise<ExitStatus | undefined> {
  const rec = await readExitFile(p.exitFile);
  if (rec === undefined) return undefined;
  const status: ExitStatus = { exitCode: rec.exitCode, finishedAtMs: rec.finishedAtMs };
  const sig = signalName(rec.exitCode);
  if (sig !== undefined) status.signal = sig;
  if (meta?.stoppedByUs === true) status.stoppedByUs = true;
  return status;
}

/**
 * inspectContainer merges our metadata, runc's state and the exit file. It works from files
 * alone, so a freshly started tsd sees containers the previous one left running.
 */
export async function inspectContainer(ctx: RuncContext, id: string, signal?: AbortSignal): Promise<ContainerInfo | undefined> {
  const p = containerPaths(ctx.roots, id);
  const meta = await readMeta(p.metaFile);
  const exit = await exitStatus(p, meta);
  // An exit file settles the state; runc would only add a fork to say "stopped".
  const state = exit === undefined ? await ctx.runc.state(id, signal) : undefined;
  if (meta === undefined && exit === undefined && state === undefined && !existsSync(p.execDir) && !existsSync(p.dataDir)) return undefined;
  let s: ContainerInfo["state"] = "created";
  if (exit !== undefined || state?.status === "stopped") s = "exited";
  else if (state?.status === "running" || state?.status === "paused") s = "running";
  const info: ContainerInfo = {
    id,
    taskId: meta?.taskId ?? id,
    name: meta?.name ?? id,
    image: meta?.image ?? "",
    command: meta?.command ?? [],
    createdAtMs: meta?.createdAtMs ?? 0,
    state: s,
    pid: s === "running" ? (state?.pid ?? 0) : 0,
    labels: meta?.labels ?? {},
  };
  if (exit !== undefined) info.exit = exit;
  return info;
}

/** listContainerIds is every id with a trace under our roots or in runc's state. */
export async function listContainerIds(ctx: RuncContext, signal?: AbortSignal): Promise<string[]> {
  const names = async (dir: string): Promise<string[]> => (await readdir(dir).catch(() => [])).filter((n) => !n.startsWith("."));
  const [data, exec, runc] = await Promise.all([
    names(dataContainersDir(ctx.roots)),
    names(execContainersDir(ctx.roots)),
    ctx.runc.list(signal).catch(() => []),
  ]);
  return [...new Set([...data, ...exec, ...runc.map((s) => s.id)])].sort();
}
