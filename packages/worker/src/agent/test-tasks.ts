/**
 * testTask builds tasks for agent tests and simulations: a running desired state, status
 * ASSIGNED as the manager would send it, and a container spec.
 */
import { create } from "@bufbuild/protobuf";
import { TaskSchema, TaskState, type Task } from "@tsctl/api";

export interface TestTaskOptions {
  image?: string;
  desired?: TaskState;
  labels?: Record<string, string>;
  stopGracePeriodMs?: number;
  state?: TaskState;
}

/** testTask returns a task as a manager would assign it to node "node-1". */
export function testTask(id: string, o: TestTaskOptions = {}): Task {
  return create(TaskSchema, {
    id,
    serviceId: "svc-1",
    serviceName: "web",
    slot: 1,
    nodeId: "node-1",
    desiredState: o.desired ?? TaskState.RUNNING,
    status: { state: o.state ?? TaskState.ASSIGNED, message: "assigned" },
    spec: {
      container: {
        image: o.image ?? "busybox:latest",
        labels: o.labels ?? {},
        ...(o.stopGracePeriodMs === undefined ? {} : { stopGracePeriodMs: o.stopGracePeriodMs }),
      },
    },
  });
}

/** withDesired returns a copy of task with another desired state. */
export function withDesired(task: Task, desired: TaskState): Task {
  return create(TaskSchema, { ...task, desiredState: desired });
}
