/**
 * Validation of user-supplied specs. Every rule raises InvalidArgumentError with a message that
 * names the field and the bad value, so the CLI can print it as one line.
 */
import { InvalidArgumentError, type NodeSpec, type ServiceSpec } from "@tsctl/api";
import { parseConstraints } from "../scheduler/constraints.js";
import { validatePreferences } from "../scheduler/preferences.js";

// Swarm's rule for object names: DNS-label-like, so names can become hostnames and DNS records.
const namePattern = /^[a-zA-Z0-9](?:[-_.]*[a-zA-Z0-9])*$/;
const maxNameLength = 63;
// Below this the kernel's OOM killer fires before the process can start; Docker refuses it too.
const minMemoryLimit = 6 * 1024 * 1024;

/** validateName checks an object name against swarm's naming rule. */
export function validateName(kind: string, name: string): void {
  if (name === "") throw new InvalidArgumentError(`${kind} name must not be empty`);
  if (name.length > maxNameLength) {
    throw new InvalidArgumentError(`${kind} name "${name}" is longer than ${maxNameLength} characters`);
  }
  if (!namePattern.test(name)) {
    throw new InvalidArgumentError(
      `${kind} name "${name}" is invalid: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, starting and ending with a letter or digit`,
    );
  }
}

function nonNegative(field: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(`${field} must not be negative, got ${value}`);
  }
}

/** validateServiceSpec checks everything the orchestrator and the executor rely on. */
export function validateServiceSpec(spec: ServiceSpec | undefined): asserts spec is ServiceSpec {
  if (!spec) throw new InvalidArgumentError("service spec must be provided");
  validateName("service", spec.annotations?.name ?? "");
  const container = spec.task?.container;
  if (!container || container.image.trim() === "") {
    throw new InvalidArgumentError("ContainerSpec: image reference must be provided");
  }
  if (/\s/.test(container.image)) {
    throw new InvalidArgumentError(`ContainerSpec: "${container.image}" is not a valid image reference`);
  }
  for (const env of container.env) {
    if (env.startsWith("=") || env === "") {
      throw new InvalidArgumentError(`ContainerSpec: invalid environment variable "${env}"`);
    }
  }
  if (container.stopGracePeriodMs !== undefined) nonNegative("stop grace period", container.stopGracePeriodMs);

  const resources = spec.task?.resources;
  for (const [kind, r] of [
    ["limits", resources?.limits],
    ["reservations", resources?.reservations],
  ] as const) {
    if (!r) continue;
    nonNegative(`resources.${kind}.nano_cpus`, r.nanoCpus);
    nonNegative(`resources.${kind}.memory_bytes`, r.memoryBytes);
    nonNegative(`resources.${kind}.pids`, r.pids);
  }
  const memoryLimit = resources?.limits?.memoryBytes ?? 0;
  if (memoryLimit > 0 && memoryLimit < minMemoryLimit) {
    throw new InvalidArgumentError(`Minimum memory limit allowed is 6MB, got ${memoryLimit} bytes`);
  }
  const limits = resources?.limits;
  const reservations = resources?.reservations;
  if (limits && reservations) {
    if (limits.memoryBytes > 0 && reservations.memoryBytes > limits.memoryBytes) {
      throw new InvalidArgumentError("memory reservation must not exceed the memory limit");
    }
    if (limits.nanoCpus > 0 && reservations.nanoCpus > limits.nanoCpus) {
      throw new InvalidArgumentError("CPU reservation must not exceed the CPU limit");
    }
  }

  const restart = spec.task?.restart;
  if (restart) {
    if (restart.delayMs !== undefined) nonNegative("restart delay", restart.delayMs);
    nonNegative("restart window", restart.windowMs);
  }

  // Parsed here so a bad expression is refused at create/update rather than stored and then
  // silently matching no node; the parse error already speaks Docker's words.
  parseConstraints(spec.task?.placement?.constraints ?? []);
  // Likewise a preference the scheduler cannot read would be ignored without a word.
  validatePreferences(spec.task?.placement?.preferences ?? []);

  switch (spec.mode.case) {
    case "replicated":
    case "global":
      break;
    default:
      throw new InvalidArgumentError("service mode must be replicated or global");
  }
}

/** validateNodeSpec checks a node spec sent by `node update`. */
export function validateNodeSpec(spec: NodeSpec | undefined): asserts spec is NodeSpec {
  if (!spec) throw new InvalidArgumentError("node spec must be provided");
  for (const key of Object.keys(spec.annotations?.labels ?? {})) {
    if (key === "") throw new InvalidArgumentError("node label keys must not be empty");
  }
}
