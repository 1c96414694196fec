/**
 * Small file-system helpers for crash-safe writes: data reaches the disk (fsync) before a rename
 * makes it visible, so a crash leaves either the old file or the new one, never a torn one.
 */
import { createHash, randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { open, rename, rm, stat, lstat, readdir } from "node:fs/promises";
import { dirname, join } from "node:path";

/** tempName returns a unique sibling name for path, hidden so listings skip it. */
export function tempName(path: string): string {
  return join(dirname(path), `.tmp-${randomBytes(6).toString("hex")}`);
}

/** writeFileAtomic writes data to a temp file, fsyncs it and renames it over path. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempName(path);
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dirname(path));
}

/** fsyncDir makes a rename in dir durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** exists tells whether path exists (without following a final symlink). */
export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}

/** sha256 returns "sha256:<hex>" of data. */
export function sha256(data: string | Uint8Array): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** hexOf strips the "sha256:" algorithm prefix of a digest. */
export function hexOf(digest: string): string {
  return digest.slice(digest.indexOf(":") + 1);
}

/** diskUsage sums the sizes of regular files under dir, counting each inode once. */
export async function diskUsage(dir: string): Promise<number> {
  const seen = new Set<number>();
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        const s = await stat(p);
        if (!seen.has(s.ino)) total += s.size;
        seen.add(s.ino);
      }
    }
  };
  await walk(dir);
  return total;
}
