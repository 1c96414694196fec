/**
 * ControlApi is the logic behind the Control API: plain methods over the Store, no gRPC. It
 * validates, enforces compare-and-swap on updates, and never touches tasks directly except to
 * read them: the orchestrator turns service changes into task changes.
 */
import { clone, create, equals } from "@bufbuild/protobuf";
import {
  MetaSchema,
  NodeRole,
  NodeState,
  NodeSchema,
  Reachability,
  ServiceSchema,
  ServiceSpecSchema,
  TaskState,
  InvalidArgumentError,
  TaskSpecSchema,
  UpdateOutOfSequenceError,
  newId,
  type Node,
  type NodeSpec,
  type Service,
  type ServiceSpec,
  type Task,
} from "@tsctl/api";
import type { Store } from "../store/types.js";
import { findNode, findService, findTask } from "./lookup.js";
import { validateNodeSpec, validateServiceSpec } from "./validate-spec.js";

export interface ServiceCounts {
  service: Service;
  runningTasks: number;
  desiredTasks: number;
}

export interface TaskFilter {
  serviceIds?: string[];
  nodeIds?: string[];
  desiredStates?: TaskState[];
}

/** ManagerView is the live part of MANAGER STATUS, which is computed on read, never stored. */
export type ManagerView = () => { leaderId: string | undefined; reachable: Set<string> };

export class ControlApi {
  managerView: ManagerView | undefined;

