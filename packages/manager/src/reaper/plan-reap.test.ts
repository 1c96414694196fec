import { TaskState } from "@tsctl/api";
import { describe, expect, it } from "vitest";
import { nodeMap } from "../orchestrator/task-states.js";
import { testNode, testService, testTask } from "../orchestrator/testing.js";
import { planReap } from "./plan-reap.js";

const svc = testService({ replicas: 2 });
const services = new Map([[svc.id, svc]]);
const nodes = nodeMap([testNode("n1")]);
const ids = (ts: { id: string }[]) => ts.map((t) => t.id).sort();
const endedTask = (id: string, at: number, slot = 1) => testTask(svc, { id, slot, state: TaskState.FAILED, desired: TaskState.SHUTDOWN, at });

describe("planReap retention", () => {
  it("keeps the newest N ended tasks per slot and deletes older ones", () => {
    const slot1 = [1, 2, 3, 4].map((i) => endedTask(`a${i}`, i * 1000));
    const slot2 = [1, 2].map((i) => endedTask(`b${i}`, i * 1000, 2));
    expect(ids(planReap([...slot1, ...slot2], services, nodes, 2))).toEqual(["a1", "a2"]);
  });

  it("never counts running tasks or ones still desired running", () => {
    const tasks = [testTask(svc, { id: "run" }), testTask(svc, { id: "failing", state: TaskState.FAILED, at: 5 }), endedTask("old", 1)];
    expect(planReap(tasks, services, nodes, 0).map((t) => t.id)).toEqual(["old"]);
  });

  it("counts stopped tasks on removed nodes as ended", () => {
    const stuck = testTask(svc, { id: "stuck", nodeId: "n9", desired: TaskState.SHUTDOWN, at: 1 });
    const waiting = testTask(svc, { id: "waiting", nodeId: "n1", desired: TaskState.SHUTDOWN, at: 2 });
    expect(ids(planReap([stuck, waiting], services, nodes, 0))).toEqual(["stuck"]);
  });

  it("keeps a slot's holder even with a zero limit; a negative limit keeps everything", () => {
    const holder = testTask(svc, { id: "h", state: TaskState.COMPLETE, desired: TaskState.COMPLETE, at: 9 });
    const tasks = [holder, endedTask("x", 1)];
    expect(ids(planReap(tasks, services, nodes, 0))).toEqual(["x"]);
    expect(planReap(tasks, services, nodes, -1)).toEqual([]);
  });

  it("keeps history per node for global services", () => {
    const g = testService({ global: true });
    const tasks = ["n1", "n2"].flatMap((n) => [1, 2].map((i) => testTask(g, { id: `${n}-${i}`, slot: 0, nodeId: n, state: TaskState.FAILED, desired: TaskState.SHUTDOWN, at: i })));
    expect(ids(planReap(tasks, new Map([[g.id, g]]), nodes, 1))).toEqual(["n1-1", "n2-1"]);
  });
});

describe("planReap removal", () => {
  const gone = testService({ replicas: 1 });
  const remove = (id: string, state: TaskState, nodeId = "n1") => testTask(gone, { id, state, nodeId, desired: TaskState.REMOVE });

  it("deletes REMOVE tasks once over, never started, or orphaned by their node", () => {
    const tasks = [
      remove("over", TaskState.SHUTDOWN),
      remove("failed", TaskState.FAILED),
      remove("unassigned", TaskState.PENDING, ""),
      remove("lostnode", TaskState.RUNNING, "n9"),
      remove("stopping", TaskState.RUNNING),
    ];
    expect(ids(planReap(tasks, services, nodes, 5))).toEqual(["failed", "lostnode", "over", "unassigned"]);
  });

  it("leaves tasks of a deleted service alone until the orchestrator marks them", () => {
    const t = testTask(gone, { state: TaskState.FAILED, desired: TaskState.SHUTDOWN, at: 1 });
    expect(planReap([t], services, nodes, 0)).toEqual([]);
  });
});
