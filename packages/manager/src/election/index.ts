/**
 * election decides which manager is the leader, the one that runs the controllers: a key under
 * an etcd lease, held by whoever created it, given up when its lease is no longer confirmed. It
 * never runs or stops controllers itself (the Manager subscribes to onChange) and never touches
 * any key but the leader key.
 */
export {
  DEFAULT_LEADER_KEY,
  minLeaseTtlSeconds,
  startElection,
  type Election,
  type ElectionOptions,
  type LeaderInfo,
} from "./election.js";
export { evictLeader } from "./evict.js";
