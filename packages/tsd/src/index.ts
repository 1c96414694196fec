/**
 * @tsctl/tsd composes a node daemon from the manager and worker packages and serves the gRPC
 * APIs on the node's local socket. It holds no cluster logic of its own.
 */
export { Daemon, version, type DaemonOptions } from "./daemon.js";
export { createLogger, type Logger } from "./logger.js";
export { loadNodeState, saveNodeState, type NodeState } from "./node-state.js";
