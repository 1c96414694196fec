import { TaskState, type TaskStatus } from "@tsctl/api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeExecutor } from "../fake/index.js";
import { Agent } from "./agent.js";
import { FakeDispatcher, waitUntil } from "./fake-dispatcher.js";
import { testTask, withDesired } from "./test-tasks.js";

describe("Agent over a gRPC session", () => {
  let d: FakeDispatcher;
  let ex: FakeExecutor;
  let agents: Agent[];

  beforeEach(async () => {
    d = await FakeDispatcher.start();
    ex = new FakeExecutor({ description: { hostname: "host-1" } });
    agents = [];
  });
  afterEach(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await d.stop();
    ex.dispose();
  });

  function startAgent(): Agent {
    const agent = new Agent({
      nodeId: "node-1",
      addr: "10.0.0.1",
      executor: ex,
      connect: d.connect,
      backoff: { delay: async () => {} },
    });
    agents.push(agent);
    agent.start();
    return agent;
  }

  /** statuses is every status received for a task, across sessions, in order. */
  const statuses = (taskId: string): TaskStatus[] =>
    d.received().flatMap((m) => (m.msg.case === "statusUpdates" ? m.msg.value.updates : []))
      .filter((u) => u.taskId === taskId)
      .map((u) => u.status!);
  const lastState = (taskId: string): TaskState | undefined => statuses(taskId).at(-1)?.state;
  const reached = (taskId: string, s: TaskState) => waitUntil(() => lastState(taskId) === s, 3000, `${taskId} ${TaskState[s]}`);

  it("registers first, then runs the full assignment set to RUNNING", async () => {
    d.tasks.set("t1", testTask("t1"));
    d.tasks.set("t2", testTask("t2"));
    startAgent();
    await reached("t1", TaskState.RUNNING);
    await reached("t2", TaskState.RUNNING);
    const first = d.sessions[0]!.received[0]!;
    expect(first.msg.case).toBe("register");
    expect(first.msg.value).toMatchObject({ nodeId: "node-1", addr: "10.0.0.1", description: { hostname: "host-1" } });
    const states = statuses("t1").map((s) => s.state);
    expect([...states].sort((a, b) => a - b)).toEqual(states);
    expect(statuses("t1").at(-1)).toMatchObject({ message: "started", container: { containerId: "t1" } });
  });

  it("reports FAILED on a crash, SHUTDOWN on desired shutdown, and removes unassigned tasks", async () => {
    const [a, b, c] = [testTask("a"), testTask("b"), testTask("c")];
    for (const t of [a, b, c]) d.tasks.set(t.id, t);
    const agent = startAgent();
    for (const t of [a, b, c]) await reached(t.id, TaskState.RUNNING);
    ex.crash("a", 137);
    await reached("a", TaskState.FAILED);
    expect(statuses("a").at(-1)).toMatchObject({ err: "non-zero exit (137)", container: { exitCode: 137 } });
    d.assign(withDesired(b, TaskState.SHUTDOWN));
    await reached("b", TaskState.SHUTDOWN);
    d.unassign("c");
    await waitUntil(() => ex.calls("remove", "c") === 1);
    await agent.settled();
    expect(agent.tasks().map((t) => t.task.id).sort()).toEqual(["a", "b"]);
  });

  it("reconnects when the manager drops the stream, re-registers and resends the newest statuses", async () => {
    d.tasks.set("t1", testTask("t1"));
    startAgent();
    await reached("t1", TaskState.RUNNING);
    d.sessions[0]!.end();
    await waitUntil(() => d.sessions.length === 2 && d.sessions[1]!.of("statusUpdates").length > 0);
    const second = d.sessions[1]!;
    expect(second.received[0]!.msg.case).toBe("register");
    const resent = second.of("statusUpdates").flatMap((u) => u.updates);
    expect(resent.find((u) => u.taskId === "t1")?.status?.state).toBe(TaskState.RUNNING);
    expect(ex.calls("start", "t1")).toBe(1);
  });

  it("keeps statuses that could not be sent and delivers them on the next session", async () => {
    d.tasks.set("t1", testTask("t1"));
    startAgent();
    await reached("t1", TaskState.RUNNING);
    d.sessions[0]!.end();
    ex.crash("t1", 3);
    await reached("t1", TaskState.FAILED);
    expect(d.sessions.length).toBeGreaterThanOrEqual(2);
  });

  it("re-adopts running containers after a restart without starting them again", async () => {
    d.tasks.set("t1", testTask("t1"));
    const first = startAgent();
    await reached("t1", TaskState.RUNNING);
    await first.stop();
    expect(ex.containers.get("t1")?.info.state).toBe("running");
    const sessionsBefore = d.sessions.length;
    d.tasks.set("t1", testTask("t1", { state: TaskState.RUNNING }));
    startAgent();
    await waitUntil(() => d.sessions.length > sessionsBefore && d.current!.of("statusUpdates").length > 0);
    expect(d.current!.of("statusUpdates").flatMap((u) => u.updates)[0]?.status?.state).toBe(TaskState.RUNNING);
    expect(ex.calls("prepare", "t1")).toBe(1);
    expect(ex.calls("start", "t1")).toBe(1);
  });

  it("removes containers of unassigned tasks after the first full assignment set", async () => {
    ex.seed(testTask("orphan"), "running");
    d.tasks.set("t1", testTask("t1"));
    const agent = startAgent();
    await reached("t1", TaskState.RUNNING);
    await waitUntil(() => !ex.containers.has("orphan"));
    await agent.settled();
    expect(ex.calls("shutdown", "orphan")).toBe(1);
    expect(ex.containers.has("t1")).toBe(true);
  });

  it("sends heartbeats at the period the manager asks for", async () => {
    d.heartbeatPeriodMs = 20;
    startAgent();
    await waitUntil(() => d.current !== undefined && d.current.of("heartbeat").length >= 1);
    const t0 = Date.now();
    await waitUntil(() => d.current!.of("heartbeat").length >= 6);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(80);
  });

  it("coalesces the statuses of many tasks into few messages", async () => {
    for (let i = 0; i < 50; i++) d.tasks.set(`t${i}`, testTask(`t${i}`));
    startAgent();
    await waitUntil(() => Array.from({ length: 50 }, (_, i) => lastState(`t${i}`)).every((s) => s === TaskState.RUNNING));
    // 50 tasks × 5 transitions would be 250 messages without batching.
    expect(d.current!.of("statusUpdates").length).toBeLessThan(20);
  });

  it("answers a log subscription with the tasks' lines and done", async () => {
    d.tasks.set("t1", testTask("t1"));
    d.tasks.set("t2", testTask("t2"));
    startAgent();
    await reached("t1", TaskState.RUNNING);
    await reached("t2", TaskState.RUNNING);
    ex.appendLog("t1", "hello");
    d.current!.send({ msg: { case: "logSubscription", value: { subscriptionId: "sub1", taskIds: ["t1", "t2", "elsewhere"], follow: false } } });
    await waitUntil(() => d.current!.of("logs").some((c) => c.done));
    const chunks = d.current!.of("logs");
    expect(chunks.every((c) => c.subscriptionId === "sub1" && c.error === "")).toBe(true);
    const lines = chunks.flatMap((c) => c.messages).map((m) => `${m.taskId}:${new TextDecoder().decode(m.data)}`);
    expect(lines.sort()).toEqual(["t1:hello", "t1:task t1 started", "t2:task t2 started"]);
    expect(chunks.flatMap((c) => c.messages)[0]).toMatchObject({ nodeId: "node-1", serviceId: "svc-1", stream: "stdout" });
  });
});

