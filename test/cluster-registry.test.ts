/**
 * Registry images on a real multi-host swarm (issue 4's "done when"): test-cluster with 1 manager
 * and 2 workers, and docker-registry running inside m1's network namespace on m1's underlay address
 * (plain HTTP: every tsd gets --insecure-registry through `tc up --tsd-arg`). No host has the image
 * beforehand; the manager pins the service to the digest the registry serves and each node pulls
 * it over the underlay when its task needs it. A service whose image is not in the registry never
 * runs, and its tasks name the image in their error.
 */
import { execFile, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forceCleanup } from "./harness/cleanup.mjs";
import { seed, startRegistry, type TestRegistry } from "./harness/registry.mjs";

const repoRoot = resolve(import.meta.dirname, "..");
const tcBin = join(repoRoot, "test-cluster/tc");
const hosts = ["m1", "w1", "w2"];
// Addresses are fixed by host order (m1 is the first), so the registry can be named before `up`
// starts the tsds that must trust it; the port is free in m1's fresh namespace.
const registryHost = "10.77.0.1:5000";

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}
interface TaskRow {
  Name: string;
  Node: string;
  DesiredState: string;
  CurrentState: string;
  Error: string;
}

let dir = "";
let hash = "";
let reg: TestRegistry | undefined;

function tc(args: string[], timeoutMs = 90_000): Promise<Result> {
  return new Promise((res) => {
    execFile(tcBin, args, { env: { ...process.env, TC_DIR: dir }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : err.killed ? 124 : 1) : 0;
      res({ code, stdout, stderr: err?.killed ? `${stderr}(killed after ${timeoutMs / 1000} s)` : stderr });
    });
  });
}

async function logTails(of: string[] = hosts, chars = 1500): Promise<string> {
  let out = "";
  for (const h of of) out += `\n--- ${h} tsd.log tail ---\n${(await readFile(join(dir, h, "tsd.log"), "utf8").catch(() => "")).slice(-chars)}`;
  return out;
}

/** ctl runs tsctl inside a host against its own tsd. */
function ctl(host: string, args: string[], timeoutMs?: number): Promise<Result> {
  return tc(["exec", host, "--", "tsctl", ...args], timeoutMs);
}

async function ctlOk(host: string, args: string[], timeoutMs?: number): Promise<string> {
  const r = await ctl(host, args, timeoutMs);
  if (r.code !== 0) throw new Error(`${host}: tsctl ${args.join(" ")} failed (${r.code}): ${r.stderr.trim()}${await logTails()}`);
  return r.stdout;
}

async function tasks(service: string): Promise<TaskRow[] | undefined> {
  const r = await ctl("m1", ["service", "ps", service, "--no-trunc", "--format", "json"], 30_000);
  if (r.code !== 0) return undefined;
  try {
    return JSON.parse(r.stdout) as TaskRow[];
  } catch {
    return undefined;
  }
}

