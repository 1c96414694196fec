/**
 * reaper owns deleting tasks: the history beyond the retention limit of each slot, and tasks
 * marked desired REMOVE once nothing can still be running them. It must never delete a task that
 * may still run or that holds its slot, change any task, or read etcd directly.
 */
export { planReap, DEFAULT_RETENTION_LIMIT } from "./plan-reap.js";
export { TaskReaper, type TaskReaperOptions } from "./task-reaper.js";
