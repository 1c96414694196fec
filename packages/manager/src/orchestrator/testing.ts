/**
 * Builders for the controllers' tests (orchestrator, scheduler, reaper): terse, deterministic
 * objects with only the fields a rule looks at.
 */
import { create } from "@bufbuild/protobuf";
import {
  NodeAvailability,
  NodeSchema,
  NodeState,
  RestartCondition,
  ServiceSchema,
  TaskSchema,
  TaskState,
  type Node,
  type Service,
  type Task,
} from "@tsctl/api";

let seq = 0;
/** testId returns ids that sort in creation order. */
export function testId(prefix: string): string {
  return `${prefix}${String(++seq).padStart(6, "0")}`;
}

export interface ServiceOpts {
  id?: string;
  name?: string;
  replicas?: number;
  global?: boolean;
  specVersion?: number;
  condition?: RestartCondition;
  delayMs?: number;
  maxAttempts?: number;
  windowMs?: number;
  nanoCpus?: number;
  memoryBytes?: number;
  maxReplicas?: number;
}

/** testService builds a replicated (default 1 replica) or global service. */
export function testService(o: ServiceOpts = {}): Service {
  return create(ServiceSchema, {
    id: o.id ?? testId("svc"),
    specVersion: o.specVersion ?? 1,
    spec: {
      annotations: { name: o.name ?? "web" },
      task: {
        container: { image: "busybox" },
        restart: { condition: o.condition ?? RestartCondition.ANY, delayMs: o.delayMs, maxAttempts: o.maxAttempts ?? 0, windowMs: o.windowMs ?? 0 },
        resources: { reservations: { nanoCpus: o.nanoCpus ?? 0, memoryBytes: o.memoryBytes ?? 0 } },
        placement: { maxReplicas: o.maxReplicas ?? 0 },
      },
      mode: o.global ? { case: "global", value: {} } : { case: "replicated", value: { replicas: o.replicas ?? 1 } },
    },
  });
}

export interface NodeOpts {
  state?: NodeState;
  availability?: NodeAvailability;
  nanoCpus?: number;
  memoryBytes?: number;
}

/** testNode builds a READY, ACTIVE node with 4 CPUs and 8 GiB unless told otherwise. */
export function testNode(id: string, o: NodeOpts = {}): Node {
  return create(NodeSchema, {
    id,
    spec: { availability: o.availability ?? NodeAvailability.ACTIVE },
    description: { hostname: id, resources: { nanoCpus: o.nanoCpus ?? 4e9, memoryBytes: o.memoryBytes ?? 8 * 2 ** 30 } },
    status: { state: o.state ?? NodeState.READY },
  });
}

export interface TaskOpts {
  id?: string;
  slot?: number;
  nodeId?: string;
  state?: TaskState;
  desired?: TaskState;
  /** status.timestampMs: when the observed state was reached. */
  at?: number;
  createdAt?: number;
  specVersion?: number;
  notBeforeMs?: number;
}

/** testTask builds a task of service, RUNNING on node "n1" in slot 1 unless told otherwise. */
export function testTask(service: Service, o: TaskOpts = {}): Task {
  return create(TaskSchema, {
    id: o.id ?? testId("task"),
    meta: { createdAtMs: o.createdAt ?? o.at ?? 0 },
    serviceId: service.id,
    serviceName: service.spec?.annotations?.name ?? "",
    slot: o.slot ?? 1,
    nodeId: o.nodeId ?? "n1",
    spec: service.spec?.task,
    specVersion: o.specVersion ?? service.specVersion,
    desiredState: o.desired ?? TaskState.RUNNING,
    status: { state: o.state ?? TaskState.RUNNING, timestampMs: o.at ?? 0 },
    notBeforeMs: o.notBeforeMs ?? 0,
  });
}

/** sequentialIds returns a newId replacement yielding new1, new2, … for readable assertions. */
export function sequentialIds(prefix = "new"): () => string {
  let n = 0;
  return () => `${prefix}${++n}`;
}
