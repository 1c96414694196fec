/**
 * Store contracts. Two layers, as in kine: a narrow key-value Backend (etcd or memory) with
 * compare-and-swap transactions and revisioned watches, and a typed object Store over it that
 * keeps an indexed in-memory copy fed by one watch. Controllers only ever see the typed Store.
 */
import type { Cluster, Node, Service, Task } from "@tsctl/api";

// ---------------------------------------------------------------------------------------------
// Backend: bytes under keys, revisions, transactions, watches.

export interface KeyValue {
  key: string;
  value: Uint8Array;
  /** Revision of the last write of this key (etcd mod_revision). */
  modRevision: number;
  /** Revision at which this key was created (etcd create_revision). */
  createRevision: number;
}

/** Compare is one guard of a transaction. modRevision 0 means "key must not exist". */
export interface Compare {
  key: string;
  modRevision: number;
}

export type Op = { type: "put"; key: string; value: Uint8Array } | { type: "delete"; key: string };

export interface TxnResult {
  succeeded: boolean;
  /** Store revision after the transaction (unchanged when it failed). */
  revision: number;
}

export interface WatchEvent {
  type: "put" | "delete";
  kv: KeyValue;
  /** The previous value, when the key existed before this event. */
  prev?: KeyValue;
}

/** Backend is the whole surface the store needs from etcd. */
export interface Backend {
  /** Every key under prefix, and the revision the read was taken at. */
  list(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }>;
  /** All compares must hold for the ops to apply; all ops apply atomically at one revision. */
  txn(compares: Compare[], ops: Op[]): Promise<TxnResult>;
  /**
   * Events under prefix with revision > fromRevision, in revision order, each batch being one
   * revision's events. Ends when signal aborts. Throws CompactedError when fromRevision is gone.
   */
  watch(prefix: string, fromRevision: number, signal: AbortSignal): AsyncIterable<WatchEvent[]>;
  /** Largest number of ops one txn may carry (etcd --max-txn-ops). */
  readonly maxTxnOps: number;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Typed object store.

export interface KindMap {
  cluster: Cluster;
  node: Node;
  service: Service;
  task: Task;
}
export type Kind = keyof KindMap;
export type StoredObject = KindMap[Kind];

/** ReadTx reads the in-memory copy; every method is synchronous and cheap. */
export interface ReadTx {
  get<K extends Kind>(kind: K, id: string): KindMap[K] | undefined;
  list<K extends Kind>(kind: K): KindMap[K][];
  /** Service by exact name (names are unique among services). */
  serviceByName(name: string): Service | undefined;
  tasksByService(serviceId: string): Task[];
  tasksByNode(nodeId: string): Task[];
}

/**
 * WriteTx collects writes; they are committed as one etcd transaction (or several, in order,
 * when batch() exceeds maxTxnOps). Objects passed in are cloned; meta.version of an update or
 * delete is the compare-and-swap guard.
 */
export interface WriteTx extends ReadTx {
  create<K extends Kind>(kind: K, obj: KindMap[K]): void;
  update<K extends Kind>(kind: K, obj: KindMap[K]): void;
  delete<K extends Kind>(kind: K, id: string, version: number): void;
}

export type StoreEvent = {
  [K in Kind]: { kind: K; type: "create" | "update" | "delete"; object: KindMap[K]; old?: KindMap[K] };
}[Kind];

export interface Store {
  /** Runs fn over a consistent snapshot of the in-memory copy. */
  view<T>(fn: (tx: ReadTx) => T): T;
  /**
   * Runs fn, then commits its writes atomically. Throws UpdateOutOfSequenceError when a guarded
   * object changed, AlreadyExistsError when a created id or service name is taken. Resolves after
   * the in-memory copy has seen the commit (read-your-writes).
   */
  update<T>(fn: (tx: WriteTx) => T): Promise<T>;
  /**
   * Like update, but writes may be split into several transactions of at most maxTxnOps; each
   * transaction is atomic, the batch as a whole is not. For controllers writing many tasks.
   * Objects whose guard failed are skipped and reported, not thrown.
   */
  batch(fn: (tx: WriteTx) => void): Promise<{ committed: number; conflicts: number }>;
  /**
   * Subscribes to changes after the current snapshot. The callback runs after the in-memory copy
   * has applied the events. Returns an unsubscribe function.
   */
  subscribe(listener: (events: StoreEvent[]) => void): () => void;
  /** Revision of the in-memory copy. */
  readonly revision: number;
  close(): Promise<void>;
}
