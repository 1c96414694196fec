import { X509Certificate } from "node:crypto";
import { isTsctlError } from "@tsctl/api";
import { beforeAll, describe, expect, it } from "vitest";
import { certificateNeedsRenewal, isIssuedBy, parseNodeCertificate } from "./node-cert.js";
import { createRootCa, type RootCa } from "./root-ca.js";
import { issueTestNode, selfSignedCertificate } from "./testing.js";

const hour = 3600 * 1000;
let ca: RootCa;
let sameNameCa: RootCa;
beforeAll(async () => {
  [ca, sameNameCa] = await Promise.all([createRootCa({ clusterId: "cluster-a" }), createRootCa({ clusterId: "cluster-a" })]);
});

function expectNotNodeCertificate(f: () => unknown): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(isTsctlError(err, "PermissionDenied"), `expected PermissionDenied, got ${String(err)}`).toBe(true);
  expect((err as Error).message).toBe("certificate is not a tsctl node certificate");
}

describe("parseNodeCertificate", () => {
  it("reads node id, role, cluster and validity from PEM and from DER", async () => {
    const now = Date.UTC(2032, 0, 1);
    const { certPem } = await issueTestNode(ca, { nodeId: "n-7", role: "manager", clusterId: "cluster-a", validityMs: 2 * hour, now });
    const want = {
      nodeId: "n-7",
      role: "manager",
      clusterId: "cluster-a",
      notBefore: new Date(now - 5 * 60 * 1000),
      notAfter: new Date(now + 2 * hour),
    };
    expect(parseNodeCertificate(certPem)).toEqual(want);
    // TLS hands out peer certificates as DER; a slice of a larger buffer is how they often arrive.
    const der = new X509Certificate(certPem).raw;
    const inPool = Buffer.concat([Buffer.from("junk"), der]).subarray(4);
    expect(parseNodeCertificate(inPool)).toEqual(want);

    const worker = await issueTestNode(ca, { nodeId: "w-1", role: "worker", clusterId: "cluster-a" });
    expect(parseNodeCertificate(worker.certPem)).toMatchObject({ nodeId: "w-1", role: "worker" });
  });

  it("rejects the CA certificate, which carries no OU", () => {
    expectNotNodeCertificate(() => parseNodeCertificate(ca.certPem));
  });

  it("rejects certificates without one of our OUs, or without CN or O", async () => {
    const foreign: Record<string, string[]>[][] = [
      [{ CN: ["n1"] }, { O: ["cluster-a"] }],
      [{ CN: ["n1"] }, { OU: ["ops"] }, { O: ["cluster-a"] }],
      [{ OU: ["tsctl-worker"] }, { O: ["cluster-a"] }],
      [{ CN: ["n1"] }, { OU: ["tsctl-worker"] }],
      [{ CN: ["n1"] }, { OU: ["tsctl-worker"] }, { OU: ["tsctl-manager"] }, { O: ["cluster-a"] }],
    ];
    for (const name of foreign) {
      const { certPem } = await selfSignedCertificate(name);
      expectNotNodeCertificate(() => parseNodeCertificate(certPem));
    }
    expectNotNodeCertificate(() => parseNodeCertificate("garbage"));
  });
});

describe("isIssuedBy", () => {
  it("checks the signature, not just the issuer name", async () => {
    const { certPem } = await issueTestNode(ca, { nodeId: "n1", role: "worker", clusterId: "cluster-a" });
    expect(isIssuedBy(certPem, ca.certPem)).toBe(true);
    expect(isIssuedBy(new X509Certificate(certPem).raw, ca.certPem)).toBe(true);
    // Another CA of the same name (OpenSSL's issuer check already tells it apart by key identifier).
    expect(isIssuedBy(certPem, sameNameCa.certPem)).toBe(false);
    // A changed signature: issuer name and key identifier still match, only the signature check fails.
    const der = new X509Certificate(certPem).raw;
    der[der.length - 1]! ^= 0x01;
    expect(new X509Certificate(der).checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(isIssuedBy(der, ca.certPem)).toBe(false);
  });

  it("is false for self-signed and unparsable certificates", async () => {
    const { certPem } = await selfSignedCertificate([{ CN: ["tsctl cluster CA"] }, { O: ["cluster-a"] }]);
    expect(isIssuedBy(certPem, ca.certPem)).toBe(false);
    expect(isIssuedBy("garbage", ca.certPem)).toBe(false);
  });
});

describe("certificateNeedsRenewal", () => {
  it("turns true once less than half the validity is left, and stays true after expiry", async () => {
    const now = Date.UTC(2033, 0, 1);
    // notBefore is now - 5 min, so the period is 100 h + 5 min and its middle 47.5 min past now + 50 h.
    const { certPem } = await issueTestNode(ca, { nodeId: "n1", role: "worker", clusterId: "cluster-a", validityMs: 100 * hour, now });
    const middle = now + 50 * hour - 2.5 * 60 * 1000;
    expect(certificateNeedsRenewal(certPem, now)).toBe(false);
    expect(certificateNeedsRenewal(certPem, middle - 1000)).toBe(false);
    expect(certificateNeedsRenewal(certPem, middle + 1000)).toBe(true);
    expect(certificateNeedsRenewal(certPem, now + 200 * hour)).toBe(true);
  });

  it("reads the real clock by default", async () => {
    const fresh = await issueTestNode(ca, { nodeId: "n1", role: "worker", clusterId: "cluster-a", validityMs: hour });
    expect(certificateNeedsRenewal(fresh.certPem)).toBe(false);
    const issuedAt = Date.now() - 40 * 60 * 1000;
    const old = await issueTestNode(ca, { nodeId: "n1", role: "worker", clusterId: "cluster-a", validityMs: hour, now: issuedAt });
    expect(certificateNeedsRenewal(old.certPem)).toBe(true);
  });
});
