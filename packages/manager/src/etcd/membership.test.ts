import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { EtcdBackend } from "../store/etcd-backend.js";
import { addMember, leaderMemberId, listMembers, localMemberId, removeMember, wouldLoseQuorum, type EtcdMember } from "./membership.js";
import { startTempCluster, type TempCluster } from "./temp-cluster.js";

const member = (id: string, isLearner?: boolean): EtcdMember => ({ id, name: `m${id}`, peerUrls: [], clientUrls: [], ...(isLearner && { isLearner }) });

describe("wouldLoseQuorum", () => {
  const three = [member("1"), member("2"), member("3")];
  it.each([
    ["3 healthy, remove one", three, ["1", "2", "3"], "3", false],
    ["3 members, 1 unhealthy, remove a healthy one", three, ["1", "2"], "2", true],
    ["3 members, 1 unhealthy, remove the unhealthy one", three, ["1", "2"], "3", false],
    ["2 healthy, remove one", [member("1"), member("2")], ["1", "2"], "2", false],
    ["the last member", [member("1")], ["1"], "1", true],
    ["5 members, 2 unhealthy, remove a healthy one", [...three, member("4"), member("5")], ["1", "2", "3"], "1", true],
    ["5 members, 1 unhealthy, remove a healthy one", [...three, member("4"), member("5")], ["1", "2", "3", "4"], "1", false],
    ["4 members, 1 unhealthy, remove the unhealthy one", [...three, member("4")], ["1", "2", "3"], "4", false],
    ["a learner does not count", [member("1"), member("2"), member("3", true)], ["1", "3"], "1", true],
    ["an unknown id removes nothing", three, ["1", "2"], "9", false],
    ["uint64 ids stay exact", [member("18446744073709551615"), member("18446744073709551614")], ["18446744073709551614"], "18446744073709551615", false],
  ])("%s", (_name, members, healthy, removing, expected) => {
    expect(wouldLoseQuorum(members, new Set(healthy), removing)).toBe(expected);
  });
});

describe("membership", () => {
  let cluster: TempCluster | undefined;
  const closers: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
    await cluster?.dispose();
    cluster = undefined;
  });

  it("grows a 3-member TLS cluster one join at a time, serves it through every member, removes one", async () => {
    cluster = await startTempCluster({ tls: true });
    const m1 = cluster.members[0]!;
    expect(await listMembers(m1.client)).toHaveLength(1);
    const m2 = await cluster.add("m2"); // addMember + startEtcd with initialClusterState "existing"
    const m3 = await cluster.add("m3", { via: m2, learner: true }); // as a learner, then promoted
    const backends = [m1, m2, m3].map((m) => new EtcdBackend({ endpoints: [m.endpoint], tls: m.tls!, callTimeoutMs: 5000 }));
    closers.push(...backends.map((b) => () => b.close()));
    for (const [i, b] of backends.entries()) {
      await b.txn([], [{ type: "put", key: `/tsctl/v1/k${i}`, value: new Uint8Array([i]) }]);
    }
    for (const b of backends) expect((await b.list("/tsctl/v1/")).kvs.map((kv) => kv.key)).toEqual(["/tsctl/v1/k0", "/tsctl/v1/k1", "/tsctl/v1/k2"]);

    const members = await listMembers(m3.client);
    expect(members.map((m) => m.name).sort()).toEqual(["m1", "m2", "m3"]);
    for (const m of members) {
      expect(m.id).toMatch(/^[0-9]+$/);
      expect(m.peerUrls[0]).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(m.clientUrls[0]).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    }
    const leader = await leaderMemberId(m1.client);
    expect(members.map((m) => m.id)).toContain(leader);
    expect(await leaderMemberId(m3.client)).toBe(leader);

    const id3 = await localMemberId(m3.client);
    expect(members.find((m) => m.name === "m3")?.id).toBe(id3);
    expect(wouldLoseQuorum(members, new Set(members.map((m) => m.id)), id3)).toBe(false);
    await removeMember(m1.client, id3);
    expect((await listMembers(m1.client)).map((m) => m.name).sort()).toEqual(["m1", "m2"]);
    await expect(removeMember(m1.client, id3)).rejects.toThrow(/not found/);
    // A removed member shuts itself down; the remaining two still commit.
    await backends[0]!.txn([], [{ type: "put", key: "/tsctl/v1/after", value: new Uint8Array() }]);
    expect((await backends[1]!.list("/tsctl/v1/after")).kvs).toHaveLength(1);
  }, 60_000);

  it("reuses an added member that never started and names the new member in the initial cluster", async () => {
    cluster = await startTempCluster();
    const m1 = cluster.members[0]!;
    // As a learner: a voting member that never starts would cost the 1-member cluster its quorum,
    // and not even its removal could commit.
    const first = await addMember(m1.client, "m2", "http://127.0.0.1:1", { learner: true });
    expect(first.member.name).toBe("");
    expect(first.member.isLearner).toBe(true);
    expect(first.initialCluster).toBe(`m1=${m1.peerUrl},m2=http://127.0.0.1:1`);
    const again = await addMember(m1.client, "m2", "http://127.0.0.1:1", { learner: true });
    expect(again.member.id).toBe(first.member.id);
    expect(again.initialCluster).toBe(first.initialCluster);
    await expect(addMember(m1.client, "m3", "http://127.0.0.1:2")).rejects.toThrow(/has not started yet/);
    await expect(addMember(m1.client, "m1", "http://127.0.0.1:3")).rejects.toThrow(/name m1 is taken/);
    await expect(addMember(m1.client, "bad name", "http://127.0.0.1:3")).rejects.toThrow(/invalid etcd member name/);
    await removeMember(m1.client, first.member.id);
    expect(await listMembers(m1.client)).toHaveLength(1);
  }, 30_000);

  it("does not let a member with a worker certificate (no tsctl-manager SAN) peer", async () => {
    cluster = await startTempCluster({ size: 3, tls: true });
    const [m1] = cluster.members;
    const worker = cluster.ca!.worker("w1");
    // The member is added (membership is the managers' decision) but can never exchange raft
    // messages: every manager refuses its certificate, as client and as server.
    const err = await cluster.add("w1", { cert: worker, readyTimeoutMs: 4000, restartDelay: () => 60_000 }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/not ready after 4000ms/);
    const members = await listMembers(m1!.client);
    const w1 = members.find((m) => m.name === "" || m.name === "w1");
    expect(w1).toBeDefined();
    expect(w1!.name).toBe(""); // never published its name: it never got through to the cluster
    // Each manager logged refusing the worker's connections to its peer port.
    for (const m of cluster.members.slice(0, 3)) {
      expect(readFileSync(m.logFile, "utf8")).toMatch(/rejected connection.*"dns-names":\[\].*client certificate authentication failed/);
    }
    await removeMember(m1!.client, w1!.id);
    expect(await listMembers(m1!.client)).toHaveLength(3);
  }, 60_000);
});
