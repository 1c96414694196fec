import { describe, expect, it } from "vitest";
import { bytesSize, ellipsis, humanDuration, humanSize } from "./human.js";
import { mergeEnv, parseEnv, parseLabels, splitShellWords } from "./kv.js";

describe("humanDuration", () => {
  it.each([
    [0, "Less than a second"],
    [1000, "1 second"],
    [45_000, "45 seconds"],
    [60_000, "About a minute"],
    [119_000, "About a minute"],
    [30 * 60_000, "30 minutes"],
    [3_600_000, "About an hour"],
    [5 * 3_600_000, "5 hours"],
    [3 * 86_400_000, "3 days"],
    [21 * 86_400_000, "3 weeks"],
    [90 * 86_400_000, "3 months"],
    [3 * 365 * 86_400_000, "3 years"],
  ])("%d ms is %s", (ms, text) => expect(humanDuration(ms)).toBe(text));
});

describe("sizes and text", () => {
  it("formats sizes like go-units", () => {
    expect(humanSize(4_260_000)).toBe("4.26MB");
    expect(humanSize(999)).toBe("999B");
    expect(humanSize(1_234_567_890)).toBe("1.23GB");
    expect(bytesSize(64 * 1024 * 1024)).toBe("64MiB");
  });
  it("truncates with an ellipsis", () => {
    expect(ellipsis("sleep 1000000000000000", 20)).toBe("sleep 1000000000000…");
    expect(ellipsis("short", 20)).toBe("short");
  });
});

describe("key/value flags", () => {
  it("takes bare env keys from the caller's environment", () => {
    expect(parseEnv("A=1", {})).toBe("A=1");
    expect(parseEnv("HOME", { HOME: "/root" })).toBe("HOME=/root");
    expect(parseEnv("NOPE", {})).toBe("NOPE");
  });
  it("parses labels and merges env updates", () => {
    expect(parseLabels(["a=b", "c", "d=e=f"])).toEqual({ a: "b", c: "", "d": "e=f" });
    expect(mergeEnv(["A=1", "B=2"], ["B=3", "C=4"], ["A"])).toEqual(["B=3", "C=4"]);
  });
  it("splits shell words", () => {
    expect(splitShellWords(`sh -c 'echo "hi there"' a\\ b`)).toEqual(["sh", "-c", 'echo "hi there"', "a b"]);
  });
});
