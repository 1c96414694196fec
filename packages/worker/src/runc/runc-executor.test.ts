import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Executor, LogLine } from "../executor/types.js";
import { RuncTestHost, canRunContainers } from "./test-host.js";
import { busyboxTask } from "./test-image.js";

const dec = new TextDecoder();

async function collect(it: AsyncIterable<LogLine>): Promise<string[]> {
  const out: string[] = [];
  for await (const l of it) out.push(dec.decode(l.data));
  return out;
}

async function until(what: string, fn: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function execOut(ex: Executor, id: string, cmd: string[], user?: string): Promise<{ code: number; out: string }> {
  let out = "";
  const io = { onStdout: (b: Uint8Array) => (out += dec.decode(b)), onStderr: (b: Uint8Array) => (out += dec.decode(b)) };
  const code = await ex.exec(id, { cmd, ...(user === undefined ? {} : { user }) }, io, AbortSignal.timeout(10_000));
  return { code, out };
}

describe.skipIf(!canRunContainers)("runc executor (real runc + conmon)", { timeout: 60_000 }, () => {
  const host = new RuncTestHost();
  const sig = (): AbortSignal => AbortSignal.timeout(30_000);
  afterAll(() => host.teardown(), 60_000);

  let ex: Executor;
  beforeAll(async () => {
    ex = await host.executor();
  });

  it("runs a container: running, logs, exec hostname, limits in its cgroup, SIGKILL → 137, clean removal", async () => {
    const task = busyboxTask("c1aaaaaaaaaaaaaaaaaaaaaaa", "echo hi; echo oops >&2; sleep 30", { memoryBytes: 64 << 20, pids: 50, nanoCpus: 5e8 });
    const ctl = ex.controller(task);
    await ctl.prepare(sig());
    await ctl.prepare(sig()); // idempotent
    expect((await ctl.inspect())?.state).toBe("created");
    const { pid } = await ctl.start(sig());
    expect(pid).toBeGreaterThan(0);
    const info = await ctl.inspect();
    expect(info).toMatchObject({ state: "running", pid, name: `web.1.${task.id}`, command: ["sh", "-c", "echo hi; echo oops >&2; sleep 30"] });
    expect((await ex.list()).map((c) => c.id)).toContain(task.id);

    await until("log line", async () => (await collect(ex.logs(task.id, { follow: false, tail: 0 }, sig()))).includes("hi"));
    const lines: LogLine[] = [];
    for await (const l of ex.logs(task.id, { follow: false, tail: 0 }, sig())) lines.push(l);
    expect(lines.map((l) => `${l.stream}:${dec.decode(l.data)}`)).toEqual(["stdout:hi", "stderr:oops"]);
    expect(await collect(ex.logs(task.id, { follow: false, tail: 1 }, sig()))).toEqual(["oops"]);

    expect(await execOut(ex, task.id, ["hostname"])).toEqual({ code: 0, out: `${task.id.slice(0, 12)}\n` });
    expect(await execOut(ex, task.id, ["id", "-u"], "app")).toEqual({ code: 0, out: "1000\n" });
    expect((await execOut(ex, task.id, ["sh", "-c", "exit 3"])).code).toBe(3);
    expect((await execOut(ex, task.id, ["ip", "-o", "link"])).out.trim().split("\n")).toHaveLength(1);

    const cg = `/sys/fs/cgroup/%s/${host.cgroupParent}/${task.id}`;
    expect(readFileSync(cg.replace("%s", "memory") + "/memory.limit_in_bytes", "utf8").trim()).toBe(String(64 << 20));
    expect(readFileSync(cg.replace("%s", "pids") + "/pids.max", "utf8").trim()).toBe("50");
    expect(readFileSync(cg.replace("%s", "cpu") + "/cpu.cfs_quota_us", "utf8").trim()).toBe("50000");

    const waiting = ctl.wait(sig());
    process.kill(pid, "SIGKILL");
    expect(await waiting).toMatchObject({ exitCode: 137, signal: "SIGKILL" });
    expect((await waiting).stoppedByUs).toBeUndefined();
    expect((await ctl.inspect())?.state).toBe("exited");
    await expect(ex.exec(task.id, { cmd: ["true"] }, { onStdout() {}, onStderr() {} }, sig())).rejects.toThrow(`container ${task.id} is not running`);

    await ctl.remove();
    await ctl.remove(); // idempotent
    expect(await host.leftovers(task.id)).toEqual([]);
    expect(await ctl.inspect()).toBeUndefined();
  });

  it("shutdown sends SIGTERM, honours the grace period, then SIGKILLs", async () => {
    // sleep as PID 1 has no TERM handler, and the kernel drops such signals to a namespace's init
    // (hence Docker's --init): only the KILL after the grace period ends it.
    const task = busyboxTask("c2aaaaaaaaaaaaaaaaaaaaaaa", "echo ready; exec sleep 30");
    const ctl = ex.controller(task);
    await ctl.prepare(sig());
    await ctl.start(sig());
    await until("ready", async () => (await collect(ex.logs(task.id, { follow: false, tail: 0 }, sig()))).includes("ready"));
    const t0 = Date.now();
    await ctl.shutdown(1500);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(1400);
    expect(took).toBeLessThan(5000);
    expect(await ctl.wait(sig())).toMatchObject({ exitCode: 137, signal: "SIGKILL", stoppedByUs: true });

    const polite = busyboxTask("c3aaaaaaaaaaaaaaaaaaaaaaa", "trap 'exit 0' TERM; echo ready; while true; do sleep 0.1; done");
    const ctl2 = ex.controller(polite);
    await ctl2.prepare(sig());
    await ctl2.start(sig());
    await until("ready", async () => (await collect(ex.logs(polite.id, { follow: false, tail: 0 }, sig()))).includes("ready"));
    const t1 = Date.now();
    await ctl2.shutdown(10_000);
    expect(Date.now() - t1).toBeLessThan(3000);
    expect(await ctl2.wait(sig())).toMatchObject({ exitCode: 0, stoppedByUs: true });
    await ctl.shutdown(1000); // no-op once exited
    await ctl.remove();
    await ctl2.remove();
    expect([...(await host.leftovers(task.id)), ...(await host.leftovers(polite.id))]).toEqual([]);
  });

  it("follows logs until the container exits", async () => {
    const task = busyboxTask("c4aaaaaaaaaaaaaaaaaaaaaaa", "for i in 1 2 3; do echo line$i; sleep 0.2; done; printf tail");
    const ctl = ex.controller(task);
    await ctl.prepare(sig());
    await ctl.start(sig());
    const lines = await collect(ex.logs(task.id, { follow: true, tail: 0 }, sig()));
    expect(lines).toEqual(["line1", "line2", "line3", "tail"]);
    expect((await ctl.wait(sig())).exitCode).toBe(0);
    await ctl.remove();
  });

  it("a new executor instance adopts a running container; the container survives its starter", async () => {
    const task = busyboxTask("c5aaaaaaaaaaaaaaaaaaaaaaa", "echo adopted; sleep 30");
    const ctl = ex.controller(task);
    await ctl.prepare(sig());
    const { pid } = await ctl.start(sig());
    const fresh = await host.executor();
    const listed = await fresh.list();
    expect(listed.find((c) => c.id === task.id)).toMatchObject({ state: "running", pid, image: "busybox:latest", labels: { test: "runc" } });
    const adopted = fresh.controller(task);
    expect((await adopted.inspect())?.state).toBe("running");
    expect(await adopted.start(sig())).toEqual({ pid }); // idempotent on a running container
    const waiting = adopted.wait(sig());
    await adopted.shutdown(500);
    expect(await waiting).toMatchObject({ exitCode: 137, stoppedByUs: true });
    await adopted.remove();
    expect(await host.leftovers(task.id)).toEqual([]);
  });

  it("a container outlives the killed process group of the process that started it", async () => {
    const id = "c8aaaaaaaaaaaaaaaaaaaaaaa";
    const root = join(import.meta.dirname, "../../../..");
    const starter = spawn(
      join(root, "node_modules/.bin/vite-node"),
      ["--config", join(root, "vitest.config.ts"), join(import.meta.dirname, "test-starter.ts"), host.dir, host.cgroupParent, id, "echo survivor; sleep 30"],
      { cwd: root, detached: true, stdio: ["ignore", "pipe", "inherit"] },
    );
    const pid = await new Promise<number>((resolve, reject) => {
      let out = "";
      starter.stdout.on("data", (b: Buffer) => {
        out += b.toString();
        const m = /started (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      starter.on("exit", (code) => reject(new Error(`starter exited with ${code}: ${out}`)));
    });
    // SIGKILL the starter's whole process group, as a crashing tsd under a supervisor would die.
    process.kill(-(starter.pid as number), "SIGKILL");
    await new Promise((r) => starter.once("close", r));
    await sleep(300);
    const ctl = ex.controller(busyboxTask(id, "echo survivor; sleep 30"));
    expect(await ctl.inspect()).toMatchObject({ state: "running", pid });
    expect(await collect(ex.logs(id, { follow: false, tail: 0 }, sig()))).toEqual(["survivor"]);
    await ctl.shutdown(0);
    expect(await ctl.wait(sig())).toMatchObject({ exitCode: 137, stoppedByUs: true });
    await ctl.remove();
    expect(await host.leftovers(id)).toEqual([]);
  });

  it("read-only rootfs, named user, and a missing image", async () => {
    const task = busyboxTask("c9aaaaaaaaaaaaaaaaaaaaaaa", "sleep 30", { readOnly: true, user: "app" });
    const ctl = ex.controller(task);
    await ctl.prepare(sig());
    await ctl.start(sig());
    expect((await execOut(ex, task.id, ["touch", "/x"])).code).not.toBe(0);
    expect((await execOut(ex, task.id, ["touch", "/dev/shm/x"])).code).toBe(0);
    expect(await execOut(ex, task.id, ["id"])).toEqual({ code: 0, out: "uid=1000(app) gid=1000(app) groups=50(staff),1000(app)\n" });
    expect((await execOut(ex, task.id, ["sh", "-c", "ulimit -n; cat /proc/1/status | grep NoNewPrivs"])).out).toMatch(/^\d+\nNoNewPrivs:\s+1\n$/);
    await ctl.shutdown(0);
    await ctl.remove();
    expect(await host.leftovers(task.id)).toEqual([]);

    await expect(ex.exec("nosuchcontainer", { cmd: ["true"] }, { onStdout() {}, onStderr() {} }, sig())).rejects.toMatchObject({ code: "NotFound" });
    const missing = { ...busyboxTask("caaaaaaaaaaaaaaaaaaaaaaaa", "true") };
    missing.spec!.container!.image = "missing:1";
    const bad = ex.controller(missing);
    await expect(bad.prepare(sig())).rejects.toMatchObject({ code: "NotFound" });
    await bad.remove();
    expect(await host.leftovers(missing.id)).toEqual([]);
  });

  it("remove cleans a half-made container (mounted rootfs, no runc container)", async () => {
    const task = busyboxTask("c6aaaaaaaaaaaaaaaaaaaaaaa", "true");
    const ctl = ex.controller(task);
    await ctl.prepare(sig());
    expect((await host.mountsBelow()).some((m) => m.endsWith(join(task.id, "rootfs")))).toBe(true);
    await ctl.remove();
    expect(await host.leftovers(task.id)).toEqual([]);
  });

  it("reports creation errors in one line and cleans up after them", async () => {
    const task = busyboxTask("c7aaaaaaaaaaaaaaaaaaaaaaa", "true");
    task.spec!.container!.dir = "/does/not/exist\0";
    const ctl = ex.controller(task);
    await ctl.prepare(sig());
    const err = await ctl.start(sig()).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^create container c7a+: /);
    expect((err as Error).message).not.toContain("\n");
    await ctl.remove();
    expect(await host.leftovers(task.id)).toEqual([]);
  });
});
