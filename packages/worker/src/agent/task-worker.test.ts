import { TaskState, type TaskStatus } from "@tsctl/api";
import { afterEach, describe, expect, it } from "vitest";
import { FakeExecutor } from "../fake/index.js";
import { waitUntil } from "./fake-dispatcher.js";
import { TaskWorker } from "./task-worker.js";
import { testTask, withDesired } from "./test-tasks.js";
import { realClock, silentLogger } from "./types.js";
import type { Task } from "@tsctl/api";

describe("TaskWorker", () => {
  let ex: FakeExecutor;
  let reports: TaskStatus[];
  let workers: TaskWorker[];

  function work(task: Task): TaskWorker {
    const w = new TaskWorker(task, ex.controller(task), {
      report: (_, s) => reports.push(s),
      clock: realClock,
      logger: silentLogger,
      retryMs: 10,
    });
    workers.push(w);
    return w;
  }
  const states = (): TaskState[] => reports.map((r) => r.state);
  const last = (): TaskStatus | undefined => reports.at(-1);
  const reached = (s: TaskState) => waitUntil(() => last()?.state === s, 2000, TaskState[s]);

  afterEach(async () => {
    await Promise.all(workers.map((w) => w.close()));
    ex.dispose();
  });
  function setup(): void {
    ex = new FakeExecutor();
    reports = [];
    workers = [];
  }

  it("runs a task ACCEPTED → RUNNING, then FAILED when the container crashes", async () => {
    setup();
    work(testTask("t1"));
    await reached(TaskState.RUNNING);
    expect(states()).toEqual([TaskState.ACCEPTED, TaskState.PREPARING, TaskState.READY, TaskState.STARTING, TaskState.RUNNING]);
    expect(reports.map((r) => r.message)).toEqual(["accepted", "preparing", "prepared", "starting", "started"]);
    expect(last()?.container).toMatchObject({ containerId: "t1" });
    expect(last()?.container?.pid).toBeGreaterThan(0);
    ex.crash("t1", 137);
    await reached(TaskState.FAILED);
    expect(last()).toMatchObject({ err: "non-zero exit (137)", container: { exitCode: 137 } });
  });

  it("reports COMPLETE on exit 0", async () => {
    setup();
    work(testTask("t1", { labels: { "tsctl.fake.exit-after-ms": "1" } }));
    await reached(TaskState.COMPLETE);
    expect(last()?.message).toBe("finished");
  });

  it("rejects when prepare fails and fails when start fails", async () => {
    setup();
    work(testTask("bad", { image: "bad" }));
    work(testTask("nostart", { labels: { "tsctl.fake.start-error": "exec format error" } }));
    await waitUntil(() => reports.some((r) => r.state === TaskState.REJECTED) && reports.some((r) => r.state === TaskState.FAILED));
    expect(reports.find((r) => r.state === TaskState.REJECTED)?.err).toBe("No such image: bad");
    expect(reports.find((r) => r.state === TaskState.FAILED)?.err).toBe("exec format error");
  });

  it("shuts down when the desired state passes RUNNING, with the task's grace period", async () => {
    setup();
    const t = testTask("t1", { stopGracePeriodMs: 1234 });
    const w = work(t);
    await reached(TaskState.RUNNING);
    w.update(withDesired(t, TaskState.SHUTDOWN));
    await reached(TaskState.SHUTDOWN);
    expect(last()?.message).toBe("shutdown");
    expect(ex.calls("shutdown", "t1")).toBe(1);
    expect((await ex.controller(t).inspect())?.state).toBe("exited");
  });

  it("holds a prepared task while the desired state is READY", async () => {
    setup();
    const t = testTask("t1", { desired: TaskState.READY });
    const w = work(t);
    await reached(TaskState.READY);
    await new Promise((r) => setTimeout(r, 20));
    expect(ex.calls("start")).toBe(0);
    w.update(withDesired(t, TaskState.RUNNING));
    await reached(TaskState.RUNNING);
  });

  it("removes the container when the task is removed, and leaves it when closed", async () => {
    setup();
    const a = work(testTask("a"));
    const b = work(testTask("b"));
    await waitUntil(() => reports.filter((r) => r.state === TaskState.RUNNING).length === 2);
    await a.remove();
    await b.close();
    expect(ex.calls("remove", "a")).toBe(1);
    expect(ex.containers.has("a")).toBe(false);
    expect(ex.containers.get("b")?.info.state).toBe("running");
  });

  it("re-adopts a running container without preparing or starting it", async () => {
    setup();
    const t = testTask("t1", { state: TaskState.RUNNING });
    ex.seed(t, "running");
    work(t);
    await reached(TaskState.RUNNING);
    expect(ex.calls("prepare")).toBe(0);
    expect(ex.calls("start")).toBe(0);
    ex.crash("t1", 2);
    await reached(TaskState.FAILED);
  });

  it("reports the exit of a container that ended while tsd was down", async () => {
    setup();
    const t = testTask("t1", { state: TaskState.RUNNING });
    ex.seed(t, "exited", 0);
    work(t);
    await reached(TaskState.COMPLETE);
    expect(ex.calls("start")).toBe(0);
  });

  it("never reports a state lower than the manager already knows", async () => {
    setup();
    const t = testTask("t1", { state: TaskState.STARTING });
    work(t);
    await reached(TaskState.RUNNING);
    expect(states()).toEqual([TaskState.RUNNING]);
  });
});
