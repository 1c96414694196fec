/**
 * detachedRuntime writes (once per executor) a tiny runtime adapter for conmon. conmon only knows
 * how to ask its runtime to `create` a container, after which we would need a second runc
 * process for `start`. The adapter turns conmon's `create` into `run --detach`, which creates and
 * starts in one runc process: one Go process fewer per container start, the largest single cost
 * left on a busy node. Every other argument passes through unchanged, and the stdio, pid file
 * and exit handling conmon sets up are the same for both commands.
 */
import { chmod, mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

function script(runcPath: string): string {
  return `#!/bin/sh
# Written by tsd: conmon's "create" becomes "run --detach" (see detached-runtime.ts).
for a; do shift; if [ "$a" = create ]; then set -- "$@" run --detach; else set -- "$@" "$a"; fi; done
exec '${runcPath.replaceAll("'", "'\\''")}' "$@"
`;
}

const written = new Map<string, Promise<string>>();

/** detachedRuntime returns the adapter's path under execRoot, writing it on first use. */
export function detachedRuntime(execRoot: string, runcPath: string): Promise<string> {
  const path = join(execRoot, "runc-run-detached");
  let done = written.get(path);
  if (!done) {
    done = (async () => {
      await mkdir(execRoot, { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, script(runcPath), { mode: 0o755 });
      await chmod(tmp, 0o755);
      await rename(tmp, path);
      return path;
    })();
    done.catch(() => written.delete(path));
    written.set(path, done);
  }
  return done;
}
