/**
 * Single-node cluster end to end, with the real tsd, etcd, runc, conmon and tsctl: the user
 * journey of issue 2, its bad inputs, and its faults (container killed, tsd killed).
 */
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cgroupDirs, mountsUnder, pidsInCgroups } from "./harness/cleanup.mjs";
import { busyboxTar, tsctlBin, TsdNode } from "./harness/tsd-node.js";

interface PsRow {
  ID: string;
  Name: string;
  Node: string;
  DesiredState: string;
  CurrentState: string;
  Error: string;
}

let node: TsdNode;

async function ps(service: string): Promise<PsRow[]> {
  return JSON.parse(await node.cliOk("service", "ps", "--no-trunc", "--format", "json", service)) as PsRow[];
}

async function running(service: string): Promise<PsRow[]> {
  return (await ps(service)).filter((t) => t.DesiredState === "Running" && t.CurrentState.startsWith("Running"));
}

async function containers(): Promise<{ ID: string; Names: string; State?: string }[]> {
  return JSON.parse(await node.cliOk("container", "ls", "--format", "json")) as { ID: string; Names: string }[];
}

beforeAll(async () => {
  node = await TsdNode.create("node-a");
  await node.start();
});

afterAll(async () => {
  await node?.dispose();
});

describe("before swarm init", () => {
  it("refuses manager commands with Docker's message and exit code 1", async () => {
    const r = await node.cli("service", "ls");
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/not a swarm manager/);
  });

  it("reports a daemon that is not running", async () => {
    const r = await node.cli("-H", "unix:///tmp/no-such-tsd.sock", "service", "ls");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Cannot connect to the tsd daemon at unix:\/\/\/tmp\/no-such-tsd.sock/);
  });
});

