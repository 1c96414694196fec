import { create } from "@bufbuild/protobuf";
import { NodeRole, NodeSchema, TaskSpecSchema, isTsctlError, type Node } from "@tsctl/api";
import { describe, expect, it } from "vitest";
import { nodeMatches, parseConstraint, parseConstraints, placementPredicate } from "./constraints.js";

const w1 = create(NodeSchema, {
  id: "n1abc",
  role: NodeRole.WORKER,
  spec: { annotations: { name: "w1", labels: { zone: "eu-West", Disk: "ssd", empty: "" } } },
  description: { hostname: "w1", platform: { os: "linux", architecture: "x86_64" } },
});
const m1 = create(NodeSchema, { id: "n2def", role: NodeRole.MANAGER, description: { hostname: "m1" } });
const bare = create(NodeSchema, { id: "n3" });

/** holds parses one expression and tests it on a node. */
const holds = (expr: string, node: Node) => nodeMatches([parseConstraint(expr)], node);

function invalid(expr: string): string {
  try {
    parseConstraint(expr);
  } catch (err) {
    expect(isTsctlError(err, "InvalidArgument")).toBe(true);
    return (err as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(expr)} to be refused`);
}

describe("parseConstraint", () => {
  it("splits key, operator and value, tolerating whitespace", () => {
    expect(parseConstraint("node.hostname==w1")).toMatchObject({ key: "node.hostname", equal: true, value: "w1" });
    expect(parseConstraint("  node.labels.zone   !=  EU west ")).toMatchObject({ key: "node.labels.zone", equal: false, value: "eu west" });
  });

  it("refuses expressions without an operator, in Docker's words", () => {
    for (const e of ["node.role=manager", "node.role", "", "node.role >= manager"]) {
      expect(invalid(e)).toBe("constraint expected one operator from ==, !=");
    }
  });

  it("refuses bad keys and values", () => {
    expect(invalid("== w1")).toBe("key '' is invalid");
    expect(invalid("node hostname == w1")).toBe("key 'node hostname' is invalid");
    expect(invalid("node.hostname ==")).toBe("value '' is invalid");
    expect(invalid("node.hostname == w1==w2")).toBe("value 'w1==w2' is invalid");
    // "==" is looked for first, so the "!" ends up in the key.
    expect(invalid("node.hostname != w1==w2")).toBe("key 'node.hostname != w1' is invalid");
  });

  it("refuses keys that name no node attribute", () => {
    for (const k of ["node.name", "node.lables.zone", "node.labels.", "engine.labels.", "node.ip"]) {
      expect(invalid(`${k}==x`)).toBe(`key '${k}' is invalid`);
    }
  });

  it("parses lists, failing on the first bad entry", () => {
    expect(parseConstraints(["node.role==worker", "node.labels.zone!=us"])).toHaveLength(2);
    expect(parseConstraints([])).toEqual([]);
    expect(() => parseConstraints(["node.role==worker", "bogus"])).toThrow(/expected one operator/);
  });
});

describe("nodeMatches", () => {
  it("matches node.id and node.hostname", () => {
    expect(holds("node.id==n1abc", w1)).toBe(true);
    expect(holds("node.id==n2def", w1)).toBe(false);
    expect(holds("node.hostname==w1", w1)).toBe(true);
    expect(holds("node.hostname!=w1", w1)).toBe(false);
    expect(holds("node.hostname!=w1", m1)).toBe(true);
  });

  it("matches node.role as manager or worker", () => {
    expect(holds("node.role==worker", w1)).toBe(true);
    expect(holds("node.role==manager", w1)).toBe(false);
    expect(holds("node.role==manager", m1)).toBe(true);
    expect(holds("node.role!=manager", m1)).toBe(false);
  });

  it("matches platform os and arch", () => {
    expect(holds("node.platform.os==linux", w1)).toBe(true);
    expect(holds("node.platform.arch==x86_64", w1)).toBe(true);
    expect(holds("node.platform.arch!=aarch64", w1)).toBe(true);
    expect(holds("node.platform.os==linux", bare)).toBe(false);
    expect(holds("node.platform.os!=linux", bare)).toBe(true);
  });

  it("compares values and keys without case, but label names as written", () => {
    expect(holds("NODE.Hostname==W1", w1)).toBe(true);
    expect(holds("node.role==Manager", m1)).toBe(true);
    expect(holds("node.labels.zone==EU-WEST", w1)).toBe(true);
    expect(holds("node.labels.Disk==SSD", w1)).toBe(true);
    expect(holds("node.labels.disk==ssd", w1)).toBe(false);
  });

  it("reads a missing label as empty: == fails, != passes", () => {
    expect(holds("node.labels.rack==r1", w1)).toBe(false);
    expect(holds("node.labels.rack!=r1", w1)).toBe(true);
    expect(holds("node.labels.zone==eu-west", bare)).toBe(false);
    expect(holds("node.labels.zone!=eu-west", bare)).toBe(true);
    expect(holds("node.labels.empty!=x", w1)).toBe(true);
    // Names of Object.prototype members are labels like any other, absent here.
    expect(holds("node.labels.constructor==x", w1)).toBe(false);
    expect(holds("node.labels.constructor!=x", w1)).toBe(true);
  });

  it("treats every engine label as absent", () => {
    expect(holds("engine.labels.os==linux", w1)).toBe(false);
    expect(holds("engine.labels.os!=linux", w1)).toBe(true);
  });

  it("requires every constraint to hold", () => {
    const cs = parseConstraints(["node.role==worker", "node.labels.zone==eu-west"]);
    expect(nodeMatches(cs, w1)).toBe(true);
    expect(nodeMatches(cs, m1)).toBe(false);
    expect(nodeMatches([], bare)).toBe(true);
  });
});

describe("placementPredicate", () => {
  const spec = (constraints: string[]) => create(TaskSpecSchema, { placement: { constraints } });

  it("is undefined without constraints, so callers can skip the check", () => {
    expect(placementPredicate(undefined)).toBeUndefined();
    expect(placementPredicate(spec([]))).toBeUndefined();
  });

  it("tests nodes against the parsed constraints", () => {
    const p = placementPredicate(spec(["node.role==manager"]))!;
    expect([w1, m1, bare].map(p)).toEqual([false, true, false]);
  });

  it("matches no node when stored constraints do not parse", () => {
    const p = placementPredicate(spec(["node.role=manager"]))!;
    expect([w1, m1, bare].map(p)).toEqual([false, false, false]);
  });
});
