import { availableParallelism, hostname as osHostname, totalmem } from "node:os";
import { create } from "@bufbuild/protobuf";
import { NodeDescriptionSchema, type NodeDescription } from "@tsctl/api";
import type { Spawner } from "../spawner/index.js";
import { runCommand } from "./run-command.js";

/** ENGINE_VERSION names this executor in `node inspect`. */
export const ENGINE_VERSION = "tsctl-runc/0.1.0";

/** goArch maps Node's process.arch to the Go/OCI names Docker reports. */
export function goArch(arch: string = process.arch): string {
  const map: Record<string, string> = {
    x64: "amd64", ia32: "386", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64", loong64: "loong64",
  };
  return map[arch] ?? arch;
}

/** runcVersion is the first line of `runc --version` ("runc version 1.1.5"), or "" if unknown. */
export async function runcVersion(runcPath: string, spawner?: Spawner): Promise<string> {
  const r = await runCommand(runcPath, ["--version"], undefined, spawner).catch(() => undefined);
  return r?.code === 0 ? (r.stdout.split("\n")[0] ?? "").trim() : "";
}

/** describeNode reports this node as Docker's `docker info` would: cpus×1e9 and total memory. */
export function describeNode(hostname: string | undefined, runtime: string): NodeDescription {
  return create(NodeDescriptionSchema, {
    hostname: hostname ?? osHostname(),
    platform: { os: "linux", architecture: goArch() },
    resources: { nanoCpus: availableParallelism() * 1e9, memoryBytes: totalmem() },
    engineVersion: runtime === "" ? ENGINE_VERSION : `${ENGINE_VERSION} (${runtime})`,
  });
}
