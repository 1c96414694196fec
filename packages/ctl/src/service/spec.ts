/**
 * Building and changing a ServiceSpec from `service create` / `service update` flags. Pure: flag
 * strings in, a spec message out; every bad value is reported with Docker's flag-error wording.
 */
import { clone, create } from "@bufbuild/protobuf";
import {
  ContainerSpecSchema,
  PlacementPreferenceSchema,
  PlacementSchema,
  ResourceRequirementsSchema,
  ResourcesSchema,
  RestartCondition,
  RestartPolicySchema,
  ServiceSpecSchema,
  TaskSpecSchema,
  type PlacementPreference,
  type ServiceSpec,
  type TaskSpec,
} from "@tsctl/api";
import { UsageError } from "../errors.js";
import { mergeEnv, parseEnv, parseLabels, splitShellWords } from "../util/kv.js";
import { flagValue, oneOf, ParseError, parseDurationMs, parseInt64, parseNanoCpus, parseRamBytes, parseUint } from "../util/units.js";

/** CommonFlags are accepted by both create and update, as raw flag strings. */
export interface CommonFlags {
  replicas?: string;
  limitCpu?: string;
  limitMemory?: string;
  limitPids?: string;
  reserveCpu?: string;
  reserveMemory?: string;
  restartCondition?: string;
  restartDelay?: string;
  restartMaxAttempts?: string;
  restartWindow?: string;
  stopGracePeriod?: string;
  workdir?: string;
  user?: string;
  hostname?: string;
  entrypoint?: string;
  readOnly?: boolean;
  init?: boolean;
  replicasMaxPerNode?: string;
}

/** CreateFlags are the options of `service create`. */
export interface CreateFlags extends CommonFlags {
  name?: string;
  mode?: string;
  env?: string[];
  label?: string[];
  containerLabel?: string[];
  constraint?: string[];
  placementPref?: string[];
}

/** UpdateFlags are the options of `service update`. */
export interface UpdateFlags extends CommonFlags {
  image?: string;
  args?: string;
  envAdd?: string[];
  envRm?: string[];
  labelAdd?: string[];
  labelRm?: string[];
  containerLabelAdd?: string[];
  containerLabelRm?: string[];
  constraintAdd?: string[];
  constraintRm?: string[];
  placementPrefAdd?: string[];
  placementPrefRm?: string[];
  force?: boolean;
}

type Env = Record<string, string | undefined>;

const restartConditions: Record<string, RestartCondition> = {
  any: RestartCondition.ANY,
  "on-failure": RestartCondition.ON_FAILURE,
  none: RestartCondition.NONE,
};

/** buildServiceSpec turns `service create` flags and IMAGE [COMMAND] [ARG...] into a spec. */
export function buildServiceSpec(flags: CreateFlags, image: string, args: readonly string[], env: Env): ServiceSpec {
  const mode = flagValue("--mode", flags.mode ?? "replicated", oneOf("replicated", "global"));
  const spec = create(ServiceSpecSchema, {
    annotations: { name: flags.name ?? "", labels: labelsFlag("--label", flags.label) },
    task: {
      container: {
        image,
        args: [...args],
        env: (flags.env ?? []).map((e) => flagValue("--env", e, (v) => parseEnv(v, env))),
        labels: labelsFlag("--container-label", flags.containerLabel),
      },
    },
  });
  if (mode === "global") {
    if (flags.replicas !== undefined) throw new UsageError("replicas can only be used with replicated mode");
    spec.mode = create(ServiceSpecSchema, { mode: { case: "global", value: {} } }).mode;
  } else {
    const replicas = flags.replicas === undefined ? 1 : flagValue("--replicas", flags.replicas, parseUint);
    spec.mode = create(ServiceSpecSchema, { mode: { case: "replicated", value: { replicas } } }).mode;
  }
  const task = spec.task!;
  if (flags.constraint?.length) placementOf(task).constraints = [...flags.constraint];
  if (flags.placementPref?.length) placementOf(task).preferences = preferencesFlag("--placement-pref", flags.placementPref);
  applyCommon(spec, flags);
  return spec;
}

/** applyServiceUpdate returns a copy of spec with `service update` flags applied. */
export function applyServiceUpdate(current: ServiceSpec, flags: UpdateFlags, env: Env): ServiceSpec {
  const spec = clone(ServiceSpecSchema, current);
  const task = (spec.task ??= create(TaskSpecSchema));
  const container = (task.container ??= create(ContainerSpecSchema));
  if (flags.image !== undefined) container.image = flags.image;
  if (flags.args !== undefined) container.args = flagValue("--args", flags.args, splitShellWords);
  if (flags.envAdd?.length || flags.envRm?.length) {
    const add = (flags.envAdd ?? []).map((e) => flagValue("--env-add", e, (v) => parseEnv(v, env)));
    container.env = mergeEnv(container.env, add, flags.envRm ?? []);
  }
  const annotations = spec.annotations!;
  annotations.labels = updateLabels(annotations.labels, "--label-add", flags.labelAdd, flags.labelRm);
  container.labels = updateLabels(container.labels, "--container-label-add", flags.containerLabelAdd, flags.containerLabelRm);
  if (flags.constraintAdd?.length || flags.constraintRm?.length) {
    const placement = placementOf(task);
    const rm = new Set(flags.constraintRm ?? []);
    const kept = placement.constraints.filter((c) => !rm.has(c));
    placement.constraints = [...kept, ...(flags.constraintAdd ?? []).filter((c) => !kept.includes(c))];
  }
  if (flags.placementPrefAdd?.length || flags.placementPrefRm?.length) {
    // Removals first, then additions appended in order (the order is the hierarchy); a preference
    // already present keeps its place, as a constraint does.
    const placement = placementOf(task);
    const rm = new Set(preferencesFlag("--placement-pref-rm", flags.placementPrefRm).map((p) => p.spreadDescriptor));
    const next = placement.preferences.filter((p) => !rm.has(p.spreadDescriptor));
    for (const p of preferencesFlag("--placement-pref-add", flags.placementPrefAdd)) {
      if (!next.some((q) => q.spreadDescriptor === p.spreadDescriptor)) next.push(p);
    }
    placement.preferences = next;
  }
  if (flags.replicas !== undefined) {
    if (spec.mode.case !== "replicated") throw new UsageError("replicas can only be used with replicated mode");
    spec.mode.value.replicas = flagValue("--replicas", flags.replicas, parseUint);
  }
  if (flags.force) task.forceUpdate += 1;
  applyCommon(spec, flags);
  return spec;
}

