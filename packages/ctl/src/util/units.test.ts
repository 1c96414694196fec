import { describe, expect, it } from "vitest";
import { FlagValueError } from "../errors.js";
import { flagValue, parseDurationMs, parseInt64, parseNanoCpus, parseRamBytes, parseUint } from "./units.js";

describe("parseRamBytes", () => {
  it("reads 1024-based sizes with optional b / ib suffix and decimals", () => {
    expect(parseRamBytes("64M")).toBe(64 * 1024 * 1024);
    expect(parseRamBytes("64mb")).toBe(64 * 1024 * 1024);
    expect(parseRamBytes("1.5g")).toBe(1.5 * 1024 ** 3);
    expect(parseRamBytes("512")).toBe(512);
    expect(parseRamBytes("2KiB")).toBe(2048);
    expect(parseRamBytes("1 t")).toBe(1024 ** 4);
  });
  it("rejects unknown units with Docker's wording through flagValue", () => {
    expect(() => flagValue("--limit-memory", "12XB", parseRamBytes)).toThrow(FlagValueError);
    try {
      flagValue("--limit-memory", "12XB", parseRamBytes);
    } catch (err) {
      expect((err as FlagValueError).reason).toBe("invalid size: '12XB'");
    }
  });
});

describe("parseDurationMs", () => {
  it("reads Go durations", () => {
    expect(parseDurationMs("1m30s")).toBe(90_000);
    expect(parseDurationMs("500ms")).toBe(500);
    expect(parseDurationMs("1.5h")).toBe(5_400_000);
    expect(parseDurationMs("0")).toBe(0);
    expect(parseDurationMs("10us")).toBeCloseTo(0.01);
  });
  it("reports Go's errors", () => {
    expect(() => parseDurationMs("5")).toThrow('time: missing unit in duration "5"');
    expect(() => parseDurationMs("5x")).toThrow('time: unknown unit "x" in duration "5x"');
    expect(() => parseDurationMs("")).toThrow('time: invalid duration ""');
    expect(() => parseDurationMs("s")).toThrow('time: invalid duration "s"');
  });
});

describe("numbers", () => {
  it("parses CPUs as nano CPUs", () => {
    expect(parseNanoCpus("0.5")).toBe(500_000_000);
    expect(parseNanoCpus("2")).toBe(2_000_000_000);
    expect(() => parseNanoCpus("abc")).toThrow("failed to parse abc as a rational number");
    expect(() => parseNanoCpus("0.0000000001")).toThrow("value is too precise");
  });
  it("parses unsigned and signed integers like strconv", () => {
    expect(parseUint("3")).toBe(3);
    expect(() => parseUint("-1")).toThrow('strconv.ParseUint: parsing "-1": invalid syntax');
    expect(parseInt64("-5")).toBe(-5);
    expect(() => parseInt64("x")).toThrow('strconv.ParseInt: parsing "x": invalid syntax');
  });
});
