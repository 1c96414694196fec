import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clone, create } from "@bufbuild/protobuf";
import { IssueNodeCertificateRequestSchema, NodeAvailability, NodeCAService, NodeRole, NodeSchema, addService, grpc, type RootCA } from "@tsctl/api";
import { MemoryBackend, NodeCa, caDigest, createCsr, createRootCa, issueNodeCertificate, makeJoinToken, openStore, parseNodeCertificate, writeBootstrap, type Store } from "@tsctl/manager";
import { afterEach, describe, expect, it } from "vitest";
import { loadCertificates } from "./certificate-files.js";
import { NodeCertificateProvider } from "./certificate-provider.js";
import { serverCredentials } from "./credentials.js";
import { PeerVerifier } from "./peer-identity.js";
import { CertificateRenewer } from "./renewer.js";

const silent = { debug() {}, info() {}, warn() {}, error() {}, child() {
  return silent;
} };

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

/** aManager serves NodeCAService on 127.0.0.1 with a real CA, store and TLS, like a manager does. */
async function aManager(): Promise<{ addr: string; store: Store; nodeCa: NodeCa; workerToken: string; rootCa: RootCA }> {
  const store = await openStore(new MemoryBackend());
  const ca = await createRootCa({ clusterId: "c1" });
  const digest = caDigest(ca.certPem);
  const rootCa = { caCertPem: ca.certPem, caKeyPem: ca.keyPem, caDigest: digest, joinTokens: { worker: makeJoinToken(digest), manager: makeJoinToken(digest) } } as RootCA;
  await writeBootstrap(store, { clusterId: "c1", hostname: "m1", nodeId: "m1", advertiseAddr: "127.0.0.1", managerAddr: "127.0.0.1:0", rootCa });
  const { csrPem, keyPem } = await createCsr();
  const certPem = await issueNodeCertificate(ca, { csrPem, nodeId: "m1", role: "manager", clusterId: "c1", ips: ["127.0.0.1"], validityMs: 3600_000 });
  const provider = new NodeCertificateProvider({ caCertPem: ca.certPem, certPem, keyPem });
  const nodeCa = new NodeCa(store);
  const verifier = new PeerVerifier(() => ca.certPem, () => "c1");
  const server = new grpc.Server();
  addService(server, NodeCAService, {
    getRootCACertificate: async () => ({ caCertPem: ca.certPem }),
    issueNodeCertificate: async (req) => nodeCa.admit(req),
    renewNodeCertificate: async (req, ctx) => nodeCa.renew(verifier.identify(ctx), req.csrPem),
  });
  const port = await new Promise<number>((res, rej) => server.bindAsync("127.0.0.1:0", serverCredentials(provider), (e, p) => (e ? rej(e) : res(p))));
  cleanup.push(async () => {
    server.forceShutdown();
    await store.close();
  });
  return { addr: `127.0.0.1:${port}`, store, nodeCa, workerToken: rootCa.joinTokens!.worker, rootCa };
}

describe("CertificateRenewer", () => {
  it("replaces a certificate past its half-life with a fresh one from a manager, saved and live, with the role the cluster wants", async () => {
    const m = await aManager();
    // A worker admitted with a short-lived certificate (2 s after the 5-minute back-dating).
    const { csrPem, keyPem } = await createCsr();
    const admitted = await m.nodeCa.admit(create(IssueNodeCertificateRequestSchema, { token: m.workerToken, csrPem, addr: "127.0.0.1", availability: NodeAvailability.ACTIVE }));
    const caPem = m.rootCa.caCertPem;
    const short = await issueNodeCertificate({ certPem: caPem, keyPem: m.rootCa.caKeyPem, digest: m.rootCa.caDigest }, { csrPem, nodeId: admitted.nodeId, role: "worker", clusterId: "c1", ips: [], validityMs: 2000 });
    const dataRoot = await mkdtemp(join(tmpdir(), "renew-"));
    cleanup.push(() => rm(dataRoot, { recursive: true, force: true }));
    const provider = new NodeCertificateProvider({ caCertPem: caPem, certPem: short, keyPem });
    const renewer = new CertificateRenewer(dataRoot, provider, () => m.addr, silent, 100);
    cleanup.push(async () => renewer.stop());

    renewer.start();
    const deadline = Date.now() + 10_000;
    while (provider.certificates.certPem === short && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const renewed = parseNodeCertificate(provider.certificates.certPem);
    expect(renewed).toMatchObject({ nodeId: admitted.nodeId, role: "worker" });
    expect(renewed.notAfter.getTime()).toBeGreaterThan(Date.now() + 24 * 3600_000);
    expect((await loadCertificates(dataRoot))?.certPem).toBe(provider.certificates.certPem);

    // Promoted in the store: the next renewal (presenting the renewed certificate) brings a manager one.
    await m.store.update((tx) => {
      const n = clone(NodeSchema, tx.get("node", admitted.nodeId)!);
      n.spec!.desiredRole = NodeRole.MANAGER;
      tx.update("node", n);
    });
    const res = await renewer.renew();
    expect(res.role).toBe(NodeRole.MANAGER);
    expect(parseNodeCertificate(provider.certificates.certPem).role).toBe("manager");
  });

  it("is refused for a node that was removed from the swarm", async () => {
    const m = await aManager();
    const { csrPem, keyPem } = await createCsr();
    const admitted = await m.nodeCa.admit(create(IssueNodeCertificateRequestSchema, { token: m.workerToken, csrPem, addr: "127.0.0.1" }));
    await m.store.update((tx) => tx.delete("node", admitted.nodeId, tx.get("node", admitted.nodeId)!.meta!.version));
    const dataRoot = await mkdtemp(join(tmpdir(), "renew-"));
    cleanup.push(() => rm(dataRoot, { recursive: true, force: true }));
    const provider = new NodeCertificateProvider({ caCertPem: m.rootCa.caCertPem, certPem: admitted.certPem, keyPem });
    const renewer = new CertificateRenewer(dataRoot, provider, () => m.addr, silent);
    await expect(renewer.renew()).rejects.toMatchObject({ code: "PermissionDenied" });
    expect(provider.certificates.certPem).toBe(admitted.certPem);
  });
});
