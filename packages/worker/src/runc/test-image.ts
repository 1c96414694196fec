/**
 * test-image builds a one-layer busybox image from the host's static busybox and serves it from
 * a fake ImageStore, so runc tests need no registry and no real image store. Test support only.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { NotFoundError, TaskSchema, type Task } from "@tsctl/api";
import type { ImageConfig, ImageStore, ResolvedImage } from "../images/types.js";

export const BUSYBOX = "/bin/busybox";

/** buildBusyboxLayer writes a minimal root filesystem: busybox applets, passwd, group. */
export function buildBusyboxLayer(dir: string): string {
  for (const d of ["bin", "etc", "tmp", "root", "home/app", "proc", "sys", "dev"]) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(BUSYBOX, join(dir, "bin/busybox"));
  const applets = execFileSync(BUSYBOX, ["--list"], { encoding: "utf8" }).split("\n").filter((a) => a !== "" && a !== "busybox");
  for (const a of applets) symlinkSync("busybox", join(dir, "bin", a));
  writeFileSync(join(dir, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
  writeFileSync(join(dir, "etc/group"), "root:x:0:\napp:x:1000:\nstaff:x:50:app\nnogroup:x:65534:\n");
  return dir;
}

/** FakeImageStore resolves every reference to one image; everything else is unsupported. */
export class FakeImageStore implements ImageStore {
  resolved = 0;
  constructor(
    private readonly layerPaths: string[],
    private readonly config: ImageConfig = { Cmd: ["sh"], Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] },
  ) {}

  async resolve(ref: string): Promise<ResolvedImage> {
    if (ref.startsWith("missing")) throw new NotFoundError(`No such image: ${ref}`);
    this.resolved++;
    return { id: "sha256:" + "0".repeat(64), ref, config: this.config, os: "linux", architecture: "amd64", layerPaths: this.layerPaths };
  }
  load(): Promise<string[]> {
    throw new Error("not supported by FakeImageStore");
  }
  list(): Promise<never[]> {
    return Promise.resolve([]);
  }
  inspect(): Promise<never> {
    throw new Error("not supported by FakeImageStore");
  }
  tag(): Promise<void> {
    throw new Error("not supported by FakeImageStore");
  }
  remove(): Promise<never> {
    throw new Error("not supported by FakeImageStore");
  }
}

/** busyboxTask makes a task running `sh -c script` in the busybox image. */
export function busyboxTask(id: string, script: string, extra: { memoryBytes?: number; pids?: number; nanoCpus?: number; stopGracePeriodMs?: number; user?: string; readOnly?: boolean } = {}): Task {
  return create(TaskSchema, {
    id,
    serviceId: "svc",
    serviceName: "web",
    slot: 1,
    nodeId: "node1",
    spec: {
      container: {
        image: "busybox:latest",
        command: ["sh", "-c", script],
        user: extra.user ?? "",
        readOnly: extra.readOnly ?? false,
        labels: { test: "runc" },
        ...(extra.stopGracePeriodMs === undefined ? {} : { stopGracePeriodMs: extra.stopGracePeriodMs }),
      },
      resources: { limits: { memoryBytes: extra.memoryBytes ?? 0, pids: extra.pids ?? 0, nanoCpus: extra.nanoCpus ?? 0 } },
    },
  });
}
