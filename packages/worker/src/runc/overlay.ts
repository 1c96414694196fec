import { readFile } from "node:fs/promises";
import { TsctlError } from "@tsctl/api";
import type { Spawner } from "../spawner/index.js";
import { checked, oneLine, runCommand } from "./run-command.js";

// mountinfo escapes space, tab, newline and backslash in paths as octal (\040 ...).
function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** mountPoints lists every mount point in this process's mount namespace. */
export async function mountPoints(): Promise<string[]> {
  const text = await readFile("/proc/self/mountinfo", "utf8");
  return text
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((p): p is string => p !== undefined && p !== "")
    .map(unescapeMountPath);
}

/** isMounted says whether path is a mount point (possibly several times over). */
export async function isMounted(path: string): Promise<boolean> {
  return (await mountPoints()).includes(path);
}

/**
 * mountOverlay mounts the image layers (lowest first, as the image store lists them) with a
 * private upper/work pair at target. overlayfs wants lowerdir top-most first, hence the reverse.
 */
export async function mountOverlay(
  layers: readonly string[],
  upper: string,
  work: string,
  target: string,
  signal?: AbortSignal,
  spawner?: Spawner,
): Promise<void> {
  if (layers.length === 0) throw new TsctlError("Internal", "image has no layers to mount");
  for (const p of [...layers, upper, work]) {
    // Commas and colons separate overlay options and lowerdirs; they cannot be escaped reliably.
    if (/[,:]/.test(p)) throw new TsctlError("Internal", `path not usable as overlay dir: ${p}`);
  }
  const opts = `lowerdir=${[...layers].reverse().join(":")},upperdir=${upper},workdir=${work}`;
  checked(`mount overlay at ${target}`, await runCommand("mount", ["-t", "overlay", "overlay", "-o", opts, target], signal, spawner));
}

/**
 * unmountAll removes every mount stacked at path. A busy mount is detached lazily so removal
 * always makes progress; its files stay reachable only to processes still holding them.
 */
export async function unmountAll(path: string, spawner?: Spawner): Promise<void> {
  for (let i = 0; i < 16 && (await isMounted(path)); i++) {
    const r = await runCommand("umount", [path], undefined, spawner);
    if (r.code === 0) continue;
    const lazy = await runCommand("umount", ["-l", path], undefined, spawner);
    if (lazy.code !== 0 && (await isMounted(path))) {
      throw new TsctlError("Internal", `unmount ${path}: ${oneLine(lazy.stderr) || oneLine(r.stderr)}`);
    }
  }
}
