import { setTimeout as sleep } from "node:timers/promises";
import {
  AlreadyExistsError,
  InvalidArgumentError,
  UnavailableError,
  UpdateOutOfSequenceError,
  type Service,
} from "@tsctl/api";
import { commitBatch } from "./batch-commit.js";
import { KINDS, PREFIX, decode, nameKey, objectKey, parseKey, serviceName, versionOf } from "./codec.js";
import { CompactedError } from "./errors.js";
import { ObjectIndex } from "./object-index.js";
import { PendingWrites, toTxnParts, type Write } from "./write-tx.js";
import type { Backend, KeyValue, Kind, KindMap, ReadTx, Store, StoreEvent, StoredObject, WatchEvent, WriteTx } from "./types.js";

/** StoreOptions are the store's injectable edges: clock, retry delay, logging, batch width. */
export interface StoreOptions {
  /** Delay before re-establishing a broken watch, attempt being 1-based. */
  retryDelay?: (attempt: number) => number;
  now?: () => number;
  log?: (message: string) => void;
  /** Transactions batch() keeps in flight at once (default 4). */
  batchConcurrency?: number;
  /**
   * Ops per batch() transaction, capped by the backend's maxTxnOps (default 1,000). Several
   * medium txns in flight beat one huge one: etcd applies one while the next is encoded and sent.
   */
  batchTxnOps?: number;
}

/**
 * openStore lists every object once, then follows one watch from that revision. The backend stays
 * owned by the caller; Store.close() only disposes the watch.
 */
export async function openStore(backend: Backend, opts: StoreOptions = {}): Promise<Store> {
  const store = new ObjectStore(backend, opts);
  await store.start();
  return store;
}

