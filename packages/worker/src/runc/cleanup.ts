import { rm } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { TsctlError } from "@tsctl/api";
import { removeCgroup } from "./cgroups.js";
import { conmonPid } from "./container-info.js";
import type { RuncContext } from "./context.js";
import { containerPaths } from "./layout.js";
import { cgroupsPathFor } from "./oci-spec.js";
import { mountPoints, unmountAll } from "./overlay.js";

async function stopConmon(ctx: RuncContext, id: string): Promise<void> {
  const p = containerPaths(ctx.roots, id);
  // After runc delete conmon sees its child gone, writes the exit file and leaves on its own.
  for (let i = 0; i < 100; i++) {
    const pid = await conmonPid(p, id);
    if (pid === undefined) return;
    if (i === 50) process.kill(pid, "SIGKILL");
    await sleep(20);
  }
}

/**
 * removeContainer deletes everything a container ever had: runc state and processes, conmon,
 * mounts, cgroups, then the exec and data directories. Each step tolerates its part being
 * absent, so it also cleans up after a crash half-way through prepare, start or remove. Dirs
 * are only deleted once nothing is mounted below them: rm must never walk into a live rootfs.
 */
export async function removeContainer(ctx: RuncContext, id: string): Promise<void> {
  const p = containerPaths(ctx.roots, id);
  const errors: string[] = [];
  const step = async (what: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (e) {
      errors.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  await step("runc delete", () => ctx.runc.delete(id));
  await step("stop conmon", () => stopConmon(ctx, id));
  await step("unmount", async () => {
    const below = (await mountPoints()).filter((m) => m === p.execDir || m.startsWith(p.execDir + "/"));
    // Deepest first, so a mount inside the rootfs goes before the rootfs itself.
    for (const m of [...new Set(below)].sort((a, b) => b.length - a.length)) await unmountAll(m, ctx.spawner);
  });
  await step("cgroup", () => removeCgroup(cgroupsPathFor(ctx.cgroupParent, id)));
  const stillMounted = (await mountPoints()).some((m) => m.startsWith(p.execDir + "/") || m.startsWith(p.dataDir + "/"));
  if (!stillMounted) {
    await step("remove dirs", async () => {
      await rm(p.execDir, { recursive: true, force: true });
      await rm(p.dataDir, { recursive: true, force: true });
    });
  }
  if (errors.length > 0) throw new TsctlError("Internal", `remove container ${id}: ${errors.join("; ")}`);
}
