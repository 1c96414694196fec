import { lstat, readlink } from "node:fs/promises";
import { join, posix } from "node:path";

const MAX_LINKS = 40;

/**
 * resolveInRoot resolves a path inside a container root the way the container would see it:
 * symlinks (absolute or relative) are followed but can never leave root, so an image cannot
 * make us read host files such as the host's /etc/passwd. Missing components are kept as-is.
 */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  const pending = posix.normalize("/" + path).split("/").filter((p) => p !== "");
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === ".") continue;
    if (part === "..") {
      done.pop();
      continue;
    }
    const host = join(root, ...done, part);
    const st = await lstat(host).catch(() => undefined);
    if (st === undefined || !st.isSymbolicLink()) {
      done.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw new Error(`too many symlinks resolving ${path}`);
    const target = await readlink(host);
    if (target.startsWith("/")) done.length = 0;
    pending.unshift(...target.split("/").filter((p) => p !== ""));
  }
  return join(root, ...done);
}
