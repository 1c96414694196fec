import { availableParallelism, totalmem } from "node:os";
import { describe, expect, it } from "vitest";
import { describeNode, goArch } from "./describe.js";

describe("describeNode", () => {
  it("reports platform in Go naming and resources as Docker does", () => {
    const d = describeNode("n1", "runc version 1.1.5");
    expect(d.hostname).toBe("n1");
    expect(d.platform).toMatchObject({ os: "linux", architecture: goArch() });
    expect(d.resources).toMatchObject({ nanoCpus: availableParallelism() * 1e9, memoryBytes: totalmem() });
    expect(d.engineVersion).toContain("runc version 1.1.5");
    expect([goArch("x64"), goArch("arm64"), goArch("ia32")]).toEqual(["amd64", "arm64", "386"]);
  });
});
