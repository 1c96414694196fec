/**
 * dispatcher owns the agents' sessions: node registration and health, task assignments to nodes,
 * batched task status writes and log routing. It never decides where or whether a task runs
 * (orchestrator and scheduler do), and never lets a task's observed state go backwards.
 */
export { Dispatcher, type DispatcherOptions, type ManagerPeer } from "./dispatcher.js";
export { StatusWriter } from "./status-writer.js";
export { NodeHealth } from "./node-health.js";
