/**
 * fake owns FakeExecutor: an Executor whose containers live in memory, with hooks to fail,
 * hang, exit or crash them and counters of every controller call. It is what agent tests and
 * simulated-scale nodes run on. It never starts processes or touches the host.
 */
export { FakeExecutor, type FakeExecutorOptions, type FakeContainer, type FakeMethod, type FakeTimers } from "./fake-executor.js";
export { FakeController, hang } from "./fake-controller.js";
export { behaviourFromLabels, FAKE_LABEL_PREFIX, type FakeBehaviour } from "./fake-behaviour.js";
