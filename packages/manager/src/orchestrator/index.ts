/**
 * orchestrator owns the services-to-tasks step: it creates, replaces and retires tasks so each
 * service has the tasks its spec asks for (slots for replicated services, one per eligible node for
 * global ones), applying the restart policy and spec changes. It only ever raises a task's desired
 * state; it must never assign nodes (the scheduler does), touch observed status (agents report it),
 * delete tasks (the reaper does), or read etcd directly (it works from store snapshots).
 */
export { planReplicated, asNodeMap, type NodeSet } from "./replicated.js";
export { planGlobal, acceptsGlobalTasks } from "./global.js";
export { planRemoved } from "./removed.js";
export { restartDecision, conditionAllows, countAttempts, DEFAULT_RESTART_DELAY_MS, type RestartDecision } from "./restart.js";
export { taskFactory, type Plan, type PlanOptions } from "./plan.js";
export { isEnded, isRunnable, observed } from "./task-states.js";
export { Orchestrator, type OrchestratorOptions } from "./orchestrator.js";