describe("Agent lifecycle", () => {
  it("stop() clears every timer and leaves containers running", async () => {
    const d = await FakeDispatcher.start();
    const ex = new FakeExecutor();
    const live = new Set<unknown>();
    const clock = {
      now: () => Date.now(),
      setTimeout(fn: () => void, ms: number): unknown {
        const h = setTimeout(() => {
          live.delete(h);
          fn();
        }, ms);
        live.add(h);
        return h;
      },
      clearTimeout(h: unknown): void {
        live.delete(h);
        clearTimeout(h as NodeJS.Timeout);
      },
    };
    d.heartbeatPeriodMs = 10;
    d.tasks.set("t1", testTask("t1"));
    const agent = new Agent({ nodeId: "n", addr: "a", executor: ex, connect: d.connect, clock, backoff: { delay: async () => {} } });
    agent.start();
    await waitUntil(() => agent.tasks()[0]?.status.state === TaskState.RUNNING);
    d.current!.send({ msg: { case: "logSubscription", value: { subscriptionId: "f", taskIds: ["t1"], follow: true } } });
    await waitUntil(() => d.current!.of("logs").length > 0 && d.current!.of("heartbeat").length > 0);
    expect(live.size).toBeGreaterThan(0);
    await agent.stop();
    expect(live.size).toBe(0);
    expect(ex.containers.get("t1")?.info.state).toBe("running");
    expect(ex.calls("shutdown")).toBe(0);
    await d.stop();
  });

  it("follows logs until the subscription is cancelled", async () => {
    const d = await FakeDispatcher.start();
    const ex = new FakeExecutor();
    d.tasks.set("t1", testTask("t1"));
    const agent = new Agent({ nodeId: "n", addr: "a", executor: ex, connect: d.connect, logBatchMs: 5 });
    agent.start();
    await waitUntil(() => agent.tasks()[0]?.status.state === TaskState.RUNNING);
    const s = d.current!;
    s.send({ msg: { case: "logSubscription", value: { subscriptionId: "f", taskIds: ["t1"], follow: true, tail: 1 } } });
    await waitUntil(() => s.of("logs").length === 1);
    ex.appendLog("t1", "later", "stderr");
    await waitUntil(() => s.of("logs").length === 2);
    expect(s.of("logs")[1]!.messages[0]).toMatchObject({ stream: "stderr" });
    expect(s.of("logs").some((c) => c.done)).toBe(false);
    s.send({ msg: { case: "logCancel", value: { subscriptionId: "f" } } });
    await new Promise((r) => setTimeout(r, 20));
    ex.appendLog("t1", "after cancel");
    await new Promise((r) => setTimeout(r, 20));
    expect(s.of("logs")).toHaveLength(2);
    await agent.stop();
    await d.stop();
    ex.dispose();
  });
});

