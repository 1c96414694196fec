import { create } from "@bufbuild/protobuf";
import { TaskSchema, TaskState, type Task } from "@tsctl/api";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { computeProgress, progressBar, slotLine } from "./progress.js";
import { currentState, taskRows } from "./tasks.js";

const now = 1_000_000_000;

function task(id: string, slot: number, created: number, state: TaskState, extra: MessageInitShape<typeof TaskSchema> = {}): Task {
  const init = {
    id,
    serviceName: "web",
    serviceId: "svc",
    slot,
    nodeId: "node1",
    desiredState: state <= TaskState.RUNNING ? TaskState.RUNNING : TaskState.SHUTDOWN,
    meta: { createdAtMs: created, updatedAtMs: created },
    spec: { container: { image: "busybox@sha256:abcdef" } },
    status: { state, timestampMs: created },
    ...extra,
  } as MessageInitShape<typeof TaskSchema>;
  return create(TaskSchema, init);
}

describe("taskRows", () => {
  it("orders by slot then newest first, marking history rows", () => {
    const rows = taskRows(
      [
        task("t2old00000000000", 2, now - 60_000, TaskState.FAILED, { status: { state: TaskState.FAILED, timestampMs: now - 120_000, err: "non-zero exit (137)" } }),
        task("t1aaaaaaaaaaaaaa", 1, now - 3000, TaskState.RUNNING),
        task("t2new00000000000", 2, now - 1000, TaskState.RUNNING),
      ],
      { hostnames: new Map([["node1", "host-a"]]), nowMs: now, noTrunc: false },
    );
    expect(rows.map((r) => r.Name)).toEqual(["web.1", "web.2", " \\_ web.2"]);
    expect(rows[0]).toMatchObject({ ID: "t1aaaaaaaaaa", Image: "busybox", Node: "host-a", DesiredState: "Running", CurrentState: "Running 3 seconds ago", Error: "" });
    expect(rows[2]).toMatchObject({ DesiredState: "Shutdown", CurrentState: "Failed 2 minutes ago", Error: '"non-zero exit (137)"' });
  });

  it("names global tasks by node and truncates long errors", () => {
    const g = task("g1", 0, now, TaskState.FAILED, { nodeId: "nodeX", status: { state: TaskState.FAILED, err: "x".repeat(40) } });
    const [row] = taskRows([g], { hostnames: new Map(), nowMs: now, noTrunc: false });
    expect(row?.Name).toBe("web.nodeX");
    expect(row?.Error).toBe(`"${"x".repeat(29)}…"`);
  });

  it("says less than a second for fresh states", () => {
    expect(currentState(task("a", 1, now, TaskState.PENDING), now)).toBe("Pending less than a second ago");
  });
});

describe("progress", () => {
  it("draws Docker's bars", () => {
    expect(progressBar(TaskState.RUNNING)).toBe(`[${"=".repeat(50)}>]`);
    expect(slotLine("1/3", task("a", 1, now, TaskState.RUNNING))).toBe(`1/3: running   [${"=".repeat(50)}>]`);
    expect(progressBar(TaskState.NEW)).toBe(`[=====>${" ".repeat(45)}]`);
  });

  it("converges when every slot runs", () => {
    const tasks = [task("a", 1, now, TaskState.RUNNING), task("b", 2, now, TaskState.STARTING)];
    const p = computeProgress({ replicas: 2 }, tasks);
    expect(p.lines[0]).toBe("overall progress: 1 out of 2 tasks");
    expect(p.converged).toBe(false);
    expect(computeProgress({ replicas: 2 }, [...tasks, task("c", 2, now + 1, TaskState.RUNNING)]).converged).toBe(true);
  });

  it("shows a failed slot's error and ignores tasks older than the spec change", () => {
    const failed = task("a", 1, now, TaskState.FAILED, { desiredState: TaskState.RUNNING, status: { state: TaskState.FAILED, err: "boom" } });
    expect(computeProgress({ replicas: 1 }, [failed]).lines[1]).toBe("1/1: failed    boom");
    const old = task("b", 1, now, TaskState.RUNNING, { specVersion: 1 });
    expect(computeProgress({ replicas: 1, minSpecVersion: 2, minCreatedMs: now + 1 }, [old]).converged).toBe(false);
    expect(computeProgress({ replicas: 1, minSpecVersion: 1 }, [old]).converged).toBe(true);
  });

  it("counts global services per node", () => {
    const p = computeProgress({ replicas: undefined }, [task("a", 0, now, TaskState.RUNNING, { nodeId: "n1" }), task("b", 0, now, TaskState.PENDING, { nodeId: "n2" })]);
    expect(p.lines[0]).toBe("overall progress: 1 out of 2 tasks");
    expect(p.converged).toBe(false);
    expect(computeProgress({ replicas: undefined }, []).converged).toBe(false);
  });
});