/** withReplicas returns a copy of spec scaled to n replicas (`service scale`). */
export function withReplicas(current: ServiceSpec, n: number, name: string): ServiceSpec {
  if (current.mode.case !== "replicated") {
    throw new UsageError(`${name}: scale can only be used with replicated mode`);
  }
  const spec = clone(ServiceSpecSchema, current);
  if (spec.mode.case === "replicated") spec.mode.value.replicas = n;
  return spec;
}

function updateLabels(current: Record<string, string>, flag: string, add?: string[], rm?: string[]): Record<string, string> {
  const out = { ...current };
  for (const k of rm ?? []) delete out[k];
  return { ...out, ...labelsFlag(flag, add) };
}

// Each value is parsed on its own so an error names the exact value the user typed.
function labelsFlag(flag: string, values: readonly string[] | undefined): Record<string, string> {
  return Object.assign({}, ...(values ?? []).map((v) => flagValue(flag, v, (x) => parseLabels([x]))));
}

/**
 * parsePlacementPref reads Docker's `spread=<descriptor>`. Only the strategy is checked here; the
 * manager judges the descriptor (node.labels.<key>), so there is one rule and one message for it.
 */
export function parsePlacementPref(value: string): PlacementPreference {
  const at = value.indexOf("=");
  const strategy = at < 0 ? "" : value.slice(0, at).trim().toLowerCase();
  const descriptor = at < 0 ? "" : value.slice(at + 1).trim();
  if (strategy !== "spread" || descriptor === "") {
    throw new ParseError(`invalid placement preference: ${value} (want spread=node.labels.<key>)`);
  }
  return create(PlacementPreferenceSchema, { spreadDescriptor: descriptor });
}

function preferencesFlag(flag: string, values: readonly string[] | undefined): PlacementPreference[] {
  return (values ?? []).map((v) => flagValue(flag, v, parsePlacementPref));
}

function placementOf(task: TaskSpec) {
  return (task.placement ??= create(PlacementSchema));
}

// Only flags the user gave touch the spec, so `update` keeps everything else as stored.
function applyCommon(spec: ServiceSpec, f: CommonFlags): void {
  const task = spec.task!;
  const c = task.container!;
  if (f.workdir !== undefined) c.dir = f.workdir;
  if (f.user !== undefined) c.user = f.user;
  if (f.hostname !== undefined) c.hostname = f.hostname;
  if (f.entrypoint !== undefined) c.command = flagValue("--entrypoint", f.entrypoint, splitShellWords);
  if (f.readOnly !== undefined) c.readOnly = f.readOnly;
  if (f.init !== undefined) c.init = f.init;
  if (f.stopGracePeriod !== undefined) c.stopGracePeriodMs = ms(flagValue("--stop-grace-period", f.stopGracePeriod, parseDurationMs));

  const res = (task.resources ??= create(ResourceRequirementsSchema));
  const limits = (res.limits ??= create(ResourcesSchema));
  const reserve = (res.reservations ??= create(ResourcesSchema));
  if (f.limitCpu !== undefined) limits.nanoCpus = flagValue("--limit-cpu", f.limitCpu, parseNanoCpus);
  if (f.limitMemory !== undefined) limits.memoryBytes = flagValue("--limit-memory", f.limitMemory, parseRamBytes);
  if (f.limitPids !== undefined) limits.pids = flagValue("--limit-pids", f.limitPids, parseInt64);
  if (f.reserveCpu !== undefined) reserve.nanoCpus = flagValue("--reserve-cpu", f.reserveCpu, parseNanoCpus);
  if (f.reserveMemory !== undefined) reserve.memoryBytes = flagValue("--reserve-memory", f.reserveMemory, parseRamBytes);

  const restartGiven = [f.restartCondition, f.restartDelay, f.restartMaxAttempts, f.restartWindow].some((v) => v !== undefined);
  if (restartGiven) {
    const r = (task.restart ??= create(RestartPolicySchema));
    if (f.restartCondition !== undefined) {
      r.condition = restartConditions[flagValue("--restart-condition", f.restartCondition, oneOf("none", "on-failure", "any"))]!;
    }
    if (f.restartDelay !== undefined) r.delayMs = ms(flagValue("--restart-delay", f.restartDelay, parseDurationMs));
    if (f.restartMaxAttempts !== undefined) r.maxAttempts = flagValue("--restart-max-attempts", f.restartMaxAttempts, parseUint);
    if (f.restartWindow !== undefined) r.windowMs = ms(flagValue("--restart-window", f.restartWindow, parseDurationMs));
  }
  if (f.replicasMaxPerNode !== undefined) {
    placementOf(task).maxReplicas = flagValue("--replicas-max-per-node", f.replicasMaxPerNode, parseUint);
  }
}

function ms(value: number): number {
  return Math.round(value);
}
