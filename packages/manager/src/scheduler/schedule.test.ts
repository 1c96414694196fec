import { create } from "@bufbuild/protobuf";
import { AnnotationsSchema, NodeAvailability, NodeState, TaskState, type Task } from "@tsctl/api";
import { describe, expect, it } from "vitest";
import { testNode, testService, testTask, type ServiceOpts } from "../orchestrator/testing.js";
import { schedule } from "./schedule.js";

const NOW = 1_000_000;
const GiB = 2 ** 30;

function pending(n: number, svc = testService({ replicas: n }), extra: Partial<Parameters<typeof testTask>[1]> = {}): Task[] {
  return Array.from({ length: n }, (_, i) => testTask(svc, { slot: i + 1, nodeId: "", state: TaskState.PENDING, ...extra }));
}
const svcWith = (o: ServiceOpts) => testService({ replicas: 1, ...o });
const perNode = (r: ReturnType<typeof schedule>) => {
  const m: Record<string, number> = {};
  for (const a of r.assignments) m[a.nodeId] = (m[a.nodeId] ?? 0) + 1;
  return m;
};

describe("schedule filters and explanations", () => {
  it("assigns to a ready, active node", () => {
    const [t] = pending(1);
    expect(schedule([t!], [testNode("n1")], [t!], NOW)).toEqual({ assignments: [{ taskId: t!.id, nodeId: "n1" }], unassigned: [] });
  });

  it("explains nodes that are down, drained or paused as not available", () => {
    const [t] = pending(1);
    const nodes = [testNode("a", { state: NodeState.DOWN }), testNode("b", { availability: NodeAvailability.DRAIN }), testNode("c", { availability: NodeAvailability.PAUSE })];
    const r = schedule([t!], nodes, [t!], NOW);
    expect(r.unassigned).toEqual([{ taskId: t!.id, reason: "no suitable node (3 nodes not available for new tasks)" }]);
  });

  it("explains missing resources, counting nodes per cause", () => {
    const svc = svcWith({ memoryBytes: 16 * GiB });
    const [t] = pending(1, svc);
    const r = schedule([t!], [testNode("a"), testNode("b", { state: NodeState.DOWN })], [t!], NOW);
    expect(r.unassigned[0]!.reason).toBe("no suitable node (1 node not available for new tasks; insufficient resources on 1 node)");
  });

  it("says only 'no suitable node' when there are no nodes", () => {
    const [t] = pending(1);
    expect(schedule([t!], [], [t!], NOW).unassigned[0]!.reason).toBe("no suitable node");
  });

  it("subtracts reservations of tasks already on the node, and of this round's", () => {
    const svc = svcWith({ nanoCpus: 1e9 });
    const running = [testTask(svc, { nodeId: "a" }), testTask(svc, { nodeId: "a" })];
    const stopped = testTask(svc, { nodeId: "a", desired: TaskState.SHUTDOWN }); // frees its share
    const tasks = pending(3, svc);
    const r = schedule(tasks, [testNode("a")], [...running, stopped, ...tasks], NOW);
    expect(r.assignments.length).toBe(2);
    expect(r.unassigned).toEqual([{ taskId: tasks[2]!.id, reason: "no suitable node (insufficient resources on 1 node)" }]);
  });

  it("caps tasks per node with placement.maxReplicas", () => {
    const svc = svcWith({ maxReplicas: 2 });
    const tasks = pending(5, svc);
    const r = schedule(tasks, [testNode("a"), testNode("b")], [testTask(svc, { nodeId: "a" }), ...tasks], NOW);
    expect(perNode(r)).toEqual({ a: 1, b: 2 });
    expect(r.unassigned.map((u) => u.reason)).toEqual([
      "no suitable node (max replicas per node limit reached on 2 nodes)",
      "no suitable node (max replicas per node limit reached on 2 nodes)",
    ]);
  });

  it("holds back tasks whose restart delay has not passed, without an error", () => {
    const [held] = pending(1, undefined, { notBeforeMs: NOW + 3_000 });
    const [due] = pending(1, undefined, { notBeforeMs: NOW });
    const r = schedule([held!, due!], [testNode("a")], [], NOW);
    expect(r.assignments.map((a) => a.taskId)).toEqual([due!.id]);
    expect(r.unassigned).toEqual([]);
    expect(r.wakeAtMs).toBe(NOW + 3_000);
  });

  it("ignores tasks that are not pending or no longer wanted", () => {
    const svc = svcWith({});
    const tasks = [testTask(svc, { nodeId: "" }), testTask(svc, { nodeId: "", state: TaskState.PENDING, desired: TaskState.SHUTDOWN })];
    expect(schedule(tasks, [testNode("a")], tasks, NOW)).toEqual({ assignments: [], unassigned: [] });
  });

  it("checks pinned (global) tasks against their own node only", () => {
    const svc = testService({ global: true, memoryBytes: 4 * GiB });
    const ok = testTask(svc, { slot: 0, nodeId: "a", state: TaskState.PENDING });
    const full = testTask(svc, { slot: 0, nodeId: "b", state: TaskState.PENDING });
    const gone = testTask(svc, { slot: 0, nodeId: "zz", state: TaskState.PENDING });
    const r = schedule([ok, full, gone], [testNode("a"), testNode("b", { memoryBytes: GiB })], [], NOW);
    expect(r.assignments).toEqual([{ taskId: ok.id, nodeId: "a" }]);
    expect(r.unassigned).toEqual([
      { taskId: full.id, reason: "no suitable node (insufficient resources on 1 node)" },
      { taskId: gone.id, reason: "no suitable node (1 node not available for new tasks)" },
    ]);
  });
});

