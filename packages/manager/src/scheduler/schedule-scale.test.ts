import { TaskState, type Task } from "@tsctl/api";
import { describe, expect, it } from "vitest";
import { testNode, testService, testTask } from "../orchestrator/testing.js";
import { schedule } from "./schedule.js";

const NODES = 1_000;
const TASKS = 100_000;

function cluster(services: number) {
  const nodes = Array.from({ length: NODES }, (_, i) => testNode(`node${String(i).padStart(4, "0")}`, { nanoCpus: 64e9, memoryBytes: 256 * 2 ** 30 }));
  const tasks: Task[] = [];
  for (let s = 0; s < services; s++) {
    const svc = testService({ name: `s${s}`, replicas: TASKS / services, nanoCpus: 1e8, memoryBytes: 2 ** 27 });
    for (let slot = 1; slot <= TASKS / services; slot++) tasks.push(testTask(svc, { slot, nodeId: "", state: TaskState.PENDING }));
  }
  return { nodes, tasks };
}

describe("schedule at scale", () => {
  it.each([1, 100, 1_000])("places 100,000 tasks of %i service(s) on 1,000 nodes in well under a few seconds", (services) => {
    const { nodes, tasks } = cluster(services);
    const start = performance.now();
    const r = schedule(tasks, nodes, tasks, 0, 7);
    const ms = performance.now() - start;
    console.log(`schedule: ${TASKS} tasks (${services} services) x ${NODES} nodes in ${ms.toFixed(0)} ms`);
    expect(r.assignments.length).toBe(TASKS);
    const counts = new Map<string, number>();
    for (const a of r.assignments) counts.set(a.nodeId, (counts.get(a.nodeId) ?? 0) + 1);
    expect(Math.max(...counts.values()) - Math.min(...counts.values())).toBeLessThanOrEqual(1);
    expect(ms).toBeLessThan(3_000);
  });
});
