/**
 * Read-only service commands: `service ls`, `service ps` and `service inspect`.
 */
import { InvalidArgumentError, TaskState, shortId, type ServiceSummary, type Task } from "@tsctl/api";
import type { Command } from "commander";
import type { Ctx } from "../context.js";
import { UsageError } from "../errors.js";
import { renderJson, renderList, renderObjectTemplate, type Column, type Row } from "../format/output.js";
import { dockerService, prettyService } from "../service/inspect.js";
import { getService, hostnames } from "../service/lookup.js";
import { taskColumns, taskRows } from "../service/tasks.js";
import { addOutputOptions, collect } from "./options.js";

const serviceColumns: Column[] = [
  { header: "ID", field: "ID" },
  { header: "NAME", field: "Name" },
  { header: "MODE", field: "Mode" },
  { header: "REPLICAS", field: "Replicas" },
  { header: "IMAGE", field: "Image" },
  { header: "PORTS", field: "Ports" },
];

/** serviceRow is one `service ls` row. */
export function serviceRow(summary: ServiceSummary): Row {
  const s = summary.service!;
  const mode = s.spec?.mode;
  const maxPerNode = Number(s.spec?.task?.placement?.maxReplicas ?? 0);
  let replicas = `${summary.runningTasks}/${summary.desiredTasks}`;
  if (mode?.case === "replicated" && maxPerNode > 0) replicas += ` (max ${maxPerNode} per node)`;
  return {
    ID: shortId(s.id),
    Name: s.spec?.annotations?.name ?? "",
    Mode: mode?.case === "global" ? "global" : "replicated",
    Replicas: replicas,
    Image: (s.spec?.task?.container?.image ?? "").replace(/@sha256:[0-9a-f]+$/, ""),
    Ports: "",
  };
}

/** registerServiceList adds `service ls`, `service ps` and `service inspect`. */
export function registerServiceList(service: Command, ctx: Ctx): void {
  addOutputOptions(service.command("ls").alias("list").description("List services")).action(
    async (opts: { quiet?: boolean; format?: string }) => {
      const ctl = await ctx.session().control();
      const { services } = await ctl.listServices({});
      const rows = services.filter((s) => s.service).map(serviceRow);
      rows.sort((a, b) => String(a.Name).localeCompare(String(b.Name)));
      ctx.io.out(renderList(serviceColumns, rows, opts));
    },
  );

  addOutputOptions(service.command("ps").description("List the tasks of one or more services"), "Only display task IDs")
    .argument("<service...>", "Services")
    .option("--no-trunc", "Do not truncate output")
    .option("-f, --filter <filter>", "Filter output based on conditions provided", collect)
    .action(async (refs: string[], opts: { quiet?: boolean; format?: string; trunc: boolean; filter?: string[] }) => {
      const ctl = await ctx.session().control();
      const ids: string[] = [];
      for (const ref of refs) ids.push((await getService(ctl, ref)).id);
      const filter = parseTaskFilters(opts.filter ?? []);
      const { tasks } = await ctl.listTasks({ serviceIds: ids, desiredStates: filter.desiredStates });
      const rows = taskRows(tasks.filter(filter.match), { hostnames: await hostnames(ctl), nowMs: ctx.io.now(), noTrunc: !opts.trunc });
      ctx.io.out(renderList(taskColumns, rows, opts));
    });

  service
    .command("inspect")
    .description("Display detailed information on one or more services")
    .argument("<service...>", "Services")
    .option("--pretty", "Print the information in a human friendly format")
    .option("-f, --format <string>", "Format output using a custom template")
    .action(async (refs: string[], opts: { pretty?: boolean; format?: string }) => {
      const ctl = await ctx.session().control();
      const found = [];
      const errors: unknown[] = [];
      for (const ref of refs) {
        try {
          found.push(await getService(ctl, ref));
        } catch (err) {
          errors.push(err);
        }
      }
      if (opts.pretty) ctx.io.out(found.map(prettyService).join("\n"));
      else if (opts.format) ctx.io.out(renderObjectTemplate(opts.format, found.map(dockerService)));
      else ctx.io.out(renderJson(found.map(dockerService)));
      for (const err of errors) ctx.report(err);
    });
}

interface TaskFilter {
  desiredStates: TaskState[];
  match: (t: Task) => boolean;
}

/**
 * parseTaskFilters reads `--filter key=value` for service ps (desired-state, id, name, node).
 * Bad filters raise InvalidArgument, worded as the daemon-side error Docker users know.
 */
export function parseTaskFilters(filters: readonly string[]): TaskFilter {
  const desiredStates: TaskState[] = [];
  const checks: ((t: Task) => boolean)[] = [];
  for (const f of filters) {
    const eq = f.indexOf("=");
    if (eq < 0) throw new UsageError(`bad format of filter (expected name=value)`);
    const key = f.slice(0, eq);
    const value = f.slice(eq + 1);
    switch (key) {
      case "desired-state": {
        const state = TaskState[value.toUpperCase() as keyof typeof TaskState];
        if (state === undefined || !["running", "shutdown", "accepted"].includes(value)) {
          throw new InvalidArgumentError(`Invalid filter 'desired-state=${value}'`);
        }
        desiredStates.push(state);
        break;
      }
      case "id":
        checks.push((t) => t.id.startsWith(value));
        break;
      case "name":
        checks.push((t) => `${t.serviceName}.${t.slot > 0 ? t.slot : t.nodeId}`.startsWith(value));
        break;
      case "node":
        checks.push((t) => t.nodeId === value || t.nodeId.startsWith(value));
        break;
      default:
        throw new InvalidArgumentError(`Invalid filter '${key}'`);
    }
  }
  return { desiredStates, match: (t) => checks.every((c) => c(t)) };
}