describe("Agent reconnecting to a restarted manager", () => {
  it("backs off while the manager is away and resends statuses to the new one", async () => {
    let d = await FakeDispatcher.start();
    const ex = new FakeExecutor();
    d.tasks.set("t1", testTask("t1"));
    const delays: number[] = [];
    const agent = new Agent({
      nodeId: "n",
      addr: "a",
      executor: ex,
      connect: () => d.connect(),
      backoff: { initialMs: 5, maxMs: 20, jitter: 0, delay: (ms) => (delays.push(ms), new Promise((r) => setTimeout(r, ms))) },
    });
    agent.start();
    await waitUntil(() => agent.tasks()[0]?.status.state === TaskState.RUNNING);
    const old = d;
    await old.stop();
    await waitUntil(() => delays.length >= 3);
    expect(delays.slice(0, 3)).toEqual([5, 10, 20]);
    d = await FakeDispatcher.start();
    d.tasks.set("t1", testTask("t1", { state: TaskState.RUNNING }));
    await waitUntil(() => (d.current?.of("statusUpdates").length ?? 0) >= 1, 5000);
    expect(d.current!.received[0]!.msg.case).toBe("register");
    expect(d.current!.of("statusUpdates")[0]!.updates[0]).toMatchObject({ taskId: "t1", status: { state: TaskState.RUNNING } });
    expect(ex.calls("start")).toBe(1);
    await agent.stop();
    await d.stop();
    ex.dispose();
  });
});
