/**
 * etcd owns the lifecycle of the local etcd member that a manager node runs beside tsd: its
 * command line (plain, or TLS with certificates from the cluster CA), readiness, restarts after a
 * crash, a clean stop, and the cluster's membership (add, promote, remove, quorum checks). It
 * never reads or writes keys (that is the store's job) and never touches processes it did not
 * start.
 */
export { etcdArgs, etcdUrls, freePort, MANAGER_PEER_NAME, startEtcd, type EtcdHandle, type EtcdOptions } from "./etcd-process.js";
export { getHealth, isHealthy, type EtcdTls } from "./health.js";
export { localMemberFaultHandling } from "./fault-handling.js";
export {
  addMember,
  leaderMemberId,
  listMembers,
  localMemberId,
  promoteMember,
  removeMember,
  wouldLoseQuorum,
  type EtcdMember,
} from "./membership.js";
export { startTempEtcd, type TempEtcd } from "./temp-etcd.js";
export { startTempCluster, type TempCluster, type TempClusterOptions, type TempMember } from "./temp-cluster.js";
export { makeTestCa, type TestCa } from "./test-certs.js";
