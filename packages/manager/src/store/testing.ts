import { create } from "@bufbuild/protobuf";
import { AnnotationsSchema, ServiceSchema, ServiceSpecSchema, TaskSchema, newId, type Service, type Task } from "@tsctl/api";
import type { Backend, Compare, KeyValue, Op, TxnResult, WatchEvent } from "./types.js";

/** newService builds a minimal service for tests and benches. */
export function newService(name: string): Service {
  return create(ServiceSchema, {
    id: newId(),
    spec: create(ServiceSpecSchema, { annotations: create(AnnotationsSchema, { name }) }),
  });
}

/** newTask builds a minimal task of a service, optionally placed on a node. */
export function newTask(serviceId: string, nodeId = "", slot = 1): Task {
  return create(TaskSchema, { id: newId(), serviceId, nodeId, slot });
}

/**
 * HookedBackend wraps a Backend and runs a one-shot hook before the next txn, so a test can make
 * another writer win a race at an exact point without timing tricks.
 */
export class HookedBackend implements Backend {
  private hook: (() => Promise<unknown>) | undefined;

  constructor(readonly inner: Backend) {}

  get maxTxnOps(): number {
    return this.inner.maxTxnOps;
  }

  /** beforeNextTxn installs the hook; it runs once. */
  beforeNextTxn(hook: () => Promise<unknown>): void {
    this.hook = hook;
  }

  list(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }> {
    return this.inner.list(prefix);
  }

  async txn(compares: Compare[], ops: Op[]): Promise<TxnResult> {
    const hook = this.hook;
    this.hook = undefined;
    await hook?.();
    return this.inner.txn(compares, ops);
  }

  watch(prefix: string, fromRevision: number, signal: AbortSignal): AsyncIterable<WatchEvent[]> {
    return this.inner.watch(prefix, fromRevision, signal);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
