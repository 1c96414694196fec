import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from "@tsctl/api";
import type { ExecIO, ExecRequest } from "../executor/types.js";
import type { RuncContext } from "./context.js";
import { containerPaths } from "./layout.js";
import { resolveUser } from "./user-lookup.js";
import { constants } from "node:os";

/**
 * execArgs builds `runc exec` for a request. runc starts from the container's own process spec,
 * so env is inherited (ours is appended) and the user stays the container's unless given; runc
 * takes numeric ids only, so names are resolved in the container's /etc files first.
 */
export async function execArgs(ctx: RuncContext, id: string, req: ExecRequest): Promise<string[]> {
  if (req.cmd.length === 0) throw new InvalidArgumentError("exec needs a command");
  const args = ["exec"];
  if (req.workdir) args.push("--cwd", req.workdir);
  for (const kv of req.env ?? []) args.push("--env", kv);
  if (req.user) {
    const u = await resolveUser(containerPaths(ctx.roots, id).rootfs, req.user);
    args.push("--user", `${u.uid}:${u.gid}`);
    for (const g of u.additionalGids) args.push("--additional-gids", String(g));
  }
  return [...args, "--", id, ...req.cmd];
}

/**
 * runcExec runs a command in a running container, streaming its output to io, and resolves to
 * its exit code (128+n when killed by signal n). An abort sends SIGTERM to runc exec, which
 * forwards it to the process, and the promise rejects with the abort reason.
 */
export async function runcExec(ctx: RuncContext, id: string, req: ExecRequest, io: ExecIO, signal: AbortSignal): Promise<number> {
  const state = await ctx.runc.state(id, signal);
  if (state === undefined && !existsSync(containerPaths(ctx.roots, id).metaFile)) throw new NotFoundError(`No such container: ${id}`);
  if (state?.status !== "running") throw new FailedPreconditionError(`container ${id} is not running`);
  const args = [...ctx.runc.globalArgs(), ...(await execArgs(ctx, id, req))];
  signal.throwIfAborted();
  return new Promise<number>((resolve, reject) => {
    const child = spawn(ctx.runc.path, args, { stdio: ["ignore", "pipe", "pipe"] });
    const onAbort = (): void => {
      child.kill("SIGTERM");
    };
    signal.addEventListener("abort", onAbort, { once: true });
    child.stdout.on("data", (b: Buffer) => io.onStdout(new Uint8Array(b)));
    child.stderr.on("data", (b: Buffer) => io.onStderr(new Uint8Array(b)));
    child.on("error", (e) => {
      signal.removeEventListener("abort", onAbort);
      reject(e);
    });
    child.on("close", (code, sig) => {
      signal.removeEventListener("abort", onAbort);
      if (signal.aborted) reject(signal.reason);
      else resolve(code ?? 128 + (sig === null ? 0 : (constants.signals[sig] ?? 0)));
    });
  });
}
