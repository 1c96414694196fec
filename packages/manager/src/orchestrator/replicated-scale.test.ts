import { TaskState } from "@tsctl/api";
import { describe, expect, it } from "vitest";
import { planReplicated } from "./replicated.js";
import { testNode, testService, testTask } from "./testing.js";

describe("planReplicated at scale", () => {
  const nodes = Array.from({ length: 1_000 }, (_, i) => testNode(`n${i}`));
  const svc = testService({ replicas: 100_000 });

  it("plans 100,000 new tasks, and a steady 100,000-task service, quickly", () => {
    let start = performance.now();
    const fresh = planReplicated(svc, [], nodes, 0);
    const createMs = performance.now() - start;
    const tasks = fresh.create.map((t, i) => testTask(svc, { id: t.id, slot: t.slot, nodeId: `n${i % 1_000}`, state: TaskState.RUNNING }));
    start = performance.now();
    const steady = planReplicated(svc, tasks, nodes, 0);
    const steadyMs = performance.now() - start;
    console.log(`planReplicated: 100000 creates in ${createMs.toFixed(0)} ms; steady 100000 tasks in ${steadyMs.toFixed(0)} ms`);
    expect(fresh.create.length).toBe(100_000);
    expect(steady).toEqual({ create: [], update: [] });
    expect(createMs + steadyMs).toBeLessThan(5_000);
  });
});
