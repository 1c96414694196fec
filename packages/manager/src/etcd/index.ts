/**
 * etcd owns the lifecycle of the local etcd member that a manager node runs beside tsd: its
 * command line, readiness, restarts after a crash, and a clean stop. It never reads or writes keys
 * (that is the store's job) and never touches processes it did not start.
 */
export { etcdArgs, freePort, startEtcd, type EtcdHandle, type EtcdOptions } from "./etcd-process.js";
export { startTempEtcd, type TempEtcd } from "./temp-etcd.js";
