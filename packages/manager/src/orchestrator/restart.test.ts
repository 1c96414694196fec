import { RestartCondition, TaskState, type Task } from "@tsctl/api";
import { describe, expect, it } from "vitest";
import { planReplicated } from "./replicated.js";
import { conditionAllows } from "./restart.js";
import { sequentialIds, testNode, testService, testTask, type ServiceOpts } from "./testing.js";

const NOW = 1_000_000;
const nodes = [testNode("n1")];
const desired = (ts: Task[]) => Object.fromEntries(ts.map((t) => [t.id, t.desiredState]));

function endedPlan(svc: ServiceOpts, state: TaskState, history: Task[] = []) {
  const service = testService({ replicas: 1, ...svc });
  const ended = testTask(service, { id: "ended", state, at: NOW - 1_000, createdAt: NOW - 2_000 });
  return planReplicated(service, [ended, ...history], nodes, NOW, { newId: sequentialIds() });
}

describe("restart condition", () => {
  it.each([
    [RestartCondition.ANY, TaskState.COMPLETE, true],
    [RestartCondition.ANY, TaskState.FAILED, true],
    [RestartCondition.ANY, TaskState.SHUTDOWN, true],
    [RestartCondition.ANY, TaskState.ORPHANED, true],
    [RestartCondition.ON_FAILURE, TaskState.FAILED, true],
    [RestartCondition.ON_FAILURE, TaskState.REJECTED, true],
    [RestartCondition.ON_FAILURE, TaskState.COMPLETE, false],
    [RestartCondition.NONE, TaskState.FAILED, false],
  ])("condition %i, ended %i → restart %s", (condition, state, restart) => {
    expect(conditionAllows(condition, state)).toBe(restart);
    const plan = endedPlan({ condition }, state);
    expect(plan.create.length).toBe(restart ? 1 : 0);
    // A declined restart marks the task COMPLETE so the slot stays empty on every later pass.
    expect(desired(plan.update)).toEqual({ ended: restart ? TaskState.SHUTDOWN : TaskState.COMPLETE });
  });

  it("a held slot stays empty on the next pass", () => {
    const svc = testService({ replicas: 1, condition: RestartCondition.NONE });
    const held = testTask(svc, { state: TaskState.COMPLETE, desired: TaskState.COMPLETE });
    expect(planReplicated(svc, [held], nodes, NOW)).toEqual({ create: [], update: [] });
  });
});

describe("restart delay", () => {
  it("defaults to 5 s after the task ended, and reports when to wake", () => {
    const plan = endedPlan({}, TaskState.FAILED);
    expect(plan.create[0]!.notBeforeMs).toBe(NOW - 1_000 + 5_000);
    expect(plan.wakeAtMs).toBe(NOW + 4_000);
  });

  it("uses the policy's delay; zero means no hold", () => {
    expect(endedPlan({ delayMs: 200 }, TaskState.FAILED).create[0]!.notBeforeMs).toBe(NOW - 800);
    const plan = endedPlan({ delayMs: 0 }, TaskState.FAILED);
    expect(plan.wakeAtMs).toBeUndefined();
  });

  it("a replacement already created is not duplicated by the next pass", () => {
    const svc = testService({ replicas: 1 });
    const old = testTask(svc, { state: TaskState.FAILED, desired: TaskState.SHUTDOWN, at: NOW - 10 });
    const next = testTask(svc, { state: TaskState.PENDING, nodeId: "", notBeforeMs: NOW + 5_000 });
    expect(planReplicated(svc, [old, next], nodes, NOW)).toEqual({ create: [], update: [] });
  });
});

describe("max attempts", () => {
  const failed = (svc: ReturnType<typeof testService>, endedAgo: number, specVersion = 1) =>
    testTask(svc, { state: TaskState.FAILED, desired: TaskState.SHUTDOWN, at: NOW - endedAgo, createdAt: NOW - endedAgo - 10, specVersion });

  it("stops restarting once the slot used its attempts", () => {
    const svc = testService({ replicas: 1, maxAttempts: 2 });
    const history = [failed(svc, 50_000), failed(svc, 40_000)];
    const plan = planReplicated(svc, [testTask(svc, { id: "ended", state: TaskState.FAILED, at: NOW - 100 }), ...history], nodes, NOW);
    expect(plan.create).toEqual([]);
    expect(desired(plan.update)).toEqual({ ended: TaskState.COMPLETE });
  });

  it("restarts while attempts remain", () => {
    const svc = testService({ replicas: 1, maxAttempts: 2 });
    const plan = planReplicated(svc, [testTask(svc, { state: TaskState.FAILED, at: NOW - 100 }), failed(svc, 40_000)], nodes, NOW);
    expect(plan.create.length).toBe(1);
  });

  it("counts only attempts inside the window", () => {
    const svc = testService({ replicas: 1, maxAttempts: 2, windowMs: 30_000 });
    const history = [failed(svc, 50_000), failed(svc, 40_000)];
    expect(planReplicated(svc, [testTask(svc, { state: TaskState.FAILED, at: NOW - 100 }), ...history], nodes, NOW).create.length).toBe(1);
    const recent = [failed(svc, 20_000), failed(svc, 10_000)];
    expect(planReplicated(svc, [testTask(svc, { state: TaskState.FAILED, at: NOW - 100 }), ...recent], nodes, NOW).create.length).toBe(0);
  });

  it("a new spec version starts a fresh count", () => {
    const svc = testService({ replicas: 1, maxAttempts: 1, specVersion: 2 });
    const plan = planReplicated(svc, [testTask(svc, { state: TaskState.FAILED, at: NOW - 100 }), failed(svc, 1_000, 1)], nodes, NOW);
    expect(plan.create.length).toBe(1);
  });

  it("deliberate stops are not attempts", () => {
    const svc = testService({ replicas: 1, maxAttempts: 1 });
    const stopped = testTask(svc, { state: TaskState.SHUTDOWN, desired: TaskState.SHUTDOWN, at: NOW - 1_000 });
    expect(planReplicated(svc, [testTask(svc, { state: TaskState.FAILED, at: NOW - 100 }), stopped], nodes, NOW).create.length).toBe(1);
  });
});

describe("restart attempt record", () => {
  function withRecord(record: number[], maxAttempts: number, windowMs = 0) {
    const service = testService({ replicas: 1, maxAttempts, windowMs });
    const ended = testTask(service, { id: "ended", state: TaskState.FAILED, at: NOW - 1_000, createdAt: NOW - 2_000 });
    ended.restartHistoryMs = record;
    return planReplicated(service, [ended], nodes, NOW, { newId: sequentialIds() });
  }

  it("counts attempts the reaper no longer keeps, from the record the ended task carries", () => {
    expect(withRecord([NOW - 5_000, NOW - 4_000], 3).create).toHaveLength(1);
    expect(withRecord([NOW - 6_000, NOW - 5_000, NOW - 4_000], 3).create).toHaveLength(0);
  });

  it("hands the replacement the record plus this ending, within the window and max attempts", () => {
    const plan = withRecord([NOW - 90_000, NOW - 5_000], 5, 60_000);
    expect(plan.create[0]?.restartHistoryMs).toEqual([NOW - 5_000, NOW - 1_000]);
    expect(withRecord([NOW - 3_000, NOW - 2_000], 2, 0).create).toHaveLength(0);
    expect(withRecord([], 0).create[0]?.restartHistoryMs).toEqual([]);
  });
});
