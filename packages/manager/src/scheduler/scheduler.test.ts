import { clone } from "@bufbuild/protobuf";
import { NodeAvailability, NodeSchema, NodeState, TaskState } from "@tsctl/api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeClock } from "../clock.js";
import { Orchestrator } from "../orchestrator/index.js";
import { report, seed, settle, tasksOf } from "../orchestrator/loop-testing.js";
import { testNode, testService } from "../orchestrator/testing.js";
import { MemoryBackend, openStore } from "../store/index.js";
import type { Store } from "../store/types.js";
import { Scheduler } from "./scheduler.js";

let store: Store;
let clock: FakeClock;
let orchestrator: Orchestrator;
let scheduler: Scheduler;
const GiB = 2 ** 30;

beforeEach(async () => {
  store = await openStore(new MemoryBackend());
  clock = new FakeClock();
  orchestrator = new Orchestrator(store, { clock });
  scheduler = new Scheduler(store, { clock });
});

afterEach(async () => {
  await scheduler.stop();
  await orchestrator.stop();
  expect(clock.pending).toBe(0);
  await store.close();
});

const converge = () => settle(orchestrator, scheduler);
const start = () => [orchestrator, scheduler].forEach((c) => c.start());

async function updateNode(id: string, change: (n: ReturnType<typeof testNode>) => void): Promise<void> {
  await store.update((tx) => {
    const n = clone(NodeSchema, tx.get("node", id)!);
    change(n);
    tx.update("node", n);
  });
}

describe("Scheduler loop", () => {
  it("explains an unschedulable task once, without rewriting it every pass", async () => {
    const svc = testService({ replicas: 1, memoryBytes: 64 * GiB });
    await seed(store, { nodes: [testNode("n1")], services: [svc] });
    start();
    await converge();
    const [t] = tasksOf(store, svc.id);
    expect(t!.status?.state).toBe(TaskState.PENDING);
    expect(t!.status?.err).toBe("no suitable node (insufficient resources on 1 node)");
    const revision = store.revision;
    clock.advance(30_000); // three periodic resyncs
    await converge();
    expect(store.revision).toBe(revision);
  });

  it("places a waiting task once a node with room joins", async () => {
    const svc = testService({ replicas: 1, memoryBytes: 64 * GiB });
    await seed(store, { nodes: [testNode("small")], services: [svc] });
    start();
    await converge();
    await seed(store, { nodes: [testNode("big", { memoryBytes: 128 * GiB })] });
    await converge();
    const [t] = tasksOf(store, svc.id);
    expect([t!.nodeId, t!.status?.state]).toEqual(["big", TaskState.ASSIGNED]);
  });

  it("moves work off a node that goes down", async () => {
    const svc = testService({ replicas: 2 });
    await seed(store, { nodes: [testNode("a"), testNode("b")], services: [svc] });
    start();
    await converge();
    for (const t of tasksOf(store, svc.id)) await report(store, t.id, TaskState.RUNNING, clock.now());
    await updateNode("a", (n) => (n.status!.state = NodeState.DOWN));
    await converge();
    const live = tasksOf(store, svc.id).filter((t) => t.desiredState === TaskState.RUNNING);
    expect(live.map((t) => [t.slot, t.nodeId])).toEqual([
      [1, "b"],
      [2, "b"],
    ]);
  });

  it("runs a global service on each active node, and follows joins and drains", async () => {
    const svc = testService({ global: true });
    await seed(store, { nodes: [testNode("a"), testNode("b")], services: [svc] });
    start();
    await converge();
    const placed = () =>
      tasksOf(store, svc.id)
        .filter((t) => t.desiredState === TaskState.RUNNING)
        .map((t) => `${t.nodeId}:${TaskState[t.status!.state]}`)
        .sort();
    expect(placed()).toEqual(["a:ASSIGNED", "b:ASSIGNED"]);
    await seed(store, { nodes: [testNode("c")] });
    await updateNode("a", (n) => (n.spec!.availability = NodeAvailability.DRAIN));
    await converge();
    expect(placed()).toEqual(["b:ASSIGNED", "c:ASSIGNED"]);
  });
});