describe("single-node cluster", () => {
  beforeAll(async () => {
    expect(await node.cliOk("swarm", "init")).toMatch(/Swarm initialized: current node \(\w+\) is now a manager/);
    expect(await node.cliOk("image", "load", "-i", busyboxTar)).toMatch(/Loaded image: busybox:latest/);
  });

  it("lists itself as a ready leader", async () => {
    const nodes = await node.waitFor("node ready", async () => {
      const list = JSON.parse(await node.cliOk("node", "ls", "--format", "json")) as { Hostname: string; Status: string; ManagerStatus: string }[];
      return list[0]?.Status === "Ready" ? list : undefined;
    });
    expect(nodes).toHaveLength(1);
    expect(nodes[0]).toMatchObject({ Hostname: "node-a", Status: "Ready", ManagerStatus: "Leader" });
  });

  it("creates a 3-replica service that converges, scales, logs and is removed without leftovers", async () => {
    const out = await node.cliOk("service", "create", "--name", "web", "--replicas", "3", "--stop-grace-period", "1s", "busybox:latest", "sh", "-c", "echo hello-from-$(hostname); sleep 3600");
    expect(out).toMatch(/converged/);
    expect(await running("web")).toHaveLength(3);

    const ls = JSON.parse(await node.cliOk("service", "ls", "--format", "json")) as { Name: string; Replicas: string; Mode: string }[];
    expect(ls).toEqual([expect.objectContaining({ Name: "web", Replicas: "3/3", Mode: "replicated" })]);

    const inspect = JSON.parse(await node.cliOk("service", "inspect", "web")) as { Spec: { Name: string } }[];
    expect(inspect[0]?.Spec.Name).toBe("web");

    await node.cliOk("service", "scale", "web=5");
    expect(await running("web")).toHaveLength(5);

    const logs = await node.waitFor("logs of 5 tasks", async () => {
      const text = await node.cliOk("service", "logs", "web");
      return (text.match(/hello-from-/g) ?? []).length >= 5 ? text : undefined;
    });
    expect(logs).toMatch(/web\.\d\.\w+@node-a\s*\| hello-from-/);

    const ctrs = await containers();
    expect(ctrs.length).toBe(5);
    const first = ctrs[0]!;
    const exec = await node.cli("container", "exec", first.ID, "--", "sh", "-c", "hostname; exit 3");
    expect(exec.code).toBe(3);
    expect(exec.stdout.trim()).toBe(first.ID.slice(0, 12));

    await node.cliOk("service", "scale", "web=2");
    expect(await running("web")).toHaveLength(2);
    await node.waitFor("containers of removed slots gone", async () => (await containers()).length === 2);

    expect(await node.cliOk("service", "rm", "web")).toMatch(/^web$/m);
    await node.waitFor("all containers removed", async () => (await node.cliOk("container", "ls", "-a", "-q")).trim() === "");
    // Nothing left: no container processes, no rootfs mounts, no container cgroups.
    await node.waitFor("no mounts", async () => (await mountsUnder(node.dir)).length === 0);
    expect(await pidsInCgroups(await cgroupDirs(node.cgroupParent))).toEqual([]);
  });

  it("updates a service by replacing its tasks, which then run the new spec", async () => {
    await node.cliOk("service", "create", "--name", "upd", "--replicas", "2", "--stop-grace-period", "1s", "busybox:latest", "sleep", "3600");
    const before = (await running("upd")).map((t) => t.ID);
    expect(await node.cliOk("service", "update", "--env-add", "GREETING=hi", "upd")).toMatch(/upd/);
    const after = await running("upd");
    expect(after).toHaveLength(2);
    expect(after.map((t) => t.ID).filter((id) => before.includes(id))).toEqual([]);
    const ctr = (await containers()).find((c) => c.ID.startsWith(after[0]!.ID.slice(0, 12)));
    expect(await node.cliOk("container", "exec", ctr!.ID, "--", "sh", "-c", "echo $GREETING")).toBe("hi\n");
    await node.cliOk("service", "rm", "upd");
  });

  it("drains a node: its tasks stop and wait, and run again when it is active", async () => {
    await node.cliOk("service", "create", "--name", "drainme", "--replicas", "2", "--stop-grace-period", "1s", "busybox:latest", "sleep", "3600");
    await node.cliOk("node", "update", "--availability", "drain", "self");
    const pending = await node.waitFor("tasks pending on a drained node", async () => {
      const rows = (await ps("drainme")).filter((t) => t.DesiredState === "Running");
      return rows.length === 2 && rows.every((t) => t.CurrentState.startsWith("Pending")) ? rows : undefined;
    });
    expect(pending[0]!.Error).toMatch(/no suitable node/);
    await node.waitFor("drained containers gone", async () => !(await containers()).some((c) => c.Names.startsWith("drainme.")));
    await node.cliOk("node", "update", "--availability", "active", "self");
    await node.waitFor("running again", async () => (await running("drainme")).length === 2);
    await node.cliOk("service", "rm", "drainme");
  });

  it("runs tini as PID 1 in front of the command with --init", async () => {
    await node.cliOk("service", "create", "--name", "inited", "--init", "--stop-grace-period", "1s", "busybox:latest", "sleep", "3600");
    const ctr = (await containers()).find((c) => c.Names.startsWith("inited."));
    const pid1 = await node.cliOk("container", "exec", ctr!.ID, "--", "cat", "/proc/1/cmdline");
    expect(pid1.split("\0").slice(0, 4)).toEqual(["/dev/init", "--", "sleep", "3600"]);
    await node.cliOk("service", "rm", "inited");
  });

  it("follows logs, including tasks that start after `logs -f` began", async () => {
    await node.cliOk("service", "create", "--name", "chatty", "--stop-grace-period", "1s", "busybox:latest", "sh", "-c", "echo start-$(hostname); sleep 3600");
    const follower = spawn(tsctlBin, ["-H", node.host, "service", "logs", "-f", "chatty"]);
    let out = "";
    follower.stdout.on("data", (d: Buffer) => (out += d.toString()));
    try {
      await node.waitFor("first task's line", async () => (out.match(/start-/g) ?? []).length === 1);
      await node.cliOk("service", "scale", "chatty=2");
      await node.waitFor("the new task's line too", async () => (out.match(/start-/g) ?? []).length === 2);
      expect(out).toMatch(/chatty\.2\.\w+@node-a\s*\| start-/);
    } finally {
      follower.kill();
    }
    await node.cliOk("service", "rm", "chatty");
  });

  it("runs one task per node in global mode", async () => {
    await node.cliOk("service", "create", "--name", "agent", "--mode", "global", "busybox:latest", "sleep", "3600");
    const tasks = await running("agent");
    expect(tasks).toHaveLength(1);
    expect(tasks[0]?.Node).toBe("node-a");
    await node.cliOk("service", "rm", "agent");
  });

  it("rejects bad input with one clear line, exit 1 and no state change", async () => {
    await node.cliOk("service", "create", "-d", "--name", "dup", "busybox:latest", "sleep", "3600");
    const before = await node.cliOk("service", "ls", "-q");

    const cases: [string[], RegExp][] = [
      [["service", "inspect", "nosuch"], /no such service: nosuch/i],
      [["service", "ps", "nosuch"], /no such service: nosuch/i],
      [["service", "rm", "nosuch"], /no such service: nosuch/i],
      [["service", "scale", "nosuch=2"], /no such service: nosuch/i],
      [["node", "inspect", "nosuch"], /no such node: nosuch/i],
      [["service", "create", "--name", "dup", "busybox:latest"], /dup.*(already|in use|exists)/i],
      [["service", "create", "--replicas", "-1", "busybox:latest"], /invalid argument "-1" for "--replicas"/],
      [["service", "create", "--limit-memory", "12XB", "busybox:latest"], /invalid argument "12XB" for "--limit-memory" flag/],
      [["image", "inspect", "nosuch:1"], /No such image: nosuch:1/],
      [["swarm", "init"], /already part of a swarm/],
      [["node", "update", "--availability", "sometimes", "self"], /sometimes/],
    ];
    for (const [args, pattern] of cases) {
      const r = await node.cli(...args);
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
      expect(r.stderr, args.join(" ")).toMatch(pattern);
    }
    expect(await node.cliOk("service", "ls", "-q")).toBe(before);
    await node.cliOk("service", "rm", "dup");
  });

  it("shows an image it cannot get as the task's error", async () => {
    // A registry on loopback where nothing listens: the node tries to pull and fails (tests never
    // reach for an outside registry).
    await node.cliOk("service", "create", "-d", "--name", "ghost", "127.0.0.1:9/nosuch:1", "sleep", "1");
    const rejected = await node.waitFor("task rejected", async () => (await ps("ghost")).find((t) => t.CurrentState.startsWith("Rejected")));
    expect(rejected.Error).toMatch(/127\.0\.0\.1:9\/nosuch:1/);
    await node.cliOk("service", "rm", "ghost");
  });

  it("rejects a truncated image archive without storing anything", async () => {
    const before = await node.cliOk("image", "ls", "-q");
    const archive = await readFile(busyboxTar);
    const truncated = join(node.dir, "truncated.tar");
    await writeFile(truncated, archive.subarray(0, Math.floor(archive.length / 2)));
    const r = await node.cli("image", "load", "-i", truncated);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(await node.cliOk("image", "ls", "-q")).toBe(before);
  });

  it("replaces a task whose container is killed, showing the failed one with its exit code", async () => {
    await node.cliOk("service", "create", "--name", "crashy", "--restart-delay", "500ms", "busybox:latest", "sleep", "3600");
    const [task] = await running("crashy");
    const ctr = (JSON.parse(await node.cliOk("container", "ls", "--format", "json")) as { ID: string; Names: string }[]).find((c) =>
      c.Names.startsWith("crashy."),
    );
    expect(ctr).toBeDefined();
    const pid = Number((await node.cliOk("container", "exec", ctr!.ID, "--", "cat", "/proc/1/stat")).split(" ")[0]);
    expect(pid).toBe(1);
    // Kill the container's main process from the host: find it through the container's cgroup.
    const hostPids = await pidsInCgroups((await cgroupDirs(node.cgroupParent)).filter((d) => d.includes(ctr!.ID)));
    expect(hostPids.length).toBeGreaterThan(0);
    for (const p of hostPids) process.kill(p, "SIGKILL");

    const rows = await node.waitFor("replacement running", async () => {
      const all = await ps("crashy");
      const failed = all.find((t) => t.ID === task!.ID && t.CurrentState.startsWith("Failed"));
      const replacement = all.find((t) => t.ID !== task!.ID && t.CurrentState.startsWith("Running"));
      return failed && replacement ? { failed, replacement } : undefined;
    });
    expect(rows.failed.Error).toMatch(/non-zero exit \(137\)/);
    expect(rows.failed.DesiredState).toBe("Shutdown");
    await node.cliOk("service", "rm", "crashy");
  });

  it("converges after kill -9 of tsd in the middle of starting a service", async () => {
    await node.cliOk("service", "create", "-d", "--name", "midway", "--replicas", "12", "--stop-grace-period", "1s", "busybox:latest", "sleep", "3600");
    // Kill while tasks are being scheduled, prepared and started.
    await node.waitFor("some task started", async () => (await ps("midway")).some((t) => t.CurrentState.startsWith("Running") || t.CurrentState.startsWith("Starting") || t.CurrentState.startsWith("Preparing")), 10_000);
    await node.kill9();
    await node.start();
    await node.waitFor("12 running", async () => (await running("midway")).length === 12, 60_000);
    await new Promise((r) => setTimeout(r, 1000));
    // Exactly one running task per slot, and exactly one container per running task.
    const live = await running("midway");
    expect(new Set(live.map((t) => t.Name)).size).toBe(12);
    const ctrs = (await containers()).filter((c) => c.Names.startsWith("midway."));
    expect(ctrs.map((c) => c.ID.slice(0, 12)).sort()).toEqual(live.map((t) => t.ID.slice(0, 12)).sort());
    await node.cliOk("service", "rm", "midway");
    await node.waitFor("midway containers gone", async () => !(await containers()).some((c) => c.Names.startsWith("midway.")));
  });

  it("survives kill -9 of tsd: containers untouched, no duplicate tasks", async () => {
    await node.cliOk("service", "create", "--name", "steady", "--replicas", "3", "busybox:latest", "sleep", "3600");
    const before = (await running("steady")).map((t) => t.ID).sort();
    const ctrsBefore = (await containers()).filter((c) => c.Names.startsWith("steady.")).map((c) => c.ID).sort();
    expect(ctrsBefore).toHaveLength(3);

    await node.kill9();
    await node.start();

    // Desired state converges to the same three tasks, in the same containers.
    await node.waitFor("node ready again", async () => {
      const list = JSON.parse(await node.cliOk("node", "ls", "--format", "json")) as { Status: string }[];
      return list[0]?.Status === "Ready";
    });
    await new Promise((r) => setTimeout(r, 2000));
    const after = (await running("steady")).map((t) => t.ID).sort();
    expect(after).toEqual(before);
    expect((await ps("steady")).filter((t) => t.DesiredState === "Running")).toHaveLength(3);
    const ctrsAfter = (await containers()).filter((c) => c.Names.startsWith("steady.")).map((c) => c.ID).sort();
    expect(ctrsAfter).toEqual(ctrsBefore);

    // And the cluster still works after the restart.
    await node.cliOk("service", "scale", "steady=4");
    expect(await running("steady")).toHaveLength(4);
    await node.cliOk("service", "rm", "steady");
  });
});
