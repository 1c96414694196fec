import { create } from "@bufbuild/protobuf";
import {
  AlreadyExistsError,
  MetaSchema,
  NotFoundError,
  UpdateOutOfSequenceError,
  type Service,
  type Task,
} from "@tsctl/api";
import { cloneObject, encode, nameKey, objectKey, serviceName, versionOf } from "./codec.js";
import type { Compare, Kind, KindMap, Op, ReadTx, StoredObject, WriteTx } from "./types.js";

/** Write is one object's pending change; guard 0 means the key must not exist yet. */
export interface Write {
  kind: Kind;
  id: string;
  /** The new object, undefined for a delete. */
  obj: StoredObject | undefined;
  guard: number;
  /** Name of the service as stored at the guarded version, so the name key can move with it. */
  oldName: string;
}

/**
 * PendingWrites is the WriteTx: writes sit here, and reads see them on top of the base copy.
 * Failures the copy already proves (stale version, missing object, taken id or name) are raised
 * at once through onConflict, which throws in update() and counts in batch().
 */
export class PendingWrites implements WriteTx {
  private readonly writes = new Map<string, Write>();

  constructor(
    private readonly base: ReadTx,
    private readonly onConflict: (err: Error) => void,
    private readonly now: () => number,
  ) {}

  /** all returns the writes in the order they were first made. */
  all(): Write[] {
    return [...this.writes.values()];
  }

  get<K extends Kind>(kind: K, id: string): KindMap[K] | undefined {
    const w = this.writes.get(objectKey(kind, id));
    return w === undefined ? this.base.get(kind, id) : (w.obj as KindMap[K] | undefined);
  }

  list<K extends Kind>(kind: K): KindMap[K][] {
    return this.overlay(kind, this.base.list(kind), () => true);
  }

  serviceByName(name: string): Service | undefined {
    for (const w of this.writes.values()) {
      if (w.kind === "service" && w.obj !== undefined && serviceName(w.obj as Service) === name) return w.obj as Service;
    }
    const s = this.base.serviceByName(name);
    return s !== undefined && !this.writes.has(objectKey("service", s.id)) ? s : undefined;
  }

  tasksByService(serviceId: string): Task[] {
    return this.overlay("task", this.base.tasksByService(serviceId), (t) => t.serviceId === serviceId);
  }

  tasksByNode(nodeId: string): Task[] {
    return this.overlay("task", this.base.tasksByNode(nodeId), (t) => t.nodeId === nodeId);
  }

  create<K extends Kind>(kind: K, obj: KindMap[K]): void {
    const key = objectKey(kind, obj.id);
    if (this.get(kind, obj.id) !== undefined) return this.onConflict(new AlreadyExistsError(`${kind} ${obj.id} already exists`));
    if (!this.nameFree(kind, obj)) return;
    const prior = this.writes.get(key); // a delete earlier in this tx
    const copy = this.stamp(kind, obj, prior?.guard ?? 0, true);
    this.writes.set(key, { kind, id: obj.id, obj: copy, guard: prior?.guard ?? 0, oldName: prior?.oldName ?? "" });
  }

  update<K extends Kind>(kind: K, obj: KindMap[K]): void {
    const key = objectKey(kind, obj.id);
    const prior = this.writes.get(key);
    const current = prior === undefined ? this.base.get(kind, obj.id) : prior.obj;
    if (current === undefined) return this.onConflict(new NotFoundError(`${kind} ${obj.id} not found`));
    if (versionOf(current) !== versionOf(obj)) return this.onConflict(new UpdateOutOfSequenceError());
    if (!this.nameFree(kind, obj)) return;
    const guard = prior?.guard ?? versionOf(obj);
    const oldName = prior?.oldName ?? (kind === "service" ? serviceName(current as Service) : "");
    this.writes.set(key, { kind, id: obj.id, obj: this.stamp(kind, obj, guard, false), guard, oldName });
  }

  delete<K extends Kind>(kind: K, id: string, version: number): void {
    const key = objectKey(kind, id);
    const prior = this.writes.get(key);
    const current = prior === undefined ? this.base.get(kind, id) : prior.obj;
    if (current === undefined) return this.onConflict(new NotFoundError(`${kind} ${id} not found`));
    if (versionOf(current) !== version) return this.onConflict(new UpdateOutOfSequenceError());
    if (prior?.guard === 0) {
      this.writes.delete(key); // created and deleted in the same tx: nothing to write
      return;
    }
    const oldName = prior?.oldName ?? (kind === "service" ? serviceName(current as Service) : "");
    this.writes.set(key, { kind, id, obj: undefined, guard: version, oldName });
  }

  private nameFree(kind: Kind, obj: StoredObject): boolean {
    if (kind !== "service") return true;
    const name = serviceName(obj as Service);
    const holder = name === "" ? undefined : this.serviceByName(name);
    if (holder === undefined || holder.id === obj.id) return true;
    this.onConflict(new AlreadyExistsError(`service name ${name} is already in use`));
    return false;
  }

  /** stamp clones obj so the caller's copy stays theirs, and sets the times the store owns. */
  private stamp<K extends Kind>(kind: K, obj: KindMap[K], guard: number, created: boolean): KindMap[K] {
    const copy = cloneObject(kind, obj);
    const meta = (copy.meta ??= create(MetaSchema));
    const now = this.now();
    meta.version = guard;
    if (created || meta.createdAtMs === 0) meta.createdAtMs = now;
    meta.updatedAtMs = now;
    return copy;
  }

  private overlay<K extends Kind>(kind: K, base: KindMap[K][], match: (o: KindMap[K]) => boolean): KindMap[K][] {
    if (this.writes.size === 0) return base;
    const out = base.filter((o) => !this.writes.has(objectKey(kind, o.id)));
    for (const w of this.writes.values()) {
      if (w.kind === kind && w.obj !== undefined && match(w.obj as KindMap[K])) out.push(w.obj as KindMap[K]);
    }
    return out;
  }
}

/** TxnParts is one write's share of a transaction: its guards and its ops. */
export interface TxnParts {
  compares: Compare[];
  ops: Op[];
}

/** toTxnParts turns a write into guarded ops; a service's name key moves in the same txn. */
export function toTxnParts(w: Write): TxnParts {
  const key = objectKey(w.kind, w.id);
  const compares: Compare[] = [{ key, modRevision: w.guard }];
  const ops: Op[] = [w.obj === undefined ? { type: "delete", key } : { type: "put", key, value: encode(w.kind, w.obj) }];
  if (w.kind === "service") {
    const newName = w.obj === undefined ? "" : serviceName(w.obj as Service);
    if (newName !== w.oldName) {
      if (newName !== "") {
        compares.push({ key: nameKey(newName), modRevision: 0 });
        ops.push({ type: "put", key: nameKey(newName), value: new TextEncoder().encode(w.id) });
      }
      if (w.oldName !== "") ops.push({ type: "delete", key: nameKey(w.oldName) });
    }
  }
  return { compares, ops };
}
