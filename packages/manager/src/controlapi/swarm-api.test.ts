import { clone, create } from "@bufbuild/protobuf";
import { ClusterSpecSchema, NodeRole, NodeSchema, NodeState, type RootCA } from "@tsctl/api";
import { afterEach, describe, expect, it } from "vitest";
import { caDigest, createRootCa, makeJoinToken } from "../ca/index.js";
import { writeBootstrap } from "../bootstrap.js";
import { MemoryBackend, openStore } from "../store/index.js";
import type { Store } from "../store/types.js";
import { SwarmApi } from "./swarm-api.js";

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

async function setup() {
  store = await openStore(new MemoryBackend());
  const ca = await createRootCa({ clusterId: "c1" });
  const digest = caDigest(ca.certPem);
  const rootCa = { caCertPem: ca.certPem, caKeyPem: ca.keyPem, caDigest: digest, joinTokens: { worker: makeJoinToken(digest), manager: makeJoinToken(digest) } } as RootCA;
  await writeBootstrap(store, { clusterId: "c1", hostname: "m1", nodeId: "m1", advertiseAddr: "10.0.0.1", managerAddr: "10.0.0.1:2377", rootCa });
  await store.update((tx) =>
    tx.create("node", create(NodeSchema, { id: "w1", role: NodeRole.WORKER, spec: { desiredRole: NodeRole.WORKER }, description: { hostname: "w1" }, status: { state: NodeState.READY } })),
  );
  return { store, rootCa, api: new SwarmApi(store, { checkRemovable: async () => undefined }, () => ["10.0.0.1:2377"]) };
}

describe("SwarmApi", () => {
  it("never shows the CA key or the join tokens in the cluster object", async () => {
    const { api } = await setup();
    const c = api.getSwarm();
    expect(c.rootCa?.caCertPem).toContain("BEGIN CERTIFICATE");
    expect(c.rootCa?.caKeyPem).toBe("");
    expect(c.rootCa?.joinTokens).toBeUndefined();
  });

  it("returns join tokens with the manager addresses, and rotates one role's token only", async () => {
    const { api, rootCa } = await setup();
    expect(await api.joinToken(NodeRole.WORKER, false)).toEqual({ token: rootCa.joinTokens!.worker, managerAddrs: ["10.0.0.1:2377"] });
    const rotated = await api.joinToken(NodeRole.WORKER, true);
    expect(rotated.token).not.toBe(rootCa.joinTokens!.worker);
    expect(rotated.token.startsWith(`TSWMTKN-1-${rootCa.caDigest}-`)).toBe(true);
    expect((await api.joinToken(NodeRole.MANAGER, false)).token).toBe(rootCa.joinTokens!.manager);
  });

  it("updates the cluster spec under compare-and-swap and validates it", async () => {
    const { api } = await setup();
    const c = api.getSwarm();
    const spec = clone(ClusterSpecSchema, c.spec!);
    spec.heartbeatPeriodMs = 2000;
    const updated = await api.updateSwarm(c.meta!.version, spec, false, false);
    expect(updated.spec?.heartbeatPeriodMs).toBe(2000);
    await expect(api.updateSwarm(c.meta!.version, spec, false, false)).rejects.toThrow(/out of sequence/);
    spec.heartbeatPeriodMs = 10;
    await expect(api.updateSwarm(updated.meta!.version, spec, false, false)).rejects.toThrow(/at least 100ms/);
    spec.heartbeatPeriodMs = 1000;
    spec.nodeCertExpiryMs = 60_000;
    await expect(api.updateSwarm(updated.meta!.version, spec, false, false)).rejects.toThrow(/at least 1h/);
  });

  it("removes a down worker, a live one only with force, and never a manager", async () => {
    const { api, store } = await setup();
    await expect(api.removeNode("m1", true)).rejects.toThrow(/is a manager; demote it/);
    await expect(api.removeNode("w1", false)).rejects.toThrow(/not down/);
    await api.removeNode("w1", true);
    expect(store.view((tx) => tx.get("node", "w1"))).toBeUndefined();
  });
});
