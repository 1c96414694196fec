/**
 * test-host gives a runc test file its own roots, cgroup parent and busybox image, and a teardown
 * that leaves nothing behind even after failures: containers, mounts, cgroups, processes, dirs.
 * It only ever kills processes whose command line names this host's unique temp directory.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { TaskSchema } from "@tsctl/api";
import { cgroupDirs, removeCgroup } from "./cgroups.js";
import { mountPoints, unmountAll } from "./overlay.js";
import { createRuncExecutor, type RuncExecutor } from "./runc-executor.js";
import { buildBusyboxLayer, FakeImageStore } from "./test-image.js";

export const canRunContainers =
  process.getuid?.() === 0 && existsSync("/usr/sbin/runc") && existsSync("/usr/bin/conmon") && existsSync("/bin/busybox");

/** RuncTestHost owns the temp tree of one test file. */
export class RuncTestHost {
  readonly dir = mkdtempSync(join(tmpdir(), "tsctl-runc-"));
  readonly cgroupParent = `tsctl-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  readonly images = new FakeImageStore([buildBusyboxLayer(join(this.dir, "layer0"))]);
  readonly executors: RuncExecutor[] = [];

  /** executor returns a new executor over the same roots, as a restarted tsd would build. */
  async executor(): Promise<RuncExecutor> {
    const ex = createRuncExecutor({
      dataRoot: join(this.dir, "data"),
      execRoot: join(this.dir, "exec"),
      cgroupParent: this.cgroupParent,
      images: this.images,
      hostname: "test-node",
    });
    await ex.init();
    this.executors.push(ex);
    return ex;
  }

  /** ourPids lists processes whose command line names our temp dir (conmon, runc helpers). */
  ourPids(): number[] {
    return readdirSync("/proc")
      .filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid)
      .filter((n) => {
        try {
          return readFileSync(`/proc/${n}/cmdline`, "utf8").includes(this.dir);
        } catch {
          return false;
        }
      })
      .map(Number);
  }

  async mountsBelow(): Promise<string[]> {
    return (await mountPoints()).filter((m) => m.startsWith(this.dir + "/"));
  }

  /** leftovers reports anything a removed container might have left. */
  async leftovers(id: string): Promise<string[]> {
    const out: string[] = [];
    out.push(...(await this.mountsBelow()).filter((m) => m.includes(id)));
    out.push(...(await cgroupDirs(`/${this.cgroupParent}/${id}`)));
    for (const d of [join(this.dir, "exec/containers", id), join(this.dir, "data/containers", id)]) if (existsSync(d)) out.push(d);
    out.push(...this.ourPids().filter((p) => readFileSync(`/proc/${p}/cmdline`, "utf8").includes(id)).map((p) => `pid ${p}`));
    return out;
  }

  /** teardown removes everything, best effort first through the executor, then by force. */
  async teardown(): Promise<void> {
    const ex = this.executors[0] ?? (await this.executor());
    for (const c of await ex.list().catch(() => [])) {
      await ex.controller(create(TaskSchema, { id: c.id })).remove().catch(() => undefined);
    }
    for (const pid of this.ourPids()) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    for (const m of (await this.mountsBelow()).sort((a, b) => b.length - a.length)) await unmountAll(m).catch(() => undefined);
    for (const d of (await cgroupDirs(`/${this.cgroupParent}`)).flatMap((d) => readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name))) {
      await removeCgroup(`/${this.cgroupParent}/${d}`).catch(() => undefined);
    }
    await removeCgroup(`/${this.cgroupParent}`).catch(() => undefined);
    await Promise.all(this.executors.map((ex) => ex.dispose()));
    if ((await this.mountsBelow()).length === 0) rmSync(this.dir, { recursive: true, force: true });
  }
}
