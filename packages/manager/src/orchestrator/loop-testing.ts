/**
 * Helpers for controller-loop tests over the memory store: seeding objects, playing the agent's
 * part (status reports), and waiting until a set of controllers stops reacting to each other.
 */
import { clone, create } from "@bufbuild/protobuf";
import { TaskSchema, TaskStatusSchema, type Node, type Service, type Task, type TaskState } from "@tsctl/api";
import type { Store } from "../store/types.js";

/** Settleable is anything with an idle() promise, i.e. every controller. */
export interface Settleable {
  idle(): Promise<void>;
}

/** settle waits until no controller has a pass queued or running, across their ping-pong. */
export async function settle(...controllers: Settleable[]): Promise<void> {
  for (let quiet = 0; quiet < 3; ) {
    await Promise.all(controllers.map((c) => c.idle()));
    await new Promise((r) => setImmediate(r));
    quiet++;
  }
}

/** seed writes nodes and services into the store. */
export async function seed(store: Store, objs: { nodes?: Node[]; services?: Service[] }): Promise<void> {
  await store.update((tx) => {
    for (const n of objs.nodes ?? []) tx.create("node", n);
    for (const s of objs.services ?? []) tx.create("service", s);
  });
}

/** report plays the agent: the task's observed state becomes state at atMs. */
export async function report(store: Store, taskId: string, state: TaskState, atMs: number): Promise<void> {
  await store.update((tx) => {
    const t = clone(TaskSchema, tx.get("task", taskId)!);
    t.status = create(TaskStatusSchema, { state, timestampMs: atMs, message: "reported" });
    tx.update("task", t);
  });
}

/** tasksOf lists a service's tasks, sorted by slot then creation, for assertions. */
export function tasksOf(store: Store, serviceId: string): Task[] {
  return store
    .view((tx) => tx.tasksByService(serviceId))
    .sort((a, b) => a.slot - b.slot || (a.meta?.createdAtMs ?? 0) - (b.meta?.createdAtMs ?? 0) || (a.id < b.id ? -1 : 1));
}