/** poll calls fn until it returns a value; the error says what it saw last. */
async function poll<T>(what: string, timeoutMs: number, fn: () => Promise<{ done: T } | { why: string }>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const step = await fn();
    if ("done" in step) return step.done;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}; last seen: ${step.why}${await logTails()}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe("a 3-node swarm running images from a registry inside test-cluster", () => {
  let digest = "";

  beforeAll(async () => {
    // Short path: the unix socket path (<dir>/<host>/run/tsd.sock) must stay under 108 bytes.
    dir = await mkdtemp("/tmp/tcr.");
    hash = createHash("sha256").update(dir).digest("hex").slice(0, 6);
    const up = await tc(["up", "--managers", "1", "--workers", "2", `--tsd-arg=--insecure-registry=${registryHost}`], 240_000);
    if (up.code !== 0) throw new Error(`tc up failed (${up.code}):\n${up.stderr}${up.stdout}${await logTails()}`);
    const m1 = (await tc(["ip", "m1"])).stdout.trim();
    expect(`${m1}:5000`).toBe(registryHost);
    // The registry and skopeo seeding it both run in m1's namespace: the underlay is out of reach
    // from the root namespace.
    reg = await startRegistry({ netns: `tc${hash}-m1`, listenHost: m1, port: 5000 });
    ({ digest } = await seed(reg, { ref: "shop/web:1" }));
  }, 300_000);

  afterAll(async () => {
    await reg?.stop();
    if (!dir) return;
    const r = await tc(["down"], 180_000);
    if (r.code === 0) return;
    // `down` is the real cleanup; if it fails, remove what it may have left by name.
    console.error(`tc down failed: ${r.stderr}${r.stdout}`);
    for (const host of await readdir(dir).catch(() => [] as string[])) {
      if (/^[mws]\d+$/.test(host)) await forceCleanup(join(dir, host), `tsctl-tc-${hash}-${host}`);
    }
    const out = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout ?? "";
    for (const ns of out.split("\n").map((l) => l.split(" ")[0] ?? "")) if (ns.startsWith(`tc${hash}-`)) spawnSync("ip", ["netns", "del", ns]);
    spawnSync("rm", ["-rf", dir]);
  }, 240_000);

  it("runs 3 replicas of an image only the registry has, pinned to its digest, one per node", async () => {
    const ref = `${registryHost}/shop/web:1`;
    for (const h of hosts) expect((await ctlOk(h, ["image", "ls", "-q"])).trim(), `images on ${h} before`).toBe("");

    await ctlOk("m1", ["service", "create", "-d", "--name", "web", "--replicas", "3", ref, "sleep", "3600"], 60_000);
    const image = (await ctlOk("m1", ["service", "inspect", "web", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}"])).trim();
    expect(image).toBe(`${ref}@${digest}`);

    const t0 = Date.now();
    const running = await poll<TaskRow[]>("3 running tasks of web", 120_000, async () => {
      const rows = await tasks("web");
      if (!rows) return { why: "service ps does not answer" };
      const live = rows.filter((t) => t.DesiredState === "Running" && t.CurrentState.startsWith("Running"));
      return live.length === 3 ? { done: live } : { why: JSON.stringify(rows.map((t) => [t.Name, t.Node, t.CurrentState, t.Error])) };
    });
    console.log(`web: 3 tasks running ${((Date.now() - t0) / 1000).toFixed(1)} s after create, on ${running.map((t) => t.Node).sort().join(", ")}`);
    expect(running.map((t) => t.Node).sort()).toEqual(hosts);

    // Each node pulled it: the image is now there by its digest.
    for (const h of hosts) await ctlOk(h, ["image", "inspect", `${registryHost}/shop/web@${digest}`]);
    await ctlOk("m1", ["service", "rm", "web"]);
  }, 180_000);

  it("never runs a service whose image is not in the registry, and names the image in the task's error", async () => {
    const ref = `${registryHost}/shop/ghost:9`;
    const r = await ctl("m1", ["service", "create", "-d", "--name", "ghost", ref, "sleep", "3600"], 60_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/could not be accessed on a registry to record its digest/);

    let ranOn: string[] = [];
    const errors = await poll<string[]>("the missing image's error on ghost's tasks", 60_000, async () => {
      const rows = await tasks("ghost");
      if (!rows) return { why: "service ps does not answer" };
      ranOn = [...ranOn, ...rows.filter((t) => t.CurrentState.startsWith("Running")).map((t) => t.Node)];
      const failed = rows.filter((t) => /not found/.test(t.Error));
      return failed.length > 0 ? { done: failed.map((t) => t.Error) } : { why: JSON.stringify(rows.map((t) => [t.Name, t.Node, t.CurrentState, t.Error])) };
    });
    console.log(`ghost: ${errors[0]}`);
    for (const e of errors) expect(e).toContain("shop/ghost:9");
    expect(ranOn, "nodes where a ghost task was seen Running").toEqual([]);
    await ctlOk("m1", ["service", "rm", "ghost"]);
  }, 120_000);
});
