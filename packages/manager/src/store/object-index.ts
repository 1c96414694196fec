import type { Service, Task } from "@tsctl/api";
import { KINDS, serviceName } from "./codec.js";
import type { Kind, KindMap, ReadTx, StoredObject } from "./types.js";

/**
 * ObjectIndex is the store's in-memory copy: objects by kind and id, plus the secondary indexes
 * controllers query in hot loops (service by name, tasks by service and by node). Objects in it
 * are shared with every reader and must never be mutated; writers replace them.
 */
export class ObjectIndex implements ReadTx {
  private readonly objects = new Map<Kind, Map<string, StoredObject>>(KINDS.map((k) => [k, new Map()]));
  private readonly names = new Map<string, Service>();
  private readonly byService = new Map<string, Map<string, Task>>();
  private readonly byNode = new Map<string, Map<string, Task>>();

  get<K extends Kind>(kind: K, id: string): KindMap[K] | undefined {
    return this.table(kind).get(id);
  }

  list<K extends Kind>(kind: K): KindMap[K][] {
    return [...this.table(kind).values()];
  }

  serviceByName(name: string): Service | undefined {
    return this.names.get(name);
  }

  tasksByService(serviceId: string): Task[] {
    return [...(this.byService.get(serviceId)?.values() ?? [])];
  }

  tasksByNode(nodeId: string): Task[] {
    return [...(this.byNode.get(nodeId)?.values() ?? [])];
  }

  /** set stores obj (or removes the id when obj is undefined) and returns what was there. */
  set<K extends Kind>(kind: K, id: string, obj: KindMap[K] | undefined): KindMap[K] | undefined {
    const table = this.table(kind);
    const old = table.get(id);
    if (old !== undefined) this.unindex(kind, old);
    if (obj === undefined) table.delete(id);
    else {
      table.set(id, obj);
      this.index(kind, obj);
    }
    return old;
  }

  private table<K extends Kind>(kind: K): Map<string, KindMap[K]> {
    // The map for kind K only ever holds KindMap[K]; TypeScript cannot see that through Map<Kind, ...>.
    return this.objects.get(kind) as Map<string, KindMap[K]>;
  }

  private index(kind: Kind, obj: StoredObject): void {
    if (kind === "service") {
      const name = serviceName(obj as Service);
      if (name !== "") this.names.set(name, obj as Service);
    } else if (kind === "task") {
      const t = obj as Task;
      if (t.serviceId !== "") add(this.byService, t.serviceId, t);
      if (t.nodeId !== "") add(this.byNode, t.nodeId, t);
    }
  }

  private unindex(kind: Kind, obj: StoredObject): void {
    if (kind === "service") {
      const name = serviceName(obj as Service);
      if (this.names.get(name)?.id === obj.id) this.names.delete(name);
    } else if (kind === "task") {
      const t = obj as Task;
      remove(this.byService, t.serviceId, t.id);
      remove(this.byNode, t.nodeId, t.id);
    }
  }
}

function add(m: Map<string, Map<string, Task>>, key: string, t: Task): void {
  let inner = m.get(key);
  if (inner === undefined) m.set(key, (inner = new Map()));
  inner.set(t.id, t);
}

function remove(m: Map<string, Map<string, Task>>, key: string, id: string): void {
  const inner = m.get(key);
  if (inner === undefined) return;
  inner.delete(id);
  if (inner.size === 0) m.delete(key);
}
