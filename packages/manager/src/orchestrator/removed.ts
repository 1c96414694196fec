import { TaskState, type Task } from "@tsctl/api";
import { withDesired } from "./plan.js";

/**
 * planRemoved handles the tasks of a service that no longer exists: each is marked desired REMOVE,
 * which tells its agent to stop it and the task reaper to delete it once it is over.
 */
export function planRemoved(tasks: readonly Task[]): Task[] {
  return tasks.filter((t) => t.desiredState < TaskState.REMOVE).map((t) => withDesired(t, TaskState.REMOVE));
}
