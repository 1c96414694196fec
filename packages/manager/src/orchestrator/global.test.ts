import { create } from "@bufbuild/protobuf";
import { AnnotationsSchema, NodeAvailability, NodeState, RestartCondition, TaskState, type Node, type Task } from "@tsctl/api";
import { describe, expect, it } from "vitest";
import { planGlobal } from "./global.js";
import { planRemoved } from "./removed.js";
import { sequentialIds, testNode, testService, testTask } from "./testing.js";

const NOW = 1_000_000;
const opts = { newId: sequentialIds() };
const desired = (ts: Task[]) => Object.fromEntries(ts.map((t) => [t.id, t.desiredState]));
const svc = testService({ global: true });
/** zoned gives a test node the label zone=<zone>. */
const zoned = (node: Node, zone: string): Node => {
  node.spec!.annotations = create(AnnotationsSchema, { name: node.id, labels: { zone } });
  return node;
};

describe("planGlobal", () => {
  it("puts one task, pinned, on every READY ACTIVE node", () => {
    const nodes = [testNode("a"), testNode("b"), testNode("c", { state: NodeState.DOWN }), testNode("d", { availability: NodeAvailability.PAUSE })];
    const plan = planGlobal(svc, [], nodes, NOW, opts);
    expect(plan.create.map((t) => [t.nodeId, t.slot, t.status?.state])).toEqual([
      ["a", 0, TaskState.PENDING],
      ["b", 0, TaskState.PENDING],
    ]);
  });

  it("adds a task when a node joins, and nothing when all are covered", () => {
    const tasks = [testTask(svc, { slot: 0, nodeId: "a" })];
    expect(planGlobal(svc, tasks, [testNode("a")], NOW)).toEqual({ create: [], update: [] });
    expect(planGlobal(svc, tasks, [testNode("a"), testNode("b")], NOW, opts).create.map((t) => t.nodeId)).toEqual(["b"]);
  });

  it("shuts down tasks on drained, DOWN and removed nodes without replacing them", () => {
    const nodes = [testNode("a", { availability: NodeAvailability.DRAIN }), testNode("b", { state: NodeState.DOWN })];
    const tasks = ["a", "b", "gone"].map((n) => testTask(svc, { id: n, slot: 0, nodeId: n }));
    const plan = planGlobal(svc, tasks, nodes, NOW);
    expect(plan.create).toEqual([]);
    expect(desired(plan.update)).toEqual({ a: TaskState.SHUTDOWN, b: TaskState.SHUTDOWN, gone: TaskState.SHUTDOWN });
  });

  it("keeps a paused node's task running", () => {
    const tasks = [testTask(svc, { slot: 0, nodeId: "a" })];
    expect(planGlobal(svc, tasks, [testNode("a", { availability: NodeAvailability.PAUSE })], NOW)).toEqual({ create: [], update: [] });
  });

  it("creates tasks only on nodes that satisfy the placement constraints", () => {
    const eu = testService({ global: true });
    eu.spec!.task!.placement!.constraints = ["node.labels.zone == eu", "node.hostname != c"];
    const nodes = [zoned(testNode("a"), "eu"), zoned(testNode("b"), "us"), testNode("d"), zoned(testNode("c"), "eu")];
    expect(planGlobal(eu, [], nodes, NOW, opts).create.map((t) => t.nodeId)).toEqual(["a"]);
  });

  it("shuts down the task on a node that stops matching, without replacing it", () => {
    const eu = testService({ global: true });
    eu.spec!.task!.placement!.constraints = ["node.labels.zone==eu"];
    const tasks = ["a", "b"].map((n) => testTask(eu, { id: n, slot: 0, nodeId: n }));
    const nodes = [zoned(testNode("a"), "eu"), zoned(testNode("b"), "eu")];
    expect(planGlobal(eu, tasks, nodes, NOW, opts)).toEqual({ create: [], update: [] });
    nodes[1]!.spec!.annotations!.labels = {}; // label removed
    const plan = planGlobal(eu, tasks, nodes, NOW, opts);
    expect(plan.create).toEqual([]);
    expect(desired(plan.update)).toEqual({ b: TaskState.SHUTDOWN });
  });

  it("applies the restart policy per node", () => {
    const failed = testTask(svc, { id: "f", slot: 0, nodeId: "a", state: TaskState.FAILED, at: NOW - 1_000 });
    const plan = planGlobal(svc, [failed], [testNode("a")], NOW, opts);
    expect(desired(plan.update)).toEqual({ f: TaskState.SHUTDOWN });
    expect(plan.create.map((t) => [t.nodeId, t.notBeforeMs])).toEqual([["a", NOW + 4_000]]);

    const none = testService({ global: true, condition: RestartCondition.NONE });
    const done = testTask(none, { id: "d", slot: 0, nodeId: "a", state: TaskState.COMPLETE, at: NOW - 1_000 });
    const held = planGlobal(none, [done], [testNode("a")], NOW, opts);
    expect(held.create).toEqual([]);
    expect(desired(held.update)).toEqual({ d: TaskState.COMPLETE });
  });

  it("rolls a spec change node by node", () => {
    const v2 = testService({ global: true, specVersion: 2 });
    const tasks = ["a", "b"].map((n) => testTask(v2, { id: n, slot: 0, nodeId: n, specVersion: 1 }));
    const plan = planGlobal(v2, tasks, [testNode("a"), testNode("b")], NOW, opts);
    expect(desired(plan.update)).toEqual({ a: TaskState.SHUTDOWN });
    expect(plan.create.map((t) => [t.nodeId, t.specVersion])).toEqual([["a", 2]]);
  });
});

describe("planRemoved", () => {
  it("marks every task of a deleted service desired REMOVE, once", () => {
    const tasks = [testTask(svc, { id: "a" }), testTask(svc, { id: "b", desired: TaskState.SHUTDOWN }), testTask(svc, { id: "c", desired: TaskState.REMOVE })];
    expect(desired(planRemoved(tasks))).toEqual({ a: TaskState.REMOVE, b: TaskState.REMOVE });
  });
});
