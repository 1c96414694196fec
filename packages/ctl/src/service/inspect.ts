/**
 * The one mapping from tsctl's Service message to the Docker-shaped JSON of `service inspect`
 * (ID, Version.Index, CreatedAt, Spec.TaskTemplate…, durations in nanoseconds like Docker's API),
 * plus the `--pretty` text. Empty fields are left out, as Docker's omitempty does.
 */
import { RestartCondition, type Resources, type Service, type ServiceSpec } from "@tsctl/api";
import { bytesSize } from "../util/human.js";

type Json = Record<string, unknown>;

const conditionNames: Record<RestartCondition, string> = {
  [RestartCondition.ANY]: "any",
  [RestartCondition.ON_FAILURE]: "on-failure",
  [RestartCondition.NONE]: "none",
};

/** isoTime renders epoch milliseconds as RFC 3339 (UTC). */
export function isoTime(ms: number | number | undefined): string {
  return new Date(Number(ms ?? 0)).toISOString();
}

/** dockerService maps a Service to the shape `docker service inspect` prints. */
export function dockerService(s: Service): Json {
  return compact({
    ID: s.id,
    Version: { Index: Number(s.meta?.version ?? 0) },
    CreatedAt: isoTime(s.meta?.createdAtMs),
    UpdatedAt: isoTime(s.meta?.updatedAtMs),
    Spec: s.spec ? dockerSpec(s.spec) : {},
    PreviousSpec: s.previousSpec ? dockerSpec(s.previousSpec) : undefined,
    SpecVersion: { Index: Number(s.specVersion) },
  });
}

/** dockerSpec maps a ServiceSpec to Docker's ServiceSpec JSON. */
export function dockerSpec(spec: ServiceSpec): Json {
  const task = spec.task;
  const c = task?.container;
  const r = task?.restart;
  const p = task?.placement;
  return compact({
    Name: spec.annotations?.name ?? "",
    Labels: spec.annotations?.labels ?? {},
    TaskTemplate: compact({
      ContainerSpec: c
        ? compact({
            Image: c.image,
            Labels: c.labels,
            Command: c.command,
            Args: c.args,
            Hostname: c.hostname,
            Env: c.env,
            Dir: c.dir,
            User: c.user,
            Init: c.init || undefined,
            ReadOnly: c.readOnly || undefined,
            StopGracePeriod: c.stopGracePeriodMs === undefined ? undefined : nanos(c.stopGracePeriodMs),
          })
        : undefined,
      Resources: compact({ Limits: resources(task?.resources?.limits), Reservations: resources(task?.resources?.reservations) }),
      RestartPolicy: r
        ? compact({
            Condition: conditionNames[r.condition],
            Delay: r.delayMs === undefined ? undefined : nanos(r.delayMs),
            MaxAttempts: Number(r.maxAttempts),
            Window: r.windowMs ? nanos(r.windowMs) : undefined,
          })
        : undefined,
      Placement: p
        ? compact({
            Constraints: p.constraints,
            Preferences: p.preferences.map((pref) => ({ Spread: { SpreadDescriptor: pref.spreadDescriptor } })),
            MaxReplicas: Number(p.maxReplicas) || undefined,
          })
        : undefined,
      ForceUpdate: Number(task?.forceUpdate ?? 0),
    }),
    Mode: spec.mode.case === "global" ? { Global: {} } : { Replicated: { Replicas: Number(spec.mode.value?.replicas ?? 0) } },
  });
}

function resources(r: Resources | undefined): Json | undefined {
  if (!r) return undefined;
  return compact({
    NanoCPUs: Number(r.nanoCpus) || undefined,
    MemoryBytes: Number(r.memoryBytes) || undefined,
    Pids: Number(r.pids) || undefined,
  });
}

function nanos(ms: number): number {
  return Number(ms) * 1_000_000;
}

// Drop undefined, empty strings, empty arrays and empty objects, like Go's omitempty.
function compact(obj: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined || v === "" || (Array.isArray(v) && v.length === 0)) continue;
    if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0 && k !== "Global" && k !== "Labels") continue;
    out[k] = v;
  }
  return out;
}

/** prettyService is the human-readable `service inspect --pretty` text. */
export function prettyService(s: Service): string {
  const spec = s.spec;
  const c = spec?.task?.container;
  const lim = spec?.task?.resources?.limits;
  const res = spec?.task?.resources?.reservations;
  const out: string[] = [];
  const kv = (indent: string, key: string, value: string) => out.push(`${indent}${key}:`.padEnd(16) + value);
  out.push("");
  kv("", "ID", s.id);
  kv("", "Name", spec?.annotations?.name ?? "");
  const labels = Object.entries(spec?.annotations?.labels ?? {});
  if (labels.length > 0) {
    out.push("Labels:");
    for (const [k, v] of labels) out.push(` ${k}=${v}`);
  }
  if (spec?.mode.case === "global") kv("", "Service Mode", "Global");
  else {
    kv("", "Service Mode", "Replicated");
    kv(" ", "Replicas", String(spec?.mode.value?.replicas ?? 0));
  }
  const constraints = spec?.task?.placement?.constraints ?? [];
  const preferences = spec?.task?.placement?.preferences ?? [];
  if (constraints.length > 0 || preferences.length > 0) {
    out.push("Placement:");
    if (constraints.length > 0) kv(" ", "Constraints", `[${constraints.join(" ")}]`);
    if (preferences.length > 0) kv(" ", "Preferences", `[${preferences.map((p) => `spread=${p.spreadDescriptor}`).join(" ")}]`);
  }
  out.push("ContainerSpec:");
  kv(" ", "Image", c?.image ?? "");
  if (c?.command.length) kv(" ", "Command", c.command.join(" "));
  if (c?.args.length) kv(" ", "Args", c.args.join(" "));
  if (c?.env.length) kv(" ", "Env", c.env.join(" "));
  if (c?.dir) kv(" ", "Dir", c.dir);
  if (c?.user) kv(" ", "User", c.user);
  if (c?.init) kv(" ", "Init", "true");
  const resLines = (label: string, r: Resources | undefined) => {
    if (!r || (!r.nanoCpus && !r.memoryBytes && !r.pids)) return;
    out.push(` ${label}:`);
    if (r.nanoCpus) kv("  ", "CPU", String(Number(r.nanoCpus) / 1e9));
    if (r.memoryBytes) kv("  ", "Memory", bytesSize(Number(r.memoryBytes)));
    if (r.pids) kv("  ", "Pids", String(r.pids));
  };
  if (lim?.nanoCpus || lim?.memoryBytes || lim?.pids || res?.nanoCpus || res?.memoryBytes) {
    out.push("Resources:");
    resLines("Reservations", res);
    resLines("Limits", lim);
  }
  return out.join("\n") + "\n";
}