  constructor(
    private readonly store: Store,
    private readonly selfNodeId: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** createService stores a validated spec as a new service at spec version 1. */
  async createService(spec: ServiceSpec | undefined): Promise<Service> {
    validateServiceSpec(spec);
    const t = this.now();
    const service = create(ServiceSchema, {
      id: newId(),
      meta: create(MetaSchema, { createdAtMs: t, updatedAtMs: t }),
      spec: clone(ServiceSpecSchema, spec),
      specVersion: 1,
    });
    await this.store.update((tx) => tx.create("service", service));
    return this.getService(service.id);
  }

  getService(ref: string): Service {
    return this.store.view((tx) => findService(tx, ref));
  }

  /**
   * updateService replaces the spec if version is the stored one. rollback swaps in the previous
   * spec instead, as `docker service rollback` does.
   */
  async updateService(ref: string, version: number, spec: ServiceSpec | undefined, rollback = false): Promise<Service> {
    const id = await this.store.update((tx) => {
      const current = findService(tx, ref);
      if (current.meta?.version !== version) throw new UpdateOutOfSequenceError();
      const next = clone(ServiceSchema, current);
      if (rollback) {
        if (!current.previousSpec) throw new UpdateOutOfSequenceError();
        next.spec = clone(ServiceSpecSchema, current.previousSpec);
      } else {
        validateServiceSpec(spec);
        next.spec = clone(ServiceSpecSchema, spec);
      }
      if (next.spec?.annotations?.name !== current.spec?.annotations?.name) {
        // Renaming would break every reference users hold (DNS later); Docker refuses it too.
        throw new InvalidArgumentError("renaming services is not supported");
      }
      next.previousSpec = current.spec ? clone(ServiceSpecSchema, current.spec) : undefined;
      if (specChangesTasks(current.spec, next.spec)) next.specVersion = current.specVersion + 1;
      next.meta = create(MetaSchema, { ...current.meta, updatedAtMs: this.now() });
      tx.update("service", next);
      return current.id;
    });
    return this.getService(id);
  }

  /** removeService deletes the service; the orchestrator then shuts down and reaps its tasks. */
  async removeService(ref: string): Promise<void> {
    await this.store.update((tx) => {
      const service = findService(tx, ref);
      tx.delete("service", service.id, service.meta?.version ?? 0);
    });
  }

  listServices(filter: { names?: string[]; idPrefixes?: string[] } = {}): ServiceCounts[] {
    return this.store.view((tx) => {
      const nodesUp = new Set(
        tx
          .list("node")
          .filter((n) => n.status?.state === NodeState.READY)
          .map((n) => n.id),
      );
      return tx
        .list("service")
        .filter((s) => matchesServiceFilter(s, filter))
        .map((service) => {
          const tasks = tx.tasksByService(service.id);
          const running = tasks.filter(
            (t) => t.desiredState <= TaskState.RUNNING && t.status?.state === TaskState.RUNNING && nodesUp.has(t.nodeId),
          ).length;
          const desired =
            service.spec?.mode.case === "replicated"
              ? service.spec.mode.value.replicas
              : tasks.filter((t) => t.desiredState <= TaskState.RUNNING).length;
          return { service, runningTasks: running, desiredTasks: desired };
        })
        .sort((a, b) => (a.service.spec?.annotations?.name ?? "").localeCompare(b.service.spec?.annotations?.name ?? ""));
    });
  }

  listTasks(filter: TaskFilter = {}): Task[] {
    return this.store.view((tx) => {
      let tasks: Task[];
      if (filter.serviceIds?.length) {
        tasks = filter.serviceIds.flatMap((ref) => tx.tasksByService(findService(tx, ref).id));
      } else if (filter.nodeIds?.length) {
        tasks = filter.nodeIds.flatMap((ref) => tx.tasksByNode(findNode(tx, ref, this.selfNodeId).id));
      } else {
        tasks = tx.list("task");
      }
      const nodeIds = filter.nodeIds?.length ? new Set(filter.nodeIds.map((r) => findNode(tx, r, this.selfNodeId).id)) : undefined;
      const desired = filter.desiredStates?.length ? new Set(filter.desiredStates) : undefined;
      return tasks.filter((t) => (!nodeIds || nodeIds.has(t.nodeId)) && (!desired || desired.has(t.desiredState)));
    });
  }

  getTask(ref: string): Task {
    return this.store.view((tx) => findTask(tx, ref));
  }

  listNodes(): Node[] {
    return this.store.view((tx) => tx.list("node")).map((n) => this.withManagerStatus(n));
  }

  getNode(ref: string): Node {
    return this.withManagerStatus(this.store.view((tx) => findNode(tx, ref, this.selfNodeId)));
  }

  /** withManagerStatus returns a copy of a manager node with the live leader and reachability. */
  private withManagerStatus(node: Node): Node {
    if (node.role !== NodeRole.MANAGER || !node.managerStatus || !this.managerView) return node;
    const view = this.managerView();
    const next = clone(NodeSchema, node);
    next.managerStatus!.leader = view.leaderId === node.id;
    next.managerStatus!.reachability = view.reachable.has(node.id) ? Reachability.REACHABLE : Reachability.UNREACHABLE;
    return next;
  }

  /** updateNode replaces the node's spec (availability, labels) under compare-and-swap. */
  async updateNode(ref: string, version: number, spec: NodeSpec | undefined): Promise<Node> {
    validateNodeSpec(spec);
    const id = await this.store.update((tx) => {
      const current = findNode(tx, ref, this.selfNodeId);
      if (current.meta?.version !== version) throw new UpdateOutOfSequenceError();
      const next = clone(NodeSchema, current);
      next.spec = spec;
      next.meta = create(MetaSchema, { ...current.meta, updatedAtMs: this.now() });
      tx.update("node", next);
      return current.id;
    });
    return this.getNode(id);
  }
}

function matchesServiceFilter(s: Service, filter: { names?: string[]; idPrefixes?: string[] }): boolean {
  const names = filter.names ?? [];
  const prefixes = filter.idPrefixes ?? [];
  if (names.length === 0 && prefixes.length === 0) return true;
  return names.includes(s.spec?.annotations?.name ?? "") || prefixes.some((p) => s.id.startsWith(p));
}

/**
 * specChangesTasks tells whether running tasks must be replaced: any change to the task template
 * does; a change of replica count or service labels does not.
 */
function specChangesTasks(a: ServiceSpec | undefined, b: ServiceSpec | undefined): boolean {
  if (a?.mode.case !== b?.mode.case) return true;
  if (!a?.task || !b?.task) return a?.task !== b?.task;
  return !equals(TaskSpecSchema, a.task, b.task);
}
