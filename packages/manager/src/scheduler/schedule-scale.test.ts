import { create } from "@bufbuild/protobuf";
import { AnnotationsSchema, PlacementPreferenceSchema, TaskState, type Task } from "@tsctl/api";
import { describe, expect, it } from "vitest";
import { testNode, testService, testTask } from "../orchestrator/testing.js";
import { schedule } from "./schedule.js";

const NODES = 1_000;
const TASKS = 100_000;
const ZONES = 10;

/** cluster labels node i zone=z<i % 10>, rack=r<i % 7>; services spread over the given labels. */
function cluster(services: number, spreadOver: string[] = []) {
  const nodes = Array.from({ length: NODES }, (_, i) => {
    const n = testNode(`node${String(i).padStart(4, "0")}`, { nanoCpus: 64e9, memoryBytes: 256 * 2 ** 30 });
    n.spec!.annotations = create(AnnotationsSchema, { labels: { zone: `z${i % ZONES}`, rack: `r${i % 7}` } });
    return n;
  });
  const tasks: Task[] = [];
  for (let s = 0; s < services; s++) {
    const svc = testService({ name: `s${s}`, replicas: TASKS / services, nanoCpus: 1e8, memoryBytes: 2 ** 27 });
    svc.spec!.task!.placement!.preferences = spreadOver.map((k) => create(PlacementPreferenceSchema, { spreadDescriptor: `node.labels.${k}` }));
    for (let slot = 1; slot <= TASKS / services; slot++) tasks.push(testTask(svc, { slot, nodeId: "", state: TaskState.PENDING }));
  }
  return { nodes, tasks };
}

function timed(services: number, spreadOver: string[] = []) {
  const { nodes, tasks } = cluster(services, spreadOver);
  const start = performance.now();
  const r = schedule(tasks, nodes, tasks, 0, 7);
  const ms = performance.now() - start;
  const prefs = spreadOver.length ? `, spread over ${spreadOver.join(" > ")}` : "";
  console.log(`schedule: ${TASKS} tasks (${services} services${prefs}) x ${NODES} nodes in ${ms.toFixed(0)} ms`);
  expect(r.assignments.length).toBe(TASKS);
  const counts = new Map<string, number>();
  for (const a of r.assignments) counts.set(a.nodeId, (counts.get(a.nodeId) ?? 0) + 1);
  expect(ms).toBeLessThan(3_000);
  return { nodes, counts };
}

describe("schedule at scale", () => {
  it.each([1, 100, 1_000])("places 100,000 tasks of %i service(s) on 1,000 nodes in well under a few seconds", (services) => {
    const { counts } = timed(services);
    expect(Math.max(...counts.values()) - Math.min(...counts.values())).toBeLessThanOrEqual(1);
  });

  it.each([1, 1_000])("spreads 100,000 tasks of %i service(s) over zones, then racks", (services) => {
    const { nodes, counts } = timed(services, ["zone", "rack"]);
    const perZone = new Map<string, number>();
    for (const n of nodes) {
      const zone = n.spec!.annotations!.labels["zone"]!;
      perZone.set(zone, (perZone.get(zone) ?? 0) + (counts.get(n.id) ?? 0));
    }
    expect([...perZone.values()]).toEqual(Array<number>(ZONES).fill(TASKS / ZONES));
  });
});
