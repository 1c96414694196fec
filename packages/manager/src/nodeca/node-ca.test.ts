import { X509Certificate } from "node:crypto";
import { clone, create } from "@bufbuild/protobuf";
import { NodeAvailability, NodeRole, NodeSchema, IssueNodeCertificateRequestSchema, type RootCA } from "@tsctl/api";
import { afterEach, describe, expect, it } from "vitest";
import { caDigest, createCsr, createRootCa, makeJoinToken, parseNodeCertificate } from "../ca/index.js";
import { writeBootstrap } from "../bootstrap.js";
import { MemoryBackend, openStore } from "../store/index.js";
import type { Store } from "../store/types.js";
import { SwarmApi } from "../controlapi/swarm-api.js";
import { NodeCa } from "./node-ca.js";

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

async function cluster() {
  store = await openStore(new MemoryBackend());
  const ca = await createRootCa({ clusterId: "c1" });
  const digest = caDigest(ca.certPem);
  const rootCa = { caCertPem: ca.certPem, caKeyPem: ca.keyPem, caDigest: digest, joinTokens: { worker: makeJoinToken(digest), manager: makeJoinToken(digest) } } as RootCA;
  await writeBootstrap(store, { clusterId: "c1", hostname: "m1", nodeId: "n1", advertiseAddr: "10.0.0.1", managerAddr: "10.0.0.1:2377", rootCa });
  return { store, ca, rootCa, nodeCa: new NodeCa(store) };
}

async function request(token: string, addr = "10.0.0.2:2377") {
  const { csrPem, keyPem } = await createCsr();
  return { req: create(IssueNodeCertificateRequestSchema, { token, csrPem, addr, description: { hostname: "w1" }, availability: NodeAvailability.ACTIVE }), keyPem };
}

describe("NodeCa", () => {
  it("admits a worker with the worker token: a node object and a worker certificate from the cluster CA", async () => {
    const { store, ca, rootCa, nodeCa } = await cluster();
    const { req } = await request(rootCa.joinTokens!.worker);
    const issued = await nodeCa.admit(req);
    expect(issued.role).toBe(NodeRole.WORKER);
    const id = parseNodeCertificate(issued.certPem);
    expect(id).toMatchObject({ nodeId: issued.nodeId, role: "worker", clusterId: "c1" });
    expect(new X509Certificate(issued.certPem).verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    const node = store.view((tx) => tx.get("node", issued.nodeId))!;
    expect(node.role).toBe(NodeRole.WORKER);
    expect(node.status?.addr).toBe("10.0.0.2");
    expect(node.managerStatus).toBeUndefined();
  });

  it("admits a manager with the manager token, its certificate naming its address and loopback", async () => {
    const { store, rootCa, nodeCa } = await cluster();
    const { req } = await request(rootCa.joinTokens!.manager);
    const issued = await nodeCa.admit(req);
    expect(parseNodeCertificate(issued.certPem).role).toBe("manager");
    expect(new X509Certificate(issued.certPem).subjectAltName).toContain("IP Address:10.0.0.2");
    expect(new X509Certificate(issued.certPem).subjectAltName).toContain("IP Address:127.0.0.1");
    expect(store.view((tx) => tx.get("node", issued.nodeId))?.managerStatus?.addr).toBe("10.0.0.2:2377");
  });

  it("refuses wrong, rotated and malformed tokens without creating a node", async () => {
    const { store, rootCa, nodeCa } = await cluster();
    const before = store.view((tx) => tx.list("node").length);
    const wrong = makeJoinToken(rootCa.caDigest);
    await expect(nodeCa.admit((await request(wrong)).req)).rejects.toThrow(/invalid join token/);
    await expect(nodeCa.admit((await request("TSWMTKN-1-nonsense")).req)).rejects.toMatchObject({ code: "InvalidArgument" });
    const old = rootCa.joinTokens!.worker;
    const api = new SwarmApi(store, { checkRemovable: async () => undefined }, () => []);
    await api.joinToken(NodeRole.WORKER, true);
    await expect(nodeCa.admit((await request(old)).req)).rejects.toMatchObject({ code: "PermissionDenied" });
    expect(store.view((tx) => tx.list("node").length)).toBe(before);
  });

  it("renews with the role the cluster wants now, and refuses a node that was removed", async () => {
    const { store, rootCa, nodeCa } = await cluster();
    const issued = await nodeCa.admit((await request(rootCa.joinTokens!.worker)).req);
    const caller = parseNodeCertificate(issued.certPem);
    await store.update((tx) => {
      const n = clone(NodeSchema, tx.get("node", issued.nodeId)!);
      n.spec!.desiredRole = NodeRole.MANAGER;
      tx.update("node", n);
    });
    const renewed = await nodeCa.renew(caller, (await createCsr()).csrPem);
    expect(parseNodeCertificate(renewed.certPem)).toMatchObject({ nodeId: issued.nodeId, role: "manager" });
    await store.update((tx) => tx.delete("node", issued.nodeId, tx.get("node", issued.nodeId)!.meta!.version));
    await expect(nodeCa.renew(caller, (await createCsr()).csrPem)).rejects.toMatchObject({ code: "PermissionDenied" });
  });
});