interface Waiter {
  revision: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * ObjectStore is the typed Store over a Backend. Objects it hands out (from view, events, or a
 * WriteTx's reads) are shared with the in-memory copy: callers must never mutate them, and clone
 * (`clone(TaskSchema, t)`) before changing one to write it back. Writes are cloned on the way in.
 */
class ObjectStore implements Store {
  private readonly index = new ObjectIndex();
  private rev = 0;
  private readonly listeners = new Set<(events: StoreEvent[]) => void>();
  private waiters: Waiter[] = [];
  private readonly stop = new AbortController();
  private loop: Promise<void> = Promise.resolve();
  private readonly retryDelay: (attempt: number) => number;
  private readonly now: () => number;
  private readonly log: (message: string) => void;

  constructor(
    private readonly backend: Backend,
    private readonly opts: StoreOptions,
  ) {
    this.retryDelay = opts.retryDelay ?? ((n) => Math.min(100 * 2 ** (n - 1), 5_000));
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? ((m) => console.error(`store: ${m}`));
  }

  get revision(): number {
    return this.rev;
  }

  async start(): Promise<void> {
    const { kvs, revision } = await this.backend.list(PREFIX);
    this.resync(kvs, revision);
    this.loop = this.follow();
  }

  view<T>(fn: (tx: ReadTx) => T): T {
    return fn(this.index);
  }

  async update<T>(fn: (tx: WriteTx) => T): Promise<T> {
    this.checkOpen();
    const tx = new PendingWrites(this.index, (err) => { throw err; }, this.now);
    const result = fn(tx);
    const writes = tx.all();
    if (writes.length === 0) return result;
    const parts = writes.map(toTxnParts);
    const compares = parts.flatMap((p) => p.compares);
    const ops = parts.flatMap((p) => p.ops);
    if (Math.max(compares.length, ops.length) > this.backend.maxTxnOps) {
      throw new InvalidArgumentError(`update of ${writes.length} objects exceeds one transaction; use batch()`);
    }
    const res = await this.backend.txn(compares, ops);
    if (!res.succeeded) throw await this.explainFailure(writes);
    await this.waitFor(res.revision);
    return result;
  }

  async batch(fn: (tx: WriteTx) => void): Promise<{ committed: number; conflicts: number }> {
    this.checkOpen();
    let early = 0;
    const tx = new PendingWrites(this.index, () => void early++, this.now);
    fn(tx);
    const res = await commitBatch(this.backend, tx.all(), {
      concurrency: this.opts.batchConcurrency ?? 4,
      txnOps: this.opts.batchTxnOps ?? 1_000,
    });
    if (res.revision > 0) await this.waitFor(res.revision);
    return { committed: res.committed, conflicts: res.conflicts + early };
  }

  subscribe(listener: (events: StoreEvent[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.loop;
    for (const w of this.waiters) w.reject(new UnavailableError("store closed"));
    this.waiters = [];
  }

  /** follow applies the watch forever, resuming after breaks and re-listing after compaction. */
  private async follow(): Promise<void> {
    const signal = this.stop.signal;
    let attempt = 0;
    while (!signal.aborted) {
      try {
        for await (const batch of this.backend.watch(PREFIX, this.rev, signal)) {
          attempt = 0;
          this.apply(batch);
        }
        if (!signal.aborted) throw new UnavailableError("watch ended");
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof CompactedError) {
          this.log(`watch from revision ${this.rev} compacted; listing again`);
          try {
            const { kvs, revision } = await this.backend.list(PREFIX);
            this.resync(kvs, revision);
            continue;
          } catch (listErr) {
            err = listErr;
          }
        }
        attempt++;
        const ms = this.retryDelay(attempt);
        this.log(`watch broken (${String(err)}); retry ${attempt} in ${ms}ms from revision ${this.rev}`);
        await sleep(ms, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  /** apply folds one revision's events into the copy, then tells waiters and listeners. */
  private apply(batch: WatchEvent[]): void {
    const revision = batch[0]?.kv.modRevision ?? 0;
    if (revision <= this.rev) return; // already seen (a resumed watch may overlap a re-list)
    const events: StoreEvent[] = [];
    for (const e of batch) {
      const parsed = parseKey(e.kv.key);
      if (parsed === undefined) continue;
      if (e.type === "put") this.put(parsed.kind, decode(parsed.kind, e.kv.value, e.kv.modRevision), events);
      else this.remove(parsed.kind, parsed.id, events);
    }
    this.advance(revision, events);
  }

  /** resync replaces the copy with a full listing and emits the differences as events. */
  private resync(kvs: KeyValue[], revision: number): void {
    const events: StoreEvent[] = [];
    const seen = new Set<string>();
    for (const kv of kvs) {
      const parsed = parseKey(kv.key);
      if (parsed === undefined) continue;
      seen.add(kv.key);
      const old = this.index.get(parsed.kind, parsed.id);
      if (old === undefined || versionOf(old) !== kv.modRevision) {
        this.put(parsed.kind, decode(parsed.kind, kv.value, kv.modRevision), events);
      }
    }
    for (const kind of KINDS) {
      for (const obj of this.index.list(kind)) {
        if (!seen.has(objectKey(kind, obj.id))) this.remove(kind, obj.id, events);
      }
    }
    this.advance(Math.max(revision, this.rev), events);
  }

  private put<K extends Kind>(kind: K, obj: KindMap[K], out: StoreEvent[]): void {
    const old = this.index.set(kind, obj.id, obj);
    out.push(storeEvent(kind, old === undefined ? "create" : "update", obj, old));
  }

  private remove(kind: Kind, id: string, out: StoreEvent[]): void {
    const old = this.index.set(kind, id, undefined);
    if (old !== undefined) out.push(storeEvent(kind, "delete", old, undefined));
  }

  private advance(revision: number, events: StoreEvent[]): void {
    this.rev = revision;
    const ready = this.waiters.filter((w) => w.revision <= revision);
    this.waiters = this.waiters.filter((w) => w.revision > revision);
    for (const w of ready) w.resolve();
    if (events.length === 0) return;
    for (const listener of [...this.listeners]) {
      try {
        listener(events);
      } catch (err) {
        this.log(`subscriber threw: ${String(err)}`);
      }
    }
  }

  /** waitFor resolves once the copy has applied revision: what makes update() read-your-writes. */
  private waitFor(revision: number): Promise<void> {
    if (this.rev >= revision) return Promise.resolve();
    this.checkOpen();
    return new Promise((resolve, reject) => this.waiters.push({ revision, resolve, reject }));
  }

  /**
   * explainFailure reads etcd (only on this failure path) to tell a taken id or name, which the
   * caller must hear as AlreadyExists, from a plain stale version.
   */
  private async explainFailure(writes: Write[]): Promise<Error> {
    const probes: [string, () => Error][] = [];
    for (const w of writes) {
      if (w.guard === 0) probes.push([objectKey(w.kind, w.id), () => new AlreadyExistsError(`${w.kind} ${w.id} already exists`)]);
      const name = w.kind === "service" && w.obj !== undefined ? serviceName(w.obj as Service) : "";
      if (name !== "" && name !== w.oldName) {
        probes.push([nameKey(name), () => new AlreadyExistsError(`service name ${name} is already in use`)]);
      }
    }
    for (const [key, err] of probes.slice(0, 16)) {
      const { kvs } = await this.backend.list(key);
      if (kvs.some((kv) => kv.key === key)) return err();
    }
    return new UpdateOutOfSequenceError();
  }

  private checkOpen(): void {
    if (this.stop.signal.aborted) throw new UnavailableError("store closed");
  }
}

function storeEvent<K extends Kind>(kind: K, type: StoreEvent["type"], object: KindMap[K], old: StoredObject | undefined): StoreEvent {
  // StoreEvent is a union over kinds; the pairing of kind and object is guaranteed by K.
  return (old === undefined ? { kind, type, object } : { kind, type, object, old }) as StoreEvent;
}
