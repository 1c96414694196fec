import { existsSync } from "node:fs";
import { readdir, readFile, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const CGROUP_ROOT = "/sys/fs/cgroup";

/** cgroupHierarchies lists the mounted hierarchies: one per v1 controller, or the v2 root itself. */
export async function cgroupHierarchies(root = CGROUP_ROOT): Promise<string[]> {
  if (existsSync(join(root, "cgroup.controllers"))) return [root];
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  // co-mounted controllers show up as symlinks too (cpu -> cpu,cpuacct); the real dirs suffice.
  return entries.filter((e) => e.isDirectory()).map((e) => join(root, e.name));
}

/** cgroupDirs lists the directories that exist for cgroupsPath across all hierarchies. */
export async function cgroupDirs(cgroupsPath: string, root = CGROUP_ROOT): Promise<string[]> {
  return (await cgroupHierarchies(root)).map((h) => join(h, cgroupsPath)).filter((d) => existsSync(d));
}

async function procsIn(dir: string): Promise<number[]> {
  const text = await readFile(join(dir, "cgroup.procs"), "utf8").catch(() => "");
  return text.split("\n").filter((l) => l !== "").map(Number);
}

/**
 * removeCgroup deletes whatever runc left of a container's cgroups (runc delete normally does
 * this; a crash between create and delete does not). Processes still inside are SIGKILLed first,
 * since a cgroup with members cannot be removed and they must not outlive the container.
 */
export async function removeCgroup(cgroupsPath: string, root = CGROUP_ROOT): Promise<void> {
  for (const dir of await cgroupDirs(cgroupsPath, root)) {
    for (let attempt = 0; attempt < 50; attempt++) {
      for (const pid of await procsIn(dir)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      try {
        await rmdir(dir);
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOENT") break;
        if (code !== "EBUSY" || attempt === 49) throw e;
        await sleep(20);
      }
    }
  }
}