describe("schedule placement constraints", () => {
  /** constrained is a service whose tasks carry the given placement constraints. */
  function constrained(constraints: string[], o: ServiceOpts = {}) {
    const svc = testService({ replicas: 1, ...o });
    svc.spec!.task!.placement!.constraints = constraints;
    return svc;
  }
  const workers = () => [testNode("w1"), testNode("w2"), testNode("w3")];

  it("places every task of node.hostname==w2 on w2 only", () => {
    const tasks = pending(4, constrained(["node.hostname==w2"]));
    const r = schedule(tasks, workers(), tasks, NOW);
    expect(perNode(r)).toEqual({ w2: 4 });
    expect(r.unassigned).toEqual([]);
  });

  it("spreads over the nodes a != constraint leaves", () => {
    const tasks = pending(4, constrained(["node.hostname != w1"]));
    expect(perNode(schedule(tasks, workers(), tasks, NOW))).toEqual({ w2: 2, w3: 2 });
  });

  it("matches node labels, a missing label failing ==", () => {
    const nodes = workers();
    nodes[2]!.spec!.annotations = create(AnnotationsSchema, { name: "w3", labels: { disk: "ssd" } });
    const tasks = pending(2, constrained(["node.labels.disk==SSD"]));
    expect(perNode(schedule(tasks, nodes, tasks, NOW))).toEqual({ w3: 2 });
  });

  it("leaves tasks with an impossible constraint unassigned, explained like Docker", () => {
    const tasks = pending(2, constrained(["node.role==manager"]));
    const r = schedule(tasks, workers(), tasks, NOW);
    expect(r.assignments).toEqual([]);
    expect(r.unassigned.map((u) => u.reason)).toEqual([
      "no suitable node (scheduling constraints not satisfied on 3 nodes)",
      "no suitable node (scheduling constraints not satisfied on 3 nodes)",
    ]);
  });

  it("charges each node to its first failing filter", () => {
    const [t] = pending(1, constrained(["node.hostname==w1"], { memoryBytes: 6 * GiB }));
    const nodes = [testNode("w1", { memoryBytes: GiB }), testNode("w2"), testNode("w3", { state: NodeState.DOWN })];
    expect(schedule([t!], nodes, [t!], NOW).unassigned[0]!.reason).toBe(
      "no suitable node (1 node not available for new tasks; insufficient resources on 1 node; scheduling constraints not satisfied on 1 node)",
    );
  });

  it("checks pinned (global) tasks against the constraints too", () => {
    const svc = constrained(["node.hostname==w1"], { global: true });
    const ok = testTask(svc, { slot: 0, nodeId: "w1", state: TaskState.PENDING });
    const off = testTask(svc, { slot: 0, nodeId: "w2", state: TaskState.PENDING });
    const r = schedule([ok, off], workers(), [], NOW);
    expect(r.assignments).toEqual([{ taskId: ok.id, nodeId: "w1" }]);
    expect(r.unassigned).toEqual([{ taskId: off.id, reason: "no suitable node (scheduling constraints not satisfied on 1 node)" }]);
  });
});

describe("schedule spread", () => {
  it("spreads a service evenly over nodes", () => {
    const tasks = pending(9);
    expect(perNode(schedule(tasks, [testNode("a"), testNode("b"), testNode("c")], tasks, NOW))).toEqual({ a: 3, b: 3, c: 3 });
  });

  it("prefers nodes with fewer tasks of the same service, then fewer in total", () => {
    const web = testService({ name: "web" });
    const db = testService({ name: "db" });
    const existing = [testTask(web, { nodeId: "a" }), testTask(db, { nodeId: "b" }), testTask(db, { nodeId: "b" })];
    const [t1, t2] = pending(2, web);
    const r = schedule([t1!, t2!], [testNode("a"), testNode("b"), testNode("c")], existing, NOW);
    // c is empty; then b has no web task (a has one), even though b runs more in total.
    expect(r.assignments.map((a) => a.nodeId)).toEqual(["c", "b"]);
  });

  it("breaks ties with a seeded shuffle: same seed, same placement", () => {
    const nodes = Array.from({ length: 20 }, (_, i) => testNode(`n${String(i).padStart(2, "0")}`));
    const tasks = pending(7);
    const a = schedule(tasks, nodes, tasks, NOW, 42).assignments;
    expect(schedule(tasks, nodes, tasks, NOW, 42).assignments).toEqual(a);
    const seeds = new Set([1, 2, 3, 4, 5].map((s) => schedule(tasks, nodes, tasks, NOW, s).assignments[0]!.nodeId));
    expect(seeds.size).toBeGreaterThan(1);
  });
});
