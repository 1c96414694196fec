import { describe, expect, it } from "vitest";
import { DEFAULT_PATH, mergeEnv, processArgs } from "./process-spec.js";

describe("processArgs (Docker's ENTRYPOINT/CMD rule)", () => {
  const image = { Entrypoint: ["/entry"], Cmd: ["--default"] };
  it("uses image ENTRYPOINT + CMD by default", () => {
    expect(processArgs({ command: [], args: [] }, image)).toEqual(["/entry", "--default"]);
  });
  it("args replace CMD only", () => {
    expect(processArgs({ command: [], args: ["x"] }, image)).toEqual(["/entry", "x"]);
  });
  it("command replaces ENTRYPOINT and drops the image CMD", () => {
    expect(processArgs({ command: ["sh"], args: [] }, image)).toEqual(["sh"]);
    expect(processArgs({ command: ["sh"], args: ["-c", "true"] }, image)).toEqual(["sh", "-c", "true"]);
  });
  it("CMD alone when the image has no ENTRYPOINT", () => {
    expect(processArgs({ command: [], args: [] }, { Entrypoint: null, Cmd: ["sh"] })).toEqual(["sh"]);
  });
  it("rejects an empty command", () => {
    expect(() => processArgs({ command: [], args: [] }, {})).toThrow("no command specified");
  });
});

describe("mergeEnv", () => {
  it("defaults PATH and HOSTNAME, later lists win in place, new keys append", () => {
    expect(mergeEnv("h1", ["A=1", "B=2"], ["B=3", "C=4", "BARE"])).toEqual([`PATH=${DEFAULT_PATH}`, "HOSTNAME=h1", "A=1", "B=3", "C=4"]);
  });
  it("keeps the image's PATH", () => {
    expect(mergeEnv("h", ["PATH=/x"], null)[0]).toBe("PATH=/x");
  });
});
