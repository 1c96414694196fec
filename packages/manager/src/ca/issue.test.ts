import { execFileSync } from "node:child_process";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { isTsctlError } from "@tsctl/api";
import { beforeAll, describe, expect, it } from "vitest";
import { createCsr } from "./csr.js";
import { issueNodeCertificate, type IssueRequest } from "./issue.js";
import { createRootCa, type RootCa } from "./root-ca.js";
import { csrWithSubject, derToPem, pemToDer } from "./testing.js";

const hour = 3600 * 1000;
let ca: RootCa;
let otherCa: RootCa;
beforeAll(async () => {
  [ca, otherCa] = await Promise.all([createRootCa({ clusterId: "cluster-a" }), createRootCa({ clusterId: "cluster-a" })]);
});

async function request(over: Partial<IssueRequest> = {}): Promise<IssueRequest> {
  const csrPem = over.csrPem ?? (await createCsr()).csrPem;
  return { csrPem, nodeId: "node-1", role: "worker", clusterId: "cluster-a", ips: [], validityMs: hour, ...over };
}

/** issueWith issues from a fresh CSR and the default request, changed as asked. */
async function issueWith(over: Partial<IssueRequest>): Promise<string> {
  return issueNodeCertificate(ca, await request(over));
}

async function expectInvalidArgument(p: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isTsctlError(err, "InvalidArgument"), `expected InvalidArgument, got ${String(err)}`).toBe(true);
  expect((err as Error).message).toMatch(message);
}

const badSignature = /^invalid certificate signing request: signature does not verify$/;

describe("issueNodeCertificate", () => {
  it("signs a manager certificate that verifies against the CA, for the CSR's key, with the subject and SANs asked for", async () => {
    const { keyPem, csrPem } = await createCsr();
    const pem = await issueWith({ csrPem, role: "manager", ips: ["10.0.0.5", "127.0.0.1", "10.0.0.5"] });
    const cert = new X509Certificate(pem);
    const caCert = new X509Certificate(ca.certPem);

    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.verify(new X509Certificate(otherCa.certPem).publicKey)).toBe(false);
    expect(cert.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
    expect(cert.subject).toBe("CN=node-1\nOU=tsctl-manager\nO=cluster-a");
    expect(cert.subjectAltName).toBe("IP Address:10.0.0.5, IP Address:127.0.0.1, DNS:tsctl-manager");
    expect(cert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]); // Node's name for the EKU
    expect(cert.ca).toBe(false);
  });

  it("gives workers their OU and IP SANs but never the manager DNS name", async () => {
    const cert = new X509Certificate(await issueWith({ ips: ["::1", "0:0::1", "fd00::a"] }));
    expect(cert.subject).toBe("CN=node-1\nOU=tsctl-worker\nO=cluster-a");
    expect(cert.subjectAltName).toBe("IP Address:0:0:0:0:0:0:0:1, IP Address:FD00:0:0:0:0:0:0:A");
  });

  it("leaves the SAN extension out when a worker has no addresses", async () => {
    const cert = new X509Certificate(await issueWith({ ips: [] }));
    expect(cert.subjectAltName).toBeUndefined();
  });

  it("writes EKU, key usage and CA:false as openssl reads them", async () => {
    const pem = await issueWith({ role: "manager", ips: ["192.0.2.1"] });
    const text = execFileSync("openssl", ["x509", "-noout", "-text"], { input: pem, encoding: "utf8" });
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment\n/);
    expect(text).toMatch(/X509v3 Extended Key Usage:\s*\n\s+TLS Web Server Authentication, TLS Web Client Authentication\n/);
    expect(text).toMatch(/X509v3 Subject Alternative Name:\s*\n\s+IP Address:192.0.2.1, DNS:tsctl-manager\n/);
    expect(text).toMatch(/Signature Algorithm: ecdsa-with-SHA256/);
  });

  it("takes identity and role from the CA side, never from the CSR", async () => {
    const csrPem = await csrWithSubject([{ CN: ["evil"] }, { OU: ["tsctl-manager"] }, { O: ["cluster-a"] }], ["tsctl-manager"]);
    const cert = new X509Certificate(await issueWith({ csrPem, role: "worker", ips: ["10.1.1.1"] }));
    expect(cert.subject).toBe("CN=node-1\nOU=tsctl-worker\nO=cluster-a");
    expect(cert.subjectAltName).toBe("IP Address:10.1.1.1");
  });

  it("backdates notBefore by five minutes and ends validityMs after now, with a fresh 16-byte positive serial", async () => {
    const now = Date.UTC(2031, 5, 1, 12, 0, 0);
    const req = await request({ validityMs: 90 * 24 * hour, now });
    const a = new X509Certificate(await issueNodeCertificate(ca, req));
    const b = new X509Certificate(await issueNodeCertificate(ca, req));
    expect(new Date(a.validFrom).getTime()).toBe(now - 5 * 60 * 1000);
    expect(new Date(a.validTo).getTime()).toBe(now + 90 * 24 * hour);
    expect(a.serialNumber).toMatch(/^[0-7][0-9A-F]{31}$/);
    expect(a.serialNumber).not.toMatch(/^00/);
    expect(a.serialNumber).not.toBe(b.serialNumber);
  });

  it("rejects a garbled CSR", async () => {
    await expectInvalidArgument(issueWith({ csrPem: "not a csr" }), /^invalid certificate signing request: not a PEM/);
    const certInstead = ca.certPem;
    await expectInvalidArgument(issueWith({ csrPem: certInstead }), /^invalid certificate signing request: not a PEM/);
    const { csrPem } = await createCsr();
    const truncated = derToPem(pemToDer(csrPem).subarray(0, 60), "CERTIFICATE REQUEST");
    await expectInvalidArgument(issueWith({ csrPem: truncated }), /^invalid certificate signing request: \S/);
  });

  it("rejects a CSR whose contents were changed after signing", async () => {
    const der = pemToDer((await createCsr()).csrPem);
    const at = der.indexOf("tsctl-node");
    expect(at).toBeGreaterThan(0);
    der[at] = "x".charCodeAt(0); // the placeholder CN, inside the signed part
    const tampered = derToPem(der, "CERTIFICATE REQUEST");
    await expectInvalidArgument(issueWith({ csrPem: tampered }), badSignature);
  });

  it("rejects a CSR whose signature was changed", async () => {
    const der = pemToDer((await createCsr()).csrPem);
    der[der.length - 1]! ^= 0x01; // last byte of the ECDSA signature's s
    const tampered = derToPem(der, "CERTIFICATE REQUEST");
    await expectInvalidArgument(issueWith({ csrPem: tampered }), badSignature);
  });

  it("rejects bad request fields", async () => {
    await expectInvalidArgument(issueWith({ ips: ["10.0.0.300"] }), /invalid IP address/);
    await expectInvalidArgument(issueWith({ ips: ["fe80::1%eth0"] }), /invalid IP address/);
    await expectInvalidArgument(issueWith({ nodeId: "" }), /node id/);
    await expectInvalidArgument(issueWith({ validityMs: 0 }), /validity/);
    await expectInvalidArgument(issueWith({ role: "admin" as never }), /role/);
  });
});
