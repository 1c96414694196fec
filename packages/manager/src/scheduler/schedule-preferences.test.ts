import { create } from "@bufbuild/protobuf";
import { AnnotationsSchema, NodeAvailability, PlacementPreferenceSchema, TaskState, isTsctlError, type Node, type Service, type Task } from "@tsctl/api";
import { describe, expect, it } from "vitest";
import { testNode, testService, testTask, type ServiceOpts } from "../orchestrator/testing.js";
import { spreadLabel, spreadLabels } from "./preferences.js";
import { schedule } from "./schedule.js";

const NOW = 1_000_000;

/** node builds a ready node carrying the given labels. */
function node(id: string, labels: Record<string, string> = {}, o: Parameters<typeof testNode>[1] = {}): Node {
  const n = testNode(id, o);
  n.spec!.annotations = create(AnnotationsSchema, { name: id, labels });
  return n;
}

/** spreading is a service with the given spread descriptors (and constraints). */
function spreading(descriptors: string[], o: ServiceOpts & { constraints?: string[] } = {}): Service {
  const svc = testService({ replicas: 1, ...o });
  const placement = svc.spec!.task!.placement!;
  placement.preferences = descriptors.map((d) => create(PlacementPreferenceSchema, { spreadDescriptor: d }));
  placement.constraints = o.constraints ?? [];
  return svc;
}

function pending(svc: Service, n: number): Task[] {
  return Array.from({ length: n }, (_, i) => testTask(svc, { slot: i + 1, nodeId: "", state: TaskState.PENDING }));
}

/** countBy sums a round's assignments (plus tasks already placed) per key of their node. */
function countBy(r: ReturnType<typeof schedule>, key: (nodeId: string) => string, existing: Task[] = []): Record<string, number> {
  const m: Record<string, number> = {};
  for (const nodeId of [...existing.map((t) => t.nodeId), ...r.assignments.map((a) => a.nodeId)]) m[key(nodeId)] = (m[key(nodeId)] ?? 0) + 1;
  return m;
}
const perNode = (r: ReturnType<typeof schedule>, existing: Task[] = []) => countBy(r, (id) => id, existing);

/** zoneOf reads the zone from node ids shaped "<zone>-…", "u…" for unlabelled nodes. */
const zoneOf = (id: string) => (id.startsWith("u") ? "none" : id.split("-")[0]!);

