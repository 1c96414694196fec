/**
 * store owns the cluster state: every object under /tsctl/v1/ in etcd, the compare-and-swap rules
 * for writing it (versions are etcd mod revisions, service names unique through a name key), and
 * the in-memory indexed copy fed by one watch that every controller reads. It must never be
 * bypassed (nothing else talks to etcd's keys), never read etcd in a hot path (reads are served
 * from the copy), and never let a caller's object alias what the copy holds.
 */
export type {
  Backend,
  Compare,
  Kind,
  KindMap,
  KeyValue,
  Op,
  ReadTx,
  Store,
  StoreEvent,
  StoredObject,
  TxnResult,
  WatchEvent,
  WriteTx,
} from "./types.js";
export { CompactedError, TooManyOpsError } from "./errors.js";
export { MemoryBackend } from "./memory-backend.js";
export { EtcdBackend, type EtcdBackendOptions } from "./etcd-backend.js";
export { openStore, type StoreOptions } from "./object-store.js";
export { PREFIX, nameKey, objectKey } from "./codec.js";
