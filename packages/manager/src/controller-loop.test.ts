import { describe, expect, it } from "vitest";
import { FakeClock } from "./clock.js";
import { ControllerLoop } from "./controller-loop.js";

const tick = () => new Promise((r) => setImmediate(r));

function harness(pass: (full: boolean) => Promise<number | undefined> = async () => undefined) {
  const clock = new FakeClock();
  const calls: boolean[] = [];
  const logs: string[] = [];
  const loop = new ControllerLoop({
    name: "test",
    clock,
    resyncMs: 10_000,
    retryMs: 500,
    log: (m) => logs.push(m),
    pass: (full) => {
      calls.push(full);
      return pass(full);
    },
  });
  return { clock, calls, logs, loop };
}

describe("ControllerLoop", () => {
  it("starts with a full pass and merges a burst of kicks into one pass", async () => {
    const { calls, loop } = harness();
    loop.start();
    await loop.idle();
    for (let i = 0; i < 100; i++) loop.kick();
    await loop.idle();
    expect(calls).toEqual([true, false]);
    await loop.stop();
  });

  it("runs passes one at a time; kicks during a pass cause exactly one more", async () => {
    let release!: () => void;
    let inFlight = 0;
    let maxInFlight = 0;
    const { calls, loop } = harness(async () => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      if (calls.length === 1) await new Promise<void>((r) => (release = r));
      inFlight--;
      return undefined;
    });
    loop.start();
    await tick();
    loop.kick();
    loop.kick(true);
    release();
    await loop.idle();
    expect(calls).toEqual([true, true]);
    expect(maxInFlight).toBe(1);
    await loop.stop();
  });

  it("resyncs periodically and wakes at the time a pass asked for", async () => {
    const { clock, calls, loop } = harness(async () => (calls.length === 1 ? clock.now() + 3_000 : undefined));
    loop.start();
    await loop.idle();
    clock.advance(2_999);
    await loop.idle();
    expect(calls.length).toBe(1);
    clock.advance(1);
    await loop.idle();
    expect(calls.length).toBe(2);
    clock.advance(7_000);
    await loop.idle();
    expect(calls).toEqual([true, true, true]);
    await loop.stop();
  });

  it("retries a failed pass after the retry delay", async () => {
    const { clock, calls, logs, loop } = harness(async () => {
      if (calls.length === 1) throw new Error("store unavailable");
      return undefined;
    });
    loop.start();
    await loop.idle();
    expect(logs).toEqual(["test: pass failed: store unavailable"]);
    clock.advance(500);
    await loop.idle();
    expect(calls).toEqual([true, true]);
    await loop.stop();
  });

  it("stop waits for the pass in flight, cancels timers, and ignores later kicks", async () => {
    let finished = false;
    const { clock, calls, loop } = harness(async () => {
      await tick();
      finished = true;
      return clock.now() + 1_000;
    });
    loop.start();
    await tick();
    await loop.stop();
    expect(finished).toBe(true);
    expect(clock.pending).toBe(0);
    loop.kick();
    clock.advance(60_000);
    await tick();
    expect(calls.length).toBe(1);
  });
});
