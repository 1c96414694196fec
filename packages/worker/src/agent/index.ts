/**
 * agent owns the node side of the cluster: the dispatcher session (register, heartbeats,
 * reconnect with backoff), the task state machine run by one worker per assigned task, status
 * reporting that survives reconnects, re-adoption of containers after a tsd restart, and log
 * subscriptions. It never decides what runs where (the manager does) and never stops containers
 * when it stops itself: containers outlive tsd.
 */
export { Agent, type AgentEvents } from "./agent.js";
export { Backoff, sleep, type BackoffOptions } from "./backoff.js";
export { LogStreamer, type LogStreamerDeps, type LogChunkInit } from "./log-streamer.js";
export { StatusReporter, type StatusSink, type StatusUpdate } from "./status-reporter.js";
export { TaskSet, type TaskView } from "./task-set.js";
export { adopt, step, type StepContext } from "./task-step.js";
export { DEFAULT_STOP_GRACE_MS, exitToStatus, isTerminal, stopGraceMs, taskStatus } from "./task-state.js";
export { TaskWorker, type TaskWorkerDeps } from "./task-worker.js";
export { realClock, silentLogger, type AgentOptions, type Clock, type Logger, type SessionCall } from "./types.js";
// Harnesses for tests and simulations of this package and others (tsd, bench).
export { FakeDispatcher, FakeSession, waitUntil } from "./fake-dispatcher.js";
export { testTask, withDesired, type TestTaskOptions } from "./test-tasks.js";
