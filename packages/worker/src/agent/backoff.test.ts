import { describe, expect, it } from "vitest";
import { Backoff, sleep } from "./backoff.js";
import { realClock } from "./types.js";

describe("Backoff", () => {
  it("grows exponentially up to the cap, jitter removes part of each delay, reset starts over", () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.5, random: () => 0 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 800, 1000, 1000]);
    b.reset();
    expect(b.next()).toBe(100);
    const j = new Backoff({ initialMs: 100, jitter: 0.5, random: () => 1 });
    expect(j.next()).toBe(50);
  });

  it("sleep rejects when aborted", async () => {
    const ac = new AbortController();
    const p = sleep(realClock, 10_000, ac.signal);
    ac.abort(new Error("stop"));
    await expect(p).rejects.toThrow("stop");
  });
});
