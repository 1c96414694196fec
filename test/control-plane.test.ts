/**
 * The whole control plane in one process: real orchestrator, scheduler, reaper, dispatcher and
 * Control API over the store (memory backend), real gRPC sessions, real agents driving
 * FakeExecutors. Exercises everything between `service create` and a container starting, fast.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clone, create } from "@bufbuild/protobuf";
import {
  DispatcherService,
  NodeRole,
  NodeSchema,
  ReplicatedServiceSchema,
  ServiceSpecSchema,
  TaskState,
  addService,
  createClient,
  dial,
  grpc,
  type ServiceSpec,
} from "@tsctl/api";
import { ControlApi, Dispatcher, MemoryBackend, Orchestrator, Scheduler, TaskReaper, openStore, writeBootstrap, type Store } from "@tsctl/manager";
import { Agent, FakeExecutor } from "@tsctl/worker";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

interface Plane {
  store: Store;
  api: ControlApi;
  executors: Map<string, FakeExecutor>;
  addNode(id: string, hostname: string): Promise<FakeExecutor>;
  dispose(): Promise<void>;
}

async function startPlane(): Promise<Plane> {
  const dir = await mkdtemp(join(tmpdir(), "tsctl-cp-"));
  const store = await openStore(new MemoryBackend());
  await writeBootstrap(store, { clusterId: "c1", hostname: "m1", nodeId: "m1", advertiseAddr: "127.0.0.1" });
  const dispatcher = new Dispatcher(store, { heartbeatPeriodMs: () => 500 });
  const controllers = [dispatcher, new Orchestrator(store), new Scheduler(store), new TaskReaper(store, { retentionLimit: 5 })];
  for (const c of controllers) c.start();
  const server = new grpc.Server();
  addService(server, DispatcherService, { session: (reqs, ctx) => dispatcher.session(reqs, ctx) });
  const socket = join(dir, "d.sock");
  await new Promise<void>((res, rej) => server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
  const agents: Agent[] = [];
  const clients: grpc.Client[] = [];
  const executors = new Map<string, FakeExecutor>();
  return {
    store,
    api: new ControlApi(store, "m1"),
    executors,
    async addNode(id, hostname) {
      if (id !== "m1") {
        await store.update((tx) =>
          tx.create("node", create(NodeSchema, { id, role: NodeRole.WORKER, spec: {}, description: { hostname } })),
        );
      }
      const executor = new FakeExecutor({ description: { hostname } });
      executors.set(id, executor);
      const raw = dial(`unix://${socket}`);
      clients.push(raw);
      const client = createClient(DispatcherService, raw);
      const agent = new Agent({ nodeId: id, addr: "127.0.0.1", executor, connect: () => client.session(), statusBatchMs: 10 });
      agents.push(agent);
      agent.start();
      return executor;
    },
    async dispose() {
      for (const a of agents) await a.stop();
      for (const c of clients) c.close();
      for (const c of [...controllers].reverse()) await c.stop();
      server.forceShutdown();
      await store.close();
      for (const e of executors.values()) e.dispose?.();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function replicated(name: string, replicas: number, extra: Partial<{ labels: Record<string, string>; delayMs: number }> = {}): ServiceSpec {
  return create(ServiceSpecSchema, {
    annotations: { name },
    task: {
      container: { image: "busybox:latest", args: ["sleep", "3600"], labels: extra.labels ?? {} },
      restart: { delayMs: extra.delayMs ?? 0 },
    },
    mode: { case: "replicated", value: { replicas } },
  });
}

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let plane: Plane;
beforeEach(async () => {
  plane = await startPlane();
});
afterEach(async () => {
  await plane.dispose();
});

function runningTasks(serviceId: string) {
  return plane.api.listTasks({ serviceIds: [serviceId] }).filter((t) => t.desiredState === TaskState.RUNNING && t.status?.state === TaskState.RUNNING);
}

describe("control plane", () => {
  it("converges a replicated service, spreads it, scales it and removes it", async () => {
    await plane.addNode("m1", "m1");
    await plane.addNode("w1", "w1");
    const svc = await plane.api.createService(replicated("web", 4));
    const tasks = await until("4 running", () => (runningTasks(svc.id).length === 4 ? runningTasks(svc.id) : undefined));
    const perNode = new Map<string, number>();
    for (const t of tasks) perNode.set(t.nodeId, (perNode.get(t.nodeId) ?? 0) + 1);
    expect([...perNode.values()]).toEqual([2, 2]);

    const current = plane.api.getService("web");
    const next = clone(ServiceSpecSchema, current.spec!);
    next.mode = { case: "replicated", value: create(ReplicatedServiceSchema, { replicas: 1 }) };
    await plane.api.updateService("web", current.meta!.version, next);
    await until("1 running", () => runningTasks(svc.id).length === 1);

    await plane.api.removeService("web");
    await until("tasks reaped", () => plane.api.listTasks().length === 0);
  });

  it("replaces a crashed task and keeps the failed one in history", async () => {
    const exec = await plane.addNode("m1", "m1");
    const svc = await plane.api.createService(replicated("crashy", 1));
    const [first] = await until("running", () => (runningTasks(svc.id).length === 1 ? runningTasks(svc.id) : undefined));
    exec.crash(first!.id, 137);
    const replacement = await until("replacement", () => runningTasks(svc.id).find((t) => t.id !== first!.id));
    expect(replacement.slot).toBe(first!.slot);
    const failed = plane.api.getTask(first!.id);
    expect(failed.status?.state).toBe(TaskState.FAILED);
    expect(failed.status?.err).toMatch(/non-zero exit \(137\)/);
    expect(failed.desiredState).toBeGreaterThan(TaskState.RUNNING);
  });

  it("runs a global service on every node, including one that joins later", async () => {
    await plane.addNode("m1", "m1");
    const svc = await plane.api.createService(
      create(ServiceSpecSchema, {
        annotations: { name: "agent" },
        task: { container: { image: "busybox:latest" } },
        mode: { case: "global", value: {} },
      }),
    );
    await until("1 running", () => runningTasks(svc.id).length === 1);
    await plane.addNode("w1", "w1");
    const tasks = await until("2 running", () => (runningTasks(svc.id).length === 2 ? runningTasks(svc.id) : undefined));
    expect(new Set(tasks.map((t) => t.nodeId))).toEqual(new Set(["m1", "w1"]));
  });

  it("explains why a task cannot be scheduled", async () => {
    await plane.addNode("m1", "m1");
    const spec = replicated("huge", 1);
    spec.task!.resources = { $typeName: "tsctl.v1.ResourceRequirements", reservations: { $typeName: "tsctl.v1.Resources", memoryBytes: 2 ** 50, nanoCpus: 0, pids: 0 } };
    const svc = await plane.api.createService(spec);
    const task = await until("explained", () => plane.api.listTasks({ serviceIds: [svc.id] }).find((t) => t.status?.err));
    expect(task.status?.state).toBe(TaskState.PENDING);
    expect(task.status?.err).toMatch(/no suitable node \(insufficient resources on 1 node\)/);
  });

  it("refuses a duplicate service name and a stale update", async () => {
    await plane.api.createService(replicated("dup", 1));
    await expect(plane.api.createService(replicated("dup", 1))).rejects.toThrow(/already in use/);
    const s = plane.api.getService("dup");
    await plane.api.updateService("dup", s.meta!.version, replicated("dup", 2));
    await expect(plane.api.updateService("dup", s.meta!.version, replicated("dup", 3))).rejects.toThrow(/update out of sequence/);
  });
});
