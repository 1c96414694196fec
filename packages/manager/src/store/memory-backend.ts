import { UnavailableError } from "@tsctl/api";
import { CompactedError, TooManyOpsError } from "./errors.js";
import type { Backend, Compare, KeyValue, Op, TxnResult, WatchEvent } from "./types.js";

interface Revision {
  revision: number;
  events: WatchEvent[];
}

/**
 * MemoryBackend is the Backend in one process's memory, with etcd's semantics: one revision
 * counter, atomic guarded txns, and a history that watches replay from any kept revision. It
 * exists so the store and controllers are tested without etcd; compact() and breakWatches() let
 * tests reach the failure paths.
 */
export class MemoryBackend implements Backend {
  readonly maxTxnOps: number;
  private revision = 1; // etcd starts at revision 1 with no keys
  private readonly kvs = new Map<string, KeyValue>();
  private history: Revision[] = [];
  private compacted = 0;
  private wake: (() => void)[] = [];
  private breakEpoch = 0;
  private closed = false;

  constructor(opts: { maxTxnOps?: number } = {}) {
    this.maxTxnOps = opts.maxTxnOps ?? 10_000;
  }

  list(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }> {
    this.check();
    const kvs = [...this.kvs.values()].filter((kv) => kv.key.startsWith(prefix));
    kvs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return Promise.resolve({ kvs, revision: this.revision });
  }

  txn(compares: Compare[], ops: Op[]): Promise<TxnResult> {
    this.check();
    if (Math.max(compares.length, ops.length) > this.maxTxnOps) {
      return Promise.reject(new TooManyOpsError(Math.max(compares.length, ops.length), this.maxTxnOps));
    }
    if (new Set(ops.map((o) => o.key)).size !== ops.length) {
      return Promise.reject(new Error("duplicate key given in txn request"));
    }
    for (const c of compares) {
      if ((this.kvs.get(c.key)?.modRevision ?? 0) !== c.modRevision) {
        return Promise.resolve({ succeeded: false, revision: this.revision });
      }
    }
    const rev = this.revision + 1;
    const events: WatchEvent[] = [];
    for (const op of ops) {
      const prev = this.kvs.get(op.key);
      if (op.type === "put") {
        const kv = { key: op.key, value: op.value.slice(), modRevision: rev, createRevision: prev?.createRevision ?? rev };
        this.kvs.set(op.key, kv);
        events.push(prev === undefined ? { type: "put", kv } : { type: "put", kv, prev });
      } else if (prev !== undefined) {
        this.kvs.delete(op.key);
        events.push({ type: "delete", kv: { key: op.key, value: new Uint8Array(), modRevision: rev, createRevision: 0 }, prev });
      }
    }
    // As in etcd, a txn that changes nothing does not consume a revision.
    if (events.length > 0) {
      this.revision = rev;
      this.history.push({ revision: rev, events });
      this.notify();
    }
    return Promise.resolve({ succeeded: true, revision: this.revision });
  }

  async *watch(prefix: string, fromRevision: number, signal: AbortSignal): AsyncIterable<WatchEvent[]> {
    this.check();
    if (fromRevision < this.compacted) throw new CompactedError(fromRevision, this.compacted);
    const epoch = this.breakEpoch;
    let next = fromRevision + 1;
    while (!signal.aborted) {
      if (this.closed || epoch !== this.breakEpoch) throw new UnavailableError("memory backend: watch broken");
      const pending = this.history.slice(this.firstAtOrAfter(next));
      for (const r of pending) {
        next = r.revision + 1;
        const events = r.events.filter((e) => e.kv.key.startsWith(prefix));
        if (events.length > 0) yield events;
        if (signal.aborted) return;
      }
      if (pending.length === 0) await this.nextChange(signal);
    }
  }

  /** compact drops history up to and including revision, as etcd's compaction does. */
  compact(revision: number): void {
    this.compacted = Math.max(this.compacted, revision);
    this.history = this.history.filter((r) => r.revision > revision);
  }

  /** breakWatches makes every open watch throw UnavailableError, like a lost connection. */
  breakWatches(): void {
    this.breakEpoch++;
    this.notify();
  }

  close(): Promise<void> {
    this.closed = true;
    this.notify();
    return Promise.resolve();
  }

  /** firstAtOrAfter is a binary search: history is in revision order. */
  private firstAtOrAfter(revision: number): number {
    let lo = 0;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.history[mid]?.revision ?? 0) < revision) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private check(): void {
    if (this.closed) throw new UnavailableError("memory backend is closed");
  }

  private notify(): void {
    const w = this.wake;
    this.wake = [];
    for (const f of w) f();
  }

  private nextChange(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        signal.removeEventListener("abort", done);
        resolve();
      };
      signal.addEventListener("abort", done, { once: true });
      this.wake.push(done);
    });
  }
}