describe("placement preferences (spread=node.labels.<key>)", () => {
  const zoned = () => [node("a-1", { zone: "a" }), node("a-2", { zone: "a" }), node("b-1", { zone: "b" }), node("u1")];

  it("spreads tasks evenly over label values, unlabelled nodes forming one more group", () => {
    const tasks = pending(spreading(["node.labels.zone"]), 9);
    const r = schedule(tasks, zoned(), tasks, NOW);
    expect(r.unassigned).toEqual([]);
    expect(countBy(r, zoneOf)).toEqual({ a: 3, b: 3, none: 3 });
    // Within a group the usual spread decides.
    expect(Object.values(perNode(r)).sort()).toEqual([1, 2, 3, 3]);
  });

  it("without preferences spreads over nodes instead", () => {
    const tasks = pending(spreading([]), 8);
    expect(countBy(schedule(tasks, zoned(), tasks, NOW), zoneOf)).toEqual({ a: 4, b: 2, none: 2 });
  });

  it("applies several preferences hierarchically", () => {
    // Zone a has two racks (r1 with two nodes, r2 with one); zone b one rack also named r1.
    const nodes = [
      node("a-r1-1", { zone: "a", rack: "r1" }),
      node("a-r1-2", { zone: "a", rack: "r1" }),
      node("a-r2-1", { zone: "a", rack: "r2" }),
      node("b-r1-1", { zone: "b", rack: "r1" }),
    ];
    const tasks = pending(spreading(["node.labels.zone", "node.labels.rack"]), 8);
    const r = schedule(tasks, nodes, tasks, NOW);
    expect(countBy(r, zoneOf)).toEqual({ a: 4, b: 4 });
    expect(perNode(r)).toEqual({ "a-r1-1": 1, "a-r1-2": 1, "a-r2-1": 2, "b-r1-1": 4 });
  });

  it("ranks only nodes that pass constraints and max replicas per node", () => {
    const nodes = [node("a-1", { zone: "a" }), node("a-2", { zone: "a" }), node("b-1", { zone: "b" }), node("c-1", { zone: "c" })];
    const tasks = pending(spreading(["node.labels.zone"], { constraints: ["node.labels.zone!=c"], maxReplicas: 2 }), 7);
    const r = schedule(tasks, nodes, tasks, NOW);
    // b fills up at 2 (its one node's cap), a takes the rest up to its cap, c is excluded.
    expect(perNode(r)).toEqual({ "a-1": 2, "a-2": 2, "b-1": 2 });
    expect(r.unassigned.map((u) => u.reason)).toEqual([
      "no suitable node (scheduling constraints not satisfied on 1 node; max replicas per node limit reached on 3 nodes)",
    ]);
  });

  it("skips a group without a feasible node without failing the task", () => {
    const nodes = [node("a-1", { zone: "a" }), node("b-1", { zone: "b" }, { availability: NodeAvailability.DRAIN }), node("c-1", { zone: "c" }, { memoryBytes: 0 })];
    const tasks = pending(spreading(["node.labels.zone"], { memoryBytes: 2 ** 20 }), 3);
    const r = schedule(tasks, nodes, tasks, NOW);
    expect(r.unassigned).toEqual([]);
    expect(perNode(r)).toEqual({ "a-1": 3 });
  });

  it("counts tasks on a group's unavailable nodes toward that group", () => {
    const svc = spreading(["node.labels.zone"]);
    const nodes = [node("a-1", { zone: "a" }), node("b-1", { zone: "b" }, { availability: NodeAvailability.DRAIN }), node("b-2", { zone: "b" }), node("c-1", { zone: "c" })];
    const running = [testTask(svc, { slot: 1, nodeId: "b-1" }), testTask(svc, { slot: 2, nodeId: "b-1" })];
    const tasks = pending(svc, 7);
    const r = schedule(tasks, nodes, [...running, ...tasks], NOW);
    expect(perNode(r)).toEqual({ "a-1": 3, "b-2": 1, "c-1": 3 });
  });

  it("balances new tasks toward the emptiest groups when scaling up from an uneven start", () => {
    const svc = spreading(["node.labels.zone"]);
    const running = ["a-1", "a-1", "a-2", "a-2", "b-1"].map((nodeId, i) => testTask(svc, { slot: i + 1, nodeId }));
    const tasks = pending(svc, 5);
    const r = schedule(tasks, zoned(), [...running, ...tasks], NOW);
    expect(countBy(r, zoneOf)).toEqual({ b: 2, none: 3 });
    expect(countBy(r, zoneOf, running)).toEqual({ a: 4, b: 3, none: 3 });
  });

  it("treats label values as written and the descriptor's prefix without regard to case", () => {
    const nodes = [node("x-1", { Zone: "A" }), node("x-2", { Zone: "a" }), node("x-3", { Zone: "a" })];
    const tasks = pending(spreading(["NODE.LABELS.Zone"]), 4);
    expect(perNode(schedule(tasks, nodes, tasks, NOW))).toEqual({ "x-1": 2, "x-2": 1, "x-3": 1 });
  });

  it("ignores a stored descriptor it cannot read rather than leave tasks pending", () => {
    const tasks = pending(spreading(["engine.labels.zone"]), 8);
    const r = schedule(tasks, zoned(), tasks, NOW);
    expect(r.unassigned).toEqual([]);
    expect(perNode(r)).toEqual({ "a-1": 2, "a-2": 2, "b-1": 2, u1: 2 });
  });

  it("places the same way for the same seed", () => {
    const nodes = Array.from({ length: 12 }, (_, i) => node(`n${String(i).padStart(2, "0")}`, { zone: `z${i % 3}` }));
    const tasks = pending(spreading(["node.labels.zone"]), 5);
    const a = schedule(tasks, nodes, tasks, NOW, 42).assignments;
    expect(schedule(tasks, nodes, tasks, NOW, 42).assignments).toEqual(a);
  });
});

describe("spreadLabel", () => {
  const refused = (d: string): string => {
    try {
      spreadLabel(d);
    } catch (err) {
      expect(isTsctlError(err, "InvalidArgument")).toBe(true);
      return (err as Error).message;
    }
    throw new Error(`expected ${d} to be refused`);
  };

  it("names the node label", () => {
    expect(spreadLabel("node.labels.zone")).toBe("zone");
    expect(spreadLabel("Node.Labels.Zone")).toBe("Zone");
  });

  it("refuses anything but node.labels.<key>", () => {
    expect(refused("node.labels.")).toBe("invalid placement preference: spread=node.labels. (want spread=node.labels.<key>)");
    expect(refused("node.hostname")).toBe("invalid placement preference: spread=node.hostname (want spread=node.labels.<key>)");
    expect(refused("")).toBe("invalid placement preference: spread= (want spread=node.labels.<key>)");
    expect(refused("engine.labels.zone")).toBe(
      "invalid placement preference: spread=engine.labels.zone: tsctl nodes have no engine labels (want spread=node.labels.<key>)",
    );
  });

  it("skips unreadable descriptors when scheduling", () => {
    expect(spreadLabels(spreading(["node.labels.zone", "bogus", "node.labels.rack"]).spec!.task)).toEqual(["zone", "rack"]);
  });
});
