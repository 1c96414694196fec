import { NodeAvailability, NodeState, RestartCondition, TaskState, type Task } from "@tsctl/api";
import { describe, expect, it } from "vitest";
import { planReplicated } from "./replicated.js";
import { sequentialIds, testNode, testService, testTask } from "./testing.js";

const NOW = 1_000_000;
const nodes = [testNode("n1"), testNode("n2")];
const opts = { newId: sequentialIds() };
const desired = (ts: Task[]) => Object.fromEntries(ts.map((t) => [t.id, t.desiredState]));

describe("planReplicated scaling", () => {
  it("creates one pending task per missing slot, spec snapshotted", () => {
    const svc = testService({ replicas: 3, specVersion: 4 });
    const plan = planReplicated(svc, [], nodes, NOW, opts);
    expect(plan.create.map((t) => t.slot)).toEqual([1, 2, 3]);
    const t = plan.create[0]!;
    expect(t.status?.state).toBe(TaskState.PENDING);
    expect(t.desiredState).toBe(TaskState.RUNNING);
    expect(t.specVersion).toBe(4);
    expect(t.spec?.container?.image).toBe("busybox");
    expect(t.nodeId).toBe("");
    expect(t.serviceName).toBe("web");
    expect(plan.update).toEqual([]);
  });

  it("is a no-op when every slot is running", () => {
    const svc = testService({ replicas: 2 });
    const tasks = [testTask(svc, { slot: 1 }), testTask(svc, { slot: 2 })];
    expect(planReplicated(svc, tasks, nodes, NOW)).toEqual({ create: [], update: [] });
  });

  it("fills the lowest free slot numbers", () => {
    const svc = testService({ replicas: 3 });
    const tasks = [testTask(svc, { slot: 2 })];
    expect(planReplicated(svc, tasks, nodes, NOW, opts).create.map((t) => t.slot)).toEqual([1, 3]);
  });

  it("scales down from the highest slots", () => {
    const svc = testService({ replicas: 1 });
    const tasks = [1, 2, 3].map((slot) => testTask(svc, { id: `t${slot}`, slot }));
    const plan = planReplicated(svc, tasks, nodes, NOW);
    expect(plan.create).toEqual([]);
    expect(desired(plan.update)).toEqual({ t2: TaskState.SHUTDOWN, t3: TaskState.SHUTDOWN });
  });

  it("scales down tasks not yet running first", () => {
    const svc = testService({ replicas: 2 });
    const tasks = [
      testTask(svc, { id: "t1", slot: 1, state: TaskState.PENDING, nodeId: "" }),
      testTask(svc, { id: "t2", slot: 2 }),
      testTask(svc, { id: "t3", slot: 3 }),
    ];
    expect(desired(planReplicated(svc, tasks, nodes, NOW).update)).toEqual({ t1: TaskState.SHUTDOWN });
  });

  it("scaling to zero shuts everything down", () => {
    const svc = testService({ replicas: 0 });
    const tasks = [testTask(svc, { id: "t1" }), testTask(svc, { id: "t2", slot: 2, state: TaskState.PENDING })];
    expect(desired(planReplicated(svc, tasks, nodes, NOW).update)).toEqual({ t1: TaskState.SHUTDOWN, t2: TaskState.SHUTDOWN });
  });

  it("refills a slot emptied by an earlier scale-down", () => {
    const svc = testService({ replicas: 2 });
    const tasks = [testTask(svc, { slot: 1 }), testTask(svc, { slot: 2, state: TaskState.SHUTDOWN, desired: TaskState.SHUTDOWN, at: NOW - 10 })];
    const plan = planReplicated(svc, tasks, nodes, NOW, opts);
    expect(plan.create.map((t) => [t.slot, t.notBeforeMs])).toEqual([[2, 0]]);
  });

  it("resolves duplicates in a slot, keeping the one furthest along", () => {
    const svc = testService({ replicas: 1 });
    const tasks = [testTask(svc, { id: "old" }), testTask(svc, { id: "dup", state: TaskState.PENDING, nodeId: "" })];
    const plan = planReplicated(svc, tasks, nodes, NOW);
    expect(plan.create).toEqual([]);
    expect(desired(plan.update)).toEqual({ dup: TaskState.SHUTDOWN });
  });
});

