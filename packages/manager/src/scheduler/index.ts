/**
 * scheduler owns the tasks-to-nodes step: it picks a node for every pending task (filters, then
 * spread scoring over a snapshot of the nodes, split first by the service's placement preferences)
 * and records why a task could not be placed. It must never create, delete or restart tasks (the
 * orchestrator does), move a task's observed state anywhere but PENDING → ASSIGNED, place a task
 * before its notBeforeMs, let a placement preference leave a task unplaced, or read etcd directly.
 */
export { schedule, needsNode, type Assignment, type Unassigned, type ScheduleResult, type ScheduleOptions } from "./schedule.js";
export { defaultFilters, Pipeline, ReadyFilter, AvailabilityFilter, ResourceFilter, MaxReplicasFilter, type Filter } from "./filters.js";
export { NodePool, demandOf, type Demand } from "./node-pool.js";
export { spreadLabel, spreadLabels, validatePreferences } from "./preferences.js";
export { SpreadShape, SpreadTree } from "./spread-tree.js";
export { seededRandom, shuffledRanks } from "./random.js";
export { Scheduler, ASSIGNED_MESSAGE } from "./scheduler.js";
