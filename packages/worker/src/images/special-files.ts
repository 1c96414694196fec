/**
 * Special files that Node cannot create: device nodes (overlayfs whiteouts are 0/0 character
 * devices) and extended attributes (the overlayfs opaque flag, file capabilities). These are rare
 * in layers, so shelling out to `mknod` (coreutils) and `setfattr` (Debian package `attr`) per
 * entry costs little and keeps native code out of the worker.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** mknod creates a device node or fifo at path with the given permission bits. */
export async function mknod(path: string, kind: "c" | "b" | "p", mode: number, major = 0, minor = 0): Promise<void> {
  const args = ["-m", (mode & 0o7777).toString(8), path, kind];
  if (kind !== "p") args.push(String(major), String(minor));
  await run("mknod", args);
}

/** whiteout creates the overlayfs form of a deleted entry: a 0/0 character device. */
export function whiteout(path: string): Promise<void> {
  return mknod(path, "c", 0o000, 0, 0);
}

/** setXattr sets an extended attribute on path itself (never through a symlink). */
export async function setXattr(path: string, name: string, value: Uint8Array): Promise<void> {
  await run("setfattr", ["-h", "-n", name, "-v", `0x${Buffer.from(value).toString("hex")}`, "--", path]);
}

/** markOpaque flags a directory so overlayfs hides what lower layers hold under it. */
export function markOpaque(dir: string): Promise<void> {
  return setXattr(dir, "trusted.overlay.opaque", Buffer.from("y"));
}

/** syncFilesystem flushes the filesystem holding path (syncfs), cheaper than an fsync per extracted file. */
export async function syncFilesystem(path: string): Promise<void> {
  await run("sync", ["-f", path]);
}
