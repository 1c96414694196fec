/**
 * @tsctl/worker is the node side: the agent that keeps a session with the manager and drives each
 * assigned task through its controller, the runc executor that runs containers, the image store,
 * the registry client that pulls images, and a fake executor for simulated nodes. It never
 * decides what runs where.
 */
export * from "./executor/types.js";
export * from "./images/index.js";
export * from "./registry/index.js";
export { Agent, type AgentOptions, type SessionCall } from "./agent/index.js";
export { FakeExecutor, type FakeExecutorOptions } from "./fake/index.js";
export { createRuncExecutor, type RuncExecutorOptions } from "./runc/index.js";
