import { describe, expect, it } from "vitest";
import { buildOciSpec, cgroupsPathFor, DEFAULT_CAPS, type SpecInput } from "./oci-spec.js";

const input: SpecInput = {
  args: ["sh"],
  env: ["PATH=/bin"],
  cwd: "",
  user: { uid: 1000, gid: 1000, additionalGids: [50] },
  hostname: "abc",
  readOnly: true,
  cgroupsPath: "/p/id",
  files: { hostname: "/x/hostname", hosts: "/x/hosts", resolvConf: "/x/resolv.conf" },
  limits: { nanoCpus: 1.5e9, memoryBytes: 1 << 26, pids: 100 },
  nofile: 1_048_576,
};

describe("buildOciSpec", () => {
  it("writes the process, limits and isolation Docker would", () => {
    const s = buildOciSpec(input);
    expect(s.process).toMatchObject({ terminal: false, args: ["sh"], cwd: "/", user: { uid: 1000, gid: 1000, additionalGids: [50] }, noNewPrivileges: true });
    expect(s.process.capabilities.bounding).toEqual(DEFAULT_CAPS);
    expect(s.process.rlimits).toEqual([{ type: "RLIMIT_NOFILE", hard: 1_048_576, soft: 1_048_576 }]);
    expect(s.root).toEqual({ path: "rootfs", readonly: true });
    expect(s.linux.resources).toMatchObject({ memory: { limit: 1 << 26 }, cpu: { quota: 150_000, period: 100_000 }, pids: { limit: 100 } });
    expect(s.linux.namespaces.map((n) => n.type).sort()).toEqual(["ipc", "mount", "network", "pid", "uts"]);
    expect(s.mounts.find((m) => m.destination === "/etc/resolv.conf")).toMatchObject({ type: "bind", source: "/x/resolv.conf" });
    expect(s.mounts.find((m) => m.destination === "/sys")?.options).toContain("ro");
    expect(s.linux.maskedPaths).toContain("/proc/kcore");
  });
  it("puts the init in front of the command for --init, mounted read-only at /dev/init", () => {
    const s = buildOciSpec({ ...input, init: "/usr/bin/tini-static" });
    expect(s.process.args).toEqual(["/dev/init", "--", "sh"]);
    expect(s.mounts.find((m) => m.destination === "/dev/init")).toMatchObject({ type: "bind", source: "/usr/bin/tini-static" });
    expect(s.mounts.find((m) => m.destination === "/dev/init")?.options).toContain("ro");
    expect(buildOciSpec(input).mounts.some((m) => m.destination === "/dev/init")).toBe(false);
  });
  it("leaves resources unlimited when no limits are set", () => {
    const r = buildOciSpec({ ...input, limits: { nanoCpus: 0, memoryBytes: 0, pids: 0 } }).linux.resources;
    expect(r.memory).toBeUndefined();
    expect(r.cpu).toBeUndefined();
    expect(r.pids).toBeUndefined();
  });
  it("builds cgroupfs paths under the parent", () => {
    expect(cgroupsPathFor("tsctl", "id1")).toBe("/tsctl/id1");
    expect(cgroupsPathFor("/a/b/", "id1")).toBe("/a/b/id1");
    expect(cgroupsPathFor("../x", "id1")).toBe("/x/id1");
  });
});
