import { X509Certificate } from "node:crypto";
import { grpc, type CallContext } from "@tsctl/api";
import { createCsr, createRootCa, issueNodeCertificate, type RootCa } from "@tsctl/manager";
import { describe, expect, it } from "vitest";
import { PeerVerifier } from "./peer-identity.js";

async function certFor(ca: RootCa, nodeId: string, role: "manager" | "worker", clusterId = "c1", validityMs = 3600_000): Promise<Buffer> {
  const { csrPem } = await createCsr();
  const pem = await issueNodeCertificate(ca, { csrPem, nodeId, role, clusterId, ips: ["127.0.0.1"], validityMs });
  return new X509Certificate(pem).raw;
}

function ctx(peerCertificate?: Buffer): CallContext {
  return { metadata: new grpc.Metadata(), signal: new AbortController().signal, peer: "test", peerCertificate };
}

describe("PeerVerifier", () => {
  it("identifies nodes by their certificate and enforces the manager role", async () => {
    const ca = await createRootCa({ clusterId: "c1" });
    const v = new PeerVerifier(() => ca.certPem, () => "c1");
    const worker = await certFor(ca, "w1", "worker");
    const manager = await certFor(ca, "m1", "manager");
    expect(v.identify(ctx(worker))).toMatchObject({ nodeId: "w1", role: "worker" });
    expect(v.require(ctx(manager), "manager", "x")).toMatchObject({ nodeId: "m1" });
    expect(() => v.require(ctx(worker), "manager", "the Control API")).toThrow(/the Control API needs a manager certificate; node w1 is a worker/);
  });

  it("refuses a missing certificate, another CA's, another cluster's and an expired one", async () => {
    const ca = await createRootCa({ clusterId: "c1" });
    const other = await createRootCa({ clusterId: "c1" });
    let now = Date.now();
    const v = new PeerVerifier(() => ca.certPem, () => "c1", () => now);
    expect(() => v.identify(ctx())).toThrow(/certificate of this swarm is required/);
    const foreign = await certFor(other, "m9", "manager");
    const otherCluster = await certFor(ca, "m8", "manager", "c2");
    expect(() => v.identify(ctx(foreign))).toThrow(/not issued by this swarm's CA/);
    expect(() => v.identify(ctx(otherCluster))).toThrow(/another swarm/);
    const shortLived = await certFor(ca, "w2", "worker", "c1", 60_000);
    expect(v.identify(ctx(shortLived)).nodeId).toBe("w2");
    now += 120_000;
    expect(() => v.identify(ctx(shortLived))).toThrow(/expired/);
  });
});
