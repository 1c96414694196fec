/**
 * test-cluster/tc end to end: simulated hosts (network namespaces on an isolated underlay), each
 * with its own real tsd, w1 joined to the swarm m1 initialized; exec inside a host, underlay
 * addresses, partition and heal, a service that survives kill -9 of its manager's tsd, and a
 * `down` that leaves nothing behind. test/cluster.test.ts covers multi-manager swarms.
 */
import { execFile, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cgroupDirs, forceCleanup, mountsUnder, pidsMentioning } from "./harness/cleanup.mjs";

const repoRoot = resolve(import.meta.dirname, "..");
const tcBin = join(repoRoot, "test-cluster/tc");
const busyboxTar = join(repoRoot, ".cache/busybox.tar");

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let dir = "";
let prefix = "";
let hash = "";
let rootLinksBefore: string[] = [];

function tc(...args: string[]): Promise<Result> {
  return new Promise((res) => {
    execFile(tcBin, args, { env: { ...process.env, TC_DIR: dir }, timeout: 90_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function tcOk(...args: string[]): Promise<string> {
  const r = await tc(...args);
  if (r.code !== 0) throw new Error(`tc ${args.join(" ")} failed (${r.code}):\n${r.stderr}${r.stdout}\n--- m1 tsd log tail ---\n${await logTail("m1")}`);
  return r.stdout;
}

async function logTail(host: string): Promise<string> {
  return (await readFile(join(dir, host, "tsd.log"), "utf8").catch(() => "")).slice(-3000);
}

function ourNamespaces(): string[] {
  const out = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout ?? "";
  return out
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => prefix !== "" && n.startsWith(prefix));
}

function rootLinks(): string[] {
  const out = spawnSync("ip", ["-o", "link"], { encoding: "utf8" }).stdout ?? "";
  return out
    .split("\n")
    .map((l) => l.split(":")[1]?.trim() ?? "")
    .filter(Boolean)
    .sort();
}

/** The ping command inside a host: iputils' ping when installed, busybox's otherwise. */
function pingCmd(): string[] {
  if (spawnSync("sh", ["-c", "command -v ping"]).status === 0) return ["ping"];
  return [existsSync("/bin/busybox") ? "/bin/busybox" : "busybox", "ping"];
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n--- m1 tsd log tail ---\n${await logTail("m1")}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface TaskRow {
  ID: string;
  Name: string;
  DesiredState: string;
  CurrentState: string;
}

async function runningTasks(): Promise<TaskRow[]> {
  const r = await tc("exec", "m1", "--", "tsctl", "service", "ps", "web", "--format", "json");
  if (r.code !== 0) return [];
  const rows = JSON.parse(r.stdout) as TaskRow[];
  return rows.filter((t) => t.DesiredState === "Running" && t.CurrentState.startsWith("Running"));
}

describe("test-cluster/tc", () => {
  beforeAll(async () => {
    rootLinksBefore = rootLinks();
    // Short path: the unix socket path (<dir>/<host>/run/tsd.sock) must stay under 108 bytes.
    dir = await mkdtemp("/tmp/tc.");
    hash = createHash("sha256").update(dir).digest("hex").slice(0, 6);
    prefix = `tc${hash}-`;
    await tcOk("up", "--managers", "1", "--workers", "1");
  });

  afterAll(async () => {
    if (!dir) return;
    // `down` is idempotent; after a failed test it is the real cleanup. If it throws, remove what
    // it may have left by name: the hosts' dirs and cgroups, then every namespace with our prefix.
    try {
      await tcOk("down");
    } catch (err) {
      console.error(String(err));
      for (const host of await readdir(dir).catch(() => [] as string[])) {
        if (/^[mws]\d+$/.test(host)) await forceCleanup(join(dir, host), `tsctl-tc-${hash}-${host}`);
      }
      for (const ns of ourNamespaces()) spawnSync("ip", ["netns", "del", ns]);
      spawnSync("rm", ["-rf", dir]);
    }
  });

  it("runs a swarm of m1, its Ready leader, and w1, a Ready worker", async () => {
    const out = await tcOk("exec", "m1", "--", "tsctl", "node", "ls", "--format", "json");
    const nodes = JSON.parse(out) as { Hostname: string; Status: string; ManagerStatus: string }[];
    expect(nodes.map((n) => n.Hostname).sort()).toEqual(["m1", "w1"]);
    expect(nodes.find((n) => n.Hostname === "m1")).toMatchObject({ Status: "Ready", ManagerStatus: "Leader" });
    expect(nodes.find((n) => n.Hostname === "w1")).toMatchObject({ Status: "Ready", ManagerStatus: "" });
    expect(await tcOk("ls")).toMatch(/^w1\s+worker\s+10\.77\.0\.2\s+\d+\s+running\s+connected\s+member/m);
    expect((await tcOk("leader")).trim()).toBe("m1");
    expect((await tcOk("ip", "m1")).trim()).toBe("10.77.0.1");
    expect((await tcOk("ip", "w1")).trim()).toBe("10.77.0.2");
    expect(ourNamespaces().sort()).toEqual([`${prefix}m1`, `${prefix}ul`, `${prefix}w1`]);
  });

  it("reports bad input with one line and exit 1", async () => {
    const unknown = await tc("ip", "nope");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toMatch(/^tc: unknown host "nope"/);
    const again = await tc("up");
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toMatch(/^tc: already up/);
    // exit codes pass through exec
    expect((await tc("exec", "w1", "--", "sh", "-c", "exit 7")).code).toBe(7);
  });

  it("connects hosts over the underlay; partition cuts a host off and heal restores it", async () => {
    const m1 = (await tcOk("ip", "m1")).trim();
    const ping = ["exec", "w1", "--", ...pingCmd(), "-c1", "-W2", m1];
    expect((await tc(...ping)).code).toBe(0);
    await tcOk("partition", "w1");
    expect((await tc(...ping)).code).not.toBe(0);
    await tcOk("heal");
    expect((await tc(...ping)).code).toBe(0);
    // The underlay has no way out: no default route inside a host.
    expect(await tcOk("exec", "w1", "--", "ip", "route")).not.toMatch(/default/);
  });

  it("runs a service inside a host, and the service survives kill -9 and start of that host's tsd", async () => {
    // The replicas may land on either node: each needs the image.
    for (const h of ["m1", "w1"]) await tcOk("exec", h, "--", "tsctl", "image", "load", "-i", busyboxTar);
    await tcOk("exec", "m1", "--", "tsctl", "service", "create", "--name", "web", "--replicas", "2", "busybox:latest", "sleep", "3600");
    expect(await runningTasks()).toHaveLength(2);

    await tcOk("kill", "m1");
    expect(await tcOk("ls")).toMatch(/^m1\s+manager\s+10\.77\.0\.1\s+\d+\s+stopped/m);
    expect((await tc("exec", "m1", "--", "tsctl", "service", "ls")).code).not.toBe(0);
    await tcOk("start", "m1");
    expect(await tcOk("ls")).toMatch(/^m1\s+manager\s+10\.77\.0\.1\s+\d+\s+running/m);
    const tasks = await waitFor("2 running tasks after the restart", async () => {
      const t = await runningTasks();
      return t.length === 2 && t;
    });
    expect(tasks.map((t) => t.Name).sort()).toEqual(["web.1", "web.2"]);
  });

  it("down leaves no process, mount, cgroup, namespace, link or directory behind", async () => {
    await tcOk("down");
    expect(ourNamespaces()).toEqual([]);
    expect(await mountsUnder(dir)).toEqual([]);
    expect(await pidsMentioning(dir)).toEqual([]);
    for (const host of ["m1", "w1"]) expect(await cgroupDirs(`tsctl-tc-${hash}-${host}`)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect(rootLinks()).toEqual(rootLinksBefore);
    // A second down has nothing to do and still succeeds.
    expect(await tcOk("down")).toMatch(/nothing to remove/);
  });
});
