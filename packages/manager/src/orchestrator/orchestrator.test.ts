import { clone, create } from "@bufbuild/protobuf";
import { ReplicatedServiceSchema, ServiceSchema, TaskState } from "@tsctl/api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeClock } from "../clock.js";
import { TaskReaper } from "../reaper/index.js";
import { ASSIGNED_MESSAGE, Scheduler } from "../scheduler/index.js";
import { MemoryBackend, openStore } from "../store/index.js";
import type { Store } from "../store/types.js";
import { report, seed, settle, tasksOf } from "./loop-testing.js";
import { Orchestrator } from "./orchestrator.js";
import { testNode, testService } from "./testing.js";

let store: Store;
let clock: FakeClock;
let controllers: (Orchestrator | Scheduler | TaskReaper)[];

beforeEach(async () => {
  store = await openStore(new MemoryBackend());
  clock = new FakeClock();
  const opts = { clock, log: () => undefined };
  controllers = [new Orchestrator(store, opts), new Scheduler(store, opts), new TaskReaper(store, { ...opts, retentionLimit: 2 })];
  await seed(store, { nodes: [testNode("n1"), testNode("n2"), testNode("n3")] });
  for (const c of controllers) c.start();
});

afterEach(async () => {
  for (const c of controllers) await c.stop();
  expect(clock.pending).toBe(0); // every timer was cancelled
  await store.close();
});

const converge = () => settle(...controllers);

describe("controllers over the memory store", () => {
  it("turns a 3-replica service into 3 tasks spread over the nodes", async () => {
    const svc = testService({ replicas: 3 });
    await seed(store, { services: [svc] });
    await converge();
    const tasks = tasksOf(store, svc.id);
    expect(tasks.map((t) => t.slot)).toEqual([1, 2, 3]);
    expect(tasks.every((t) => t.status?.state === TaskState.ASSIGNED && t.status.message === ASSIGNED_MESSAGE)).toBe(true);
    expect(new Set(tasks.map((t) => t.nodeId)).size).toBe(3);
  });

  it("replaces a failed task after the restart delay, on the fake clock", async () => {
    const svc = testService({ replicas: 1, delayMs: 2_000 });
    await seed(store, { services: [svc] });
    await converge();
    const [first] = tasksOf(store, svc.id);
    await report(store, first!.id, TaskState.RUNNING, clock.now());
    await report(store, first!.id, TaskState.FAILED, clock.now());
    await converge();

    let tasks = tasksOf(store, svc.id);
    expect(tasks.length).toBe(2);
    const next = tasks.find((t) => t.id !== first!.id)!;
    expect(tasks.find((t) => t.id === first!.id)!.desiredState).toBe(TaskState.SHUTDOWN);
    expect(next.status?.state).toBe(TaskState.PENDING); // held by the delay, not an error
    expect(next.status?.err).toBe("");
    expect(next.notBeforeMs).toBe(clock.now() + 2_000);

    clock.advance(1_999);
    await converge();
    expect(tasksOf(store, svc.id).find((t) => t.id === next.id)!.status?.state).toBe(TaskState.PENDING);
    clock.advance(1);
    await converge();
    tasks = tasksOf(store, svc.id);
    expect(tasks.find((t) => t.id === next.id)!.status?.state).toBe(TaskState.ASSIGNED);
  });

  it("scales down from the highest slots", async () => {
    const svc = testService({ replicas: 3 });
    await seed(store, { services: [svc] });
    await converge();
    const scaled = clone(ServiceSchema, store.view((tx) => tx.get("service", svc.id))!);
    scaled.spec!.mode = { case: "replicated", value: create(ReplicatedServiceSchema, { replicas: 1 }) };
    await store.update((tx) => tx.update("service", scaled));
    await converge();
    const tasks = tasksOf(store, svc.id);
    expect(tasks.filter((t) => t.desiredState === TaskState.RUNNING).map((t) => t.slot)).toEqual([1]);
    expect(tasks.filter((t) => t.desiredState === TaskState.SHUTDOWN).map((t) => t.slot)).toEqual([2, 3]);
  });

  it("keeps at most the retention limit of ended tasks per slot", async () => {
    const svc = testService({ replicas: 1, delayMs: 0 });
    await seed(store, { services: [svc] });
    await converge();
    for (let i = 0; i < 4; i++) {
      const live = tasksOf(store, svc.id).find((t) => t.desiredState === TaskState.RUNNING)!;
      clock.advance(10);
      await report(store, live.id, TaskState.FAILED, clock.now());
      await converge();
    }
    const tasks = tasksOf(store, svc.id);
    expect(tasks.filter((t) => t.desiredState === TaskState.RUNNING).length).toBe(1);
    expect(tasks.filter((t) => t.desiredState === TaskState.SHUTDOWN).length).toBe(2);
  });

  it("marks a deleted service's tasks REMOVE and reaps them once stopped", async () => {
    const svc = testService({ replicas: 2 });
    await seed(store, { services: [svc] });
    await converge();
    const stored = store.view((tx) => tx.get("service", svc.id))!;
    await store.update((tx) => tx.delete("service", svc.id, stored.meta!.version));
    await converge();
    const tasks = tasksOf(store, svc.id);
    expect(tasks.map((t) => t.desiredState)).toEqual([TaskState.REMOVE, TaskState.REMOVE]);
    await report(store, tasks[0]!.id, TaskState.SHUTDOWN, clock.now());
    await converge();
    expect(tasksOf(store, svc.id).map((t) => t.id)).toEqual([tasks[1]!.id]);
  });
});
