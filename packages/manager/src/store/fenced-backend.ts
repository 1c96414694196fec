/**
 * FencedBackend makes the leader's writes conditional on its still holding the leader key. etcd
 * can let a new leader be elected while the old one has not noticed yet (a frozen process, or
 * etcd 3.4 revoking leases late after a stalled raft leader recovers); with the fence, whatever the
 * old one still tries fails instead of racing the new leader's controllers.
 */
import { UnavailableError } from "@tsctl/api";
import type { Backend, Compare, KeyValue, Op, TxnResult, WatchEvent } from "./types.js";

export class NotLeaderError extends UnavailableError {
  constructor() {
    super("this manager is no longer the leader; the change was not made (retry: it goes to the new leader)");
  }
}

export class FencedBackend implements Backend {
  private fence: Compare | undefined;

  constructor(private readonly inner: Backend) {}

  get maxTxnOps(): number {
    // One compare slot is the fence's.
    return this.inner.maxTxnOps - 1;
  }

  /** setFence guards every later write with "key still at modRevision"; undefined lifts it. */
  setFence(fence: Compare | undefined): void {
    this.fence = fence;
  }

  list(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }> {
    return this.inner.list(prefix);
  }

  async txn(compares: Compare[], ops: Op[]): Promise<TxnResult> {
    const fence = this.fence;
    if (!fence) return this.inner.txn(compares, ops);
    const res = await this.inner.txn([...compares, fence], ops);
    if (!res.succeeded) {
      // Tell a lost fence apart from an ordinary compare-and-swap conflict.
      const { kvs } = await this.inner.list(fence.key);
      const held = kvs.find((kv) => kv.key === fence.key);
      if (held?.modRevision !== fence.modRevision) throw new NotLeaderError();
    }
    return res;
  }

  watch(prefix: string, fromRevision: number, signal: AbortSignal): AsyncIterable<WatchEvent[]> {
    return this.inner.watch(prefix, fromRevision, signal);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
