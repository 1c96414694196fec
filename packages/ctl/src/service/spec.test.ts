import { create } from "@bufbuild/protobuf";
import { RestartCondition, ServiceSchema, ServiceSpecSchema } from "@tsctl/api";
import { describe, expect, it } from "vitest";
import { FlagValueError, UsageError } from "../errors.js";
import { dockerSpec, prettyService } from "./inspect.js";
import { applyServiceUpdate, buildServiceSpec, withReplicas } from "./spec.js";

describe("buildServiceSpec", () => {
  it("puts IMAGE's command and args in Args and --entrypoint in Command", () => {
    const spec = buildServiceSpec({ name: "web", entrypoint: "sh -c" }, "busybox", ["sleep", "100"], {});
    const c = spec.task?.container;
    expect(spec.annotations?.name).toBe("web");
    expect(c?.image).toBe("busybox");
    expect(c?.args).toEqual(["sleep", "100"]);
    expect(c?.command).toEqual(["sh", "-c"]);
    expect(spec.mode).toEqual({ case: "replicated", value: expect.objectContaining({ replicas: 1 }) });
  });

  it("converts every resource, restart and container flag", () => {
    const spec = buildServiceSpec(
      {
        replicas: "3",
        env: ["A=1"],
        label: ["tier=web"],
        containerLabel: ["x=y"],
        limitCpu: "0.5",
        limitMemory: "64M",
        limitPids: "100",
        reserveCpu: "0.25",
        reserveMemory: "32m",
        restartCondition: "on-failure",
        restartDelay: "5s",
        restartMaxAttempts: "3",
        restartWindow: "1m",
        stopGracePeriod: "10s",
        readOnly: true,
        init: true,
        workdir: "/srv",
        user: "nobody",
        hostname: "h",
        constraint: ["node.role==manager"],
        replicasMaxPerNode: "1",
      },
      "nginx",
      [],
      {},
    );
    const t = spec.task!;
    expect(spec.mode.case === "replicated" && spec.mode.value.replicas).toBe(3);
    expect(spec.annotations?.labels).toEqual({ tier: "web" });
    expect(t.container).toMatchObject({ env: ["A=1"], labels: { x: "y" }, readOnly: true, init: true, dir: "/srv", user: "nobody", hostname: "h", stopGracePeriodMs: 10_000 });
    expect(t.resources?.limits).toMatchObject({ nanoCpus: 500_000_000, memoryBytes: 64 * 1024 * 1024, pids: 100 });
    expect(t.resources?.reservations).toMatchObject({ nanoCpus: 250_000_000, memoryBytes: 32 * 1024 * 1024 });
    expect(t.restart).toMatchObject({ condition: RestartCondition.ON_FAILURE, delayMs: 5000, maxAttempts: 3, windowMs: 60_000 });
    expect(t.placement).toMatchObject({ constraints: ["node.role==manager"], maxReplicas: 1 });
  });

  it("leaves the restart policy unset when no restart flag is given", () => {
    expect(buildServiceSpec({}, "busybox", [], {}).task?.restart).toBeUndefined();
  });

  it("reports bad values against their flag", () => {
    expect(() => buildServiceSpec({ limitMemory: "12XB" }, "i", [], {})).toThrow(FlagValueError);
    expect(() => buildServiceSpec({ replicas: "-1" }, "i", [], {})).toThrow(/ParseUint/);
    expect(() => buildServiceSpec({ restartCondition: "sometimes" }, "i", [], {})).toThrow(FlagValueError);
    expect(() => buildServiceSpec({ mode: "global", replicas: "2" }, "i", [], {})).toThrow(UsageError);
  });

  it("builds global services", () => {
    expect(buildServiceSpec({ mode: "global" }, "i", [], {}).mode.case).toBe("global");
  });
});

describe("applyServiceUpdate", () => {
  const base = buildServiceSpec({ name: "web", replicas: "2", env: ["A=1", "B=2"], label: ["k=v"] }, "busybox:1", [], {});

  it("changes only what the flags name, on a copy", () => {
    const next = applyServiceUpdate(base, { image: "busybox:2", envAdd: ["C=3"], envRm: ["A"], labelRm: ["k"], limitMemory: "1g", force: true }, {});
    expect(next.task?.container?.image).toBe("busybox:2");
    expect(next.task?.container?.env).toEqual(["B=2", "C=3"]);
    expect(next.annotations?.labels).toEqual({});
    expect(next.task?.resources?.limits?.memoryBytes).toBe(1024 ** 3);
    expect(next.task?.forceUpdate).toBe(1);
    expect(next.mode.case === "replicated" && next.mode.value.replicas).toBe(2);
    expect(base.task?.container?.image).toBe("busybox:1");
  });

  it("scales replicated services only", () => {
    const scaled = withReplicas(base, 5, "web");
    expect(scaled.mode.case === "replicated" && scaled.mode.value.replicas).toBe(5);
    const global = create(ServiceSpecSchema, { mode: { case: "global", value: {} } });
    expect(() => withReplicas(global, 5, "g")).toThrow(/replicated mode/);
  });
});

describe("placement preferences", () => {
  const descriptors = (spec: ReturnType<typeof buildServiceSpec>) => spec.task?.placement?.preferences.map((p) => p.spreadDescriptor);
  const zoned = buildServiceSpec({ name: "web", placementPref: ["spread=node.labels.zone", " spread = node.labels.rack "] }, "busybox", [], {});

  it("reads --placement-pref spread=<descriptor>, in order", () => {
    expect(descriptors(zoned)).toEqual(["node.labels.zone", "node.labels.rack"]);
  });

  it("refuses other strategies and empty descriptors against the flag", () => {
    for (const bad of ["node.labels.zone", "pack=node.labels.zone", "spread=", "=node.labels.zone"]) {
      let err: unknown;
      try {
        buildServiceSpec({ placementPref: [bad] }, "i", [], {});
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(FlagValueError);
      expect(err).toMatchObject({ flag: "--placement-pref", value: bad, reason: `invalid placement preference: ${bad} (want spread=node.labels.<key>)` });
    }
  });

  it("removes with --placement-pref-rm, then appends --placement-pref-add once", () => {
    const next = applyServiceUpdate(zoned, { placementPrefRm: ["spread=node.labels.zone"], placementPrefAdd: ["spread=node.labels.rack", "spread=node.labels.zone", "spread=node.labels.dc"] }, {});
    expect(descriptors(next)).toEqual(["node.labels.rack", "node.labels.zone", "node.labels.dc"]);
    expect(descriptors(zoned)).toEqual(["node.labels.zone", "node.labels.rack"]);
    expect(() => applyServiceUpdate(zoned, { placementPrefAdd: ["zone"] }, {})).toThrow(FlagValueError);
  });

  it("shows them in inspect the way Docker does", () => {
    expect(dockerSpec(zoned)).toMatchObject({
      TaskTemplate: { Placement: { Preferences: [{ Spread: { SpreadDescriptor: "node.labels.zone" } }, { Spread: { SpreadDescriptor: "node.labels.rack" } }] } },
    });
    expect((dockerSpec(buildServiceSpec({}, "i", [], {})).TaskTemplate as Record<string, unknown>)["Placement"]).toBeUndefined();
    const pretty = prettyService(create(ServiceSchema, { id: "s1", spec: zoned }));
    expect(pretty).toContain("Placement:\n Preferences:   [spread=node.labels.zone spread=node.labels.rack]\n");
  });
});
