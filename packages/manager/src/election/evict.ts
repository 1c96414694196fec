/**
 * evictLeader revokes the lease of a leader that is known to be gone, so the next leader need not
 * wait for the lease to run out (its TTL plus the extension etcd grants on a raft leader change:
 * ~4 s with etcd's default timing). It only acts when the leader key still names exactly that
 * leader, so it can never remove a successor; and a leader evicted by mistake (alive after all)
 * just finds its lease gone and campaigns again.
 */
import type { Etcd3 } from "etcd3";
import { DEFAULT_LEADER_KEY, type LeaderInfo } from "./election.js";

export async function evictLeader(client: Etcd3, leader: LeaderInfo, key = DEFAULT_LEADER_KEY): Promise<boolean> {
  const res = await client.kv.range({ key: Buffer.from(key) });
  const kv = res.kvs[0];
  if (!kv || kv.lease === "0") return false;
  let holder: Partial<LeaderInfo>;
  try {
    holder = JSON.parse(kv.value.toString()) as Partial<LeaderInfo>;
  } catch {
    return false;
  }
  if (holder.nodeId !== leader.nodeId || holder.addr !== leader.addr) return false;
  await client.leaseClient.leaseRevoke({ ID: kv.lease });
  return true;
}
