import { create } from "@bufbuild/protobuf";
import { PlacementSchema, ServiceSpecSchema, isTsctlError, type ServiceSpec } from "@tsctl/api";
import { describe, expect, it } from "vitest";
import { validateName, validateServiceSpec } from "./validate-spec.js";

function spec(overrides: Partial<{ name: string; image: string; memory: number; reserveMemory: number; env: string[] }> = {}): ServiceSpec {
  return create(ServiceSpecSchema, {
    annotations: { name: overrides.name ?? "web" },
    task: {
      container: { image: overrides.image ?? "busybox:latest", env: overrides.env ?? [] },
      resources: { limits: { memoryBytes: overrides.memory ?? 0 }, reservations: { memoryBytes: overrides.reserveMemory ?? 0 } },
    },
    mode: { case: "replicated", value: { replicas: 1 } },
  });
}

function invalid(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    expect(isTsctlError(err, "InvalidArgument")).toBe(true);
    return (err as Error).message;
  }
  throw new Error("expected InvalidArgument");
}

describe("validateServiceSpec", () => {
  it("accepts a plain spec", () => {
    expect(() => validateServiceSpec(spec())).not.toThrow();
  });

  it("names the bad field", () => {
    expect(invalid(() => validateServiceSpec(spec({ image: "" })))).toMatch(/image reference must be provided/);
    expect(invalid(() => validateServiceSpec(spec({ image: "bad image" })))).toMatch(/not a valid image reference/);
    expect(invalid(() => validateServiceSpec(spec({ memory: 1024 })))).toMatch(/Minimum memory limit allowed is 6MB/);
    expect(invalid(() => validateServiceSpec(spec({ memory: 64 << 20, reserveMemory: 128 << 20 })))).toMatch(/reservation must not exceed/);
    expect(invalid(() => validateServiceSpec(spec({ env: ["=x"] })))).toMatch(/invalid environment variable "=x"/);
    expect(invalid(() => validateServiceSpec(undefined))).toMatch(/spec must be provided/);
  });

  it("refuses bad placement constraints before they are stored", () => {
    const withConstraints = (constraints: string[]) => {
      const s = spec();
      s.task!.placement = create(PlacementSchema, { constraints });
      return s;
    };
    expect(() => validateServiceSpec(withConstraints(["node.role == manager", "node.labels.zone!=eu"]))).not.toThrow();
    expect(invalid(() => validateServiceSpec(withConstraints(["node.role=manager"])))).toBe("constraint expected one operator from ==, !=");
    expect(invalid(() => validateServiceSpec(withConstraints(["node.lables.zone==eu"])))).toBe("key 'node.lables.zone' is invalid");
  });

  it("refuses placement preferences other than spread=node.labels.<key>", () => {
    const withPreferences = (descriptors: string[]) => {
      const s = spec();
      s.task!.placement = create(PlacementSchema, { preferences: descriptors.map((spreadDescriptor) => ({ spreadDescriptor })) });
      return s;
    };
    expect(() => validateServiceSpec(withPreferences(["node.labels.zone", "node.labels.rack"]))).not.toThrow();
    expect(invalid(() => validateServiceSpec(withPreferences(["node.labels.zone", "node.hostname"])))).toBe(
      "invalid placement preference: spread=node.hostname (want spread=node.labels.<key>)",
    );
    expect(invalid(() => validateServiceSpec(withPreferences(["engine.labels.zone"])))).toBe(
      "invalid placement preference: spread=engine.labels.zone: tsctl nodes have no engine labels (want spread=node.labels.<key>)",
    );
  });

  it("requires a mode", () => {
    const s = spec();
    s.mode = { case: undefined };
    expect(invalid(() => validateServiceSpec(s))).toMatch(/mode/);
  });
});

describe("validateName", () => {
  it.each(["web", "web-1", "a.b_c", "A1"])("accepts %s", (n) => expect(() => validateName("service", n)).not.toThrow());
  it.each(["", "-web", "web-", "we b", "x".repeat(64), "web/1"])("rejects %j", (n) => {
    expect(invalid(() => validateName("service", n))).toMatch(/service name/);
  });
});