describe("planReplicated node loss", () => {
  it("replaces tasks on DOWN or deleted nodes at once; observed state stays", () => {
    const svc = testService({ replicas: 2 });
    const down = [testNode("n1", { state: NodeState.DOWN })];
    const tasks = [testTask(svc, { id: "a", slot: 1, nodeId: "n1" }), testTask(svc, { id: "b", slot: 2, nodeId: "gone" })];
    const plan = planReplicated(svc, tasks, down, NOW, opts);
    expect(desired(plan.update)).toEqual({ a: TaskState.SHUTDOWN, b: TaskState.SHUTDOWN });
    expect(plan.update.every((t) => t.status?.state === TaskState.RUNNING)).toBe(true);
    expect(plan.create.map((t) => [t.slot, t.notBeforeMs, t.nodeId])).toEqual([[1, 0, ""], [2, 0, ""]]);
  });

  it("moves tasks off a drained node", () => {
    const svc = testService({ replicas: 1 });
    const drained = [testNode("n1", { availability: NodeAvailability.DRAIN })];
    const plan = planReplicated(svc, [testTask(svc, { id: "a", slot: 1, nodeId: "n1" })], drained, NOW, opts);
    expect(desired(plan.update)).toEqual({ a: TaskState.SHUTDOWN });
    expect(plan.create.map((t) => [t.slot, t.nodeId])).toEqual([[1, ""]]);
  });

  it("leaves tasks on DISCONNECTED nodes alone", () => {
    const svc = testService({ replicas: 1 });
    const plan = planReplicated(svc, [testTask(svc)], [testNode("n1", { state: NodeState.DISCONNECTED })], NOW);
    expect(plan).toEqual({ create: [], update: [] });
  });

  it("after a partial write (replacement created, old not yet shut down) only finishes the shutdown", () => {
    const svc = testService({ replicas: 1 });
    const down = [testNode("n1", { state: NodeState.DOWN })];
    const tasks = [testTask(svc, { id: "old" }), testTask(svc, { id: "new", nodeId: "", state: TaskState.PENDING })];
    const plan = planReplicated(svc, tasks, down, NOW);
    expect(plan.create).toEqual([]);
    expect(desired(plan.update)).toEqual({ old: TaskState.SHUTDOWN });
  });
});

describe("planReplicated spec updates", () => {
  it("replaces one outdated slot at a time, stop-first", () => {
    const svc = testService({ replicas: 3, specVersion: 2 });
    const tasks = [1, 2, 3].map((slot) => testTask(svc, { id: `t${slot}`, slot, specVersion: 1 }));
    const plan = planReplicated(svc, tasks, nodes, NOW, opts);
    expect(desired(plan.update)).toEqual({ t1: TaskState.SHUTDOWN });
    expect(plan.create.map((t) => [t.slot, t.specVersion])).toEqual([[1, 2]]);
  });

  it("waits while a new-spec task is still starting", () => {
    const svc = testService({ replicas: 2, specVersion: 2 });
    const tasks = [testTask(svc, { slot: 1, state: TaskState.ASSIGNED }), testTask(svc, { slot: 2, specVersion: 1 })];
    expect(planReplicated(svc, tasks, nodes, NOW)).toEqual({ create: [], update: [] });
  });

  it("moves on once the replacement runs, honouring updateParallelism", () => {
    const svc = testService({ replicas: 3, specVersion: 2 });
    const tasks = [testTask(svc, { slot: 1 }), testTask(svc, { id: "t2", slot: 2, specVersion: 1 }), testTask(svc, { id: "t3", slot: 3, specVersion: 1 })];
    const plan = planReplicated(svc, tasks, nodes, NOW, { ...opts, updateParallelism: 2 });
    expect(desired(plan.update)).toEqual({ t2: TaskState.SHUTDOWN, t3: TaskState.SHUTDOWN });
    expect(plan.create.map((t) => t.slot)).toEqual([2, 3]);
  });

  it("a slot held by a finished task of an older spec is redeployed", () => {
    const svc = testService({ replicas: 1, specVersion: 2, condition: RestartCondition.NONE });
    const held = testTask(svc, { id: "h", specVersion: 1, state: TaskState.COMPLETE, desired: TaskState.COMPLETE });
    const plan = planReplicated(svc, [held], nodes, NOW, opts);
    expect(desired(plan.update)).toEqual({ h: TaskState.SHUTDOWN });
    expect(plan.create.map((t) => t.specVersion)).toEqual([2]);
  });
});
