/**
 * @tsctl/manager is the manager role: the store over etcd, the controllers (orchestrator,
 * scheduler, task reaper, dispatcher) and the Control API logic. It never runs containers and
 * never speaks gRPC itself; tsd serves its APIs.
 */
export { Manager, type Bootstrap, type ManagerOptions } from "./manager.js";
export { ControlApi, serviceLogs, type ServiceCounts, type TaskFilter } from "./controlapi/index.js";
export { Dispatcher } from "./dispatcher/index.js";
export { Orchestrator } from "./orchestrator/index.js";
export { Scheduler } from "./scheduler/index.js";
export { TaskReaper } from "./reaper/index.js";
export { freePort, startEtcd, startTempEtcd, type EtcdHandle } from "./etcd/index.js";
export {
  addMember,
  leaderMemberId,
  listMembers,
  localMemberId,
  MANAGER_PEER_NAME,
  promoteMember,
  removeMember,
  wouldLoseQuorum,
  type EtcdMember,
  type EtcdOptions,
  type EtcdTls,
} from "./etcd/index.js";
export { minLeaseTtlSeconds, startElection, type Election, type ElectionOptions, type LeaderInfo } from "./election/index.js";
export { EtcdBackend, MemoryBackend, openStore, type Store } from "./store/index.js";
export { FakeClock, systemClock, type Clock } from "./clock.js";
export { writeBootstrap } from "./bootstrap.js";
export * from "./ca/index.js";
export { NodeCa } from "./nodeca/index.js";
