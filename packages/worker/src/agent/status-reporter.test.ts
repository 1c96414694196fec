import { create } from "@bufbuild/protobuf";
import { TaskState, TaskStatusSchema } from "@tsctl/api";
import { describe, expect, it } from "vitest";
import { StatusReporter, type StatusUpdate } from "./status-reporter.js";
import type { Clock } from "./types.js";

/** ManualClock runs timers only when advanced. */
class ManualClock implements Clock {
  t = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private seq = 0;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    this.timers.set(++this.seq, { at: this.t + ms, fn });
    return this.seq;
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }
  advance(ms: number): void {
    this.t += ms;
    for (const [id, timer] of [...this.timers].sort((a, b) => a[1].at - b[1].at)) {
      if (timer.at > this.t) continue;
      this.timers.delete(id);
      timer.fn();
    }
  }
  get pending(): number {
    return this.timers.size;
  }
}

const st = (state: TaskState) => create(TaskStatusSchema, { state });

describe("StatusReporter", () => {
  it("sends the first update on the next tick and coalesces the rest per task within the window", () => {
    const clock = new ManualClock();
    const sent: StatusUpdate[][] = [];
    const r = new StatusReporter(clock, 50);
    r.attach((u) => sent.push(u));
    r.report("a", st(TaskState.ACCEPTED));
    r.report("b", st(TaskState.ACCEPTED));
    clock.advance(0);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.map((u) => u.taskId)).toEqual(["a", "b"]);
    r.report("a", st(TaskState.PREPARING));
    r.report("a", st(TaskState.RUNNING));
    clock.advance(10);
    expect(sent).toHaveLength(1);
    clock.advance(40);
    expect(sent).toHaveLength(2);
    expect(sent[1]!.map((u) => [u.taskId, u.status.state])).toEqual([["a", TaskState.RUNNING]]);
    expect(clock.pending).toBe(0);
  });

  it("keeps updates while detached and resends every task's newest status on attach", () => {
    const clock = new ManualClock();
    const sent: StatusUpdate[][] = [];
    const r = new StatusReporter(clock, 50);
    r.attach((u) => sent.push(u));
    r.report("a", st(TaskState.RUNNING));
    clock.advance(0);
    r.detach();
    r.report("b", st(TaskState.FAILED));
    clock.advance(100);
    expect(sent).toHaveLength(1);
    expect(r.pendingCount).toBe(1);
    r.attach((u) => sent.push(u));
    expect(sent[1]!.map((u) => [u.taskId, u.status.state]).sort()).toEqual([["a", TaskState.RUNNING], ["b", TaskState.FAILED]]);
  });

  it("puts a batch back when the stream refuses it", () => {
    const clock = new ManualClock();
    const r = new StatusReporter(clock, 50);
    r.attach(() => {
      throw new Error("stream closed");
    });
    r.report("a", st(TaskState.RUNNING));
    clock.advance(0);
    expect(r.pendingCount).toBe(1);
    const sent: StatusUpdate[][] = [];
    r.attach((u) => sent.push(u));
    expect(sent).toHaveLength(1);
    r.forget("a");
    r.detach();
    r.attach((u) => sent.push(u));
    expect(sent).toHaveLength(1);
  });
});
