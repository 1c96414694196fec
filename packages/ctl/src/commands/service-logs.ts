/**
 * `service logs`: streams a service's (or one task's) log lines, each prefixed like Docker's
 * `web.1.<task>@<host>    | `, stdout lines to stdout and stderr lines to stderr.
 */
import { isTsctlError, shortId, type LogMessage } from "@tsctl/api";
import type { Command } from "commander";
import type { Ctx } from "../context.js";
import { NoSuchObjectError } from "../errors.js";
import { getService, getTask, hostnames } from "../service/lookup.js";
import { flagValue, parseUint } from "../util/units.js";

/** LogPrefixer builds per-line prefixes; padding keeps the `|` aligned across slot widths. */
export class LogPrefixer {
  constructor(
    private readonly serviceName: string,
    private readonly hosts: ReadonlyMap<string, string>,
    private readonly opts: { noTaskIds: boolean; timestamps: boolean; slotWidth: number },
  ) {}

  /** prefix is everything printed before the log text of msg. */
  prefix(msg: LogMessage): string {
    const slot = msg.slot > 0 ? String(msg.slot) : msg.nodeId;
    const task = this.opts.noTaskIds ? "" : `.${shortId(msg.taskId)}`;
    const host = this.hosts.get(msg.nodeId) || msg.nodeId;
    const pad = " ".repeat(3 + Math.max(0, this.opts.slotWidth - slot.length));
    const time = this.opts.timestamps ? new Date(Number(msg.timestampMs)).toISOString() + " " : "";
    return `${time}${this.serviceName}.${slot}${task}@${host}${pad} | `;
  }
}

/** splitLines cuts a chunk into lines, dropping the empty piece after a final newline. */
export function splitLines(text: string): string[] {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/** registerServiceLogs adds `service logs`. */
export function registerServiceLogs(service: Command, ctx: Ctx): void {
  service
    .command("logs")
    .description("Fetch the logs of a service or task")
    .argument("<service|task>", "Service or task")
    .option("-f, --follow", "Follow log output")
    .option("-n, --tail <lines>", 'Number of lines to show from the end of the logs (default "all")')
    .option("-t, --timestamps", "Show timestamps")
    .option("--no-task-ids", "Do not include task IDs in output")
    .action(async (ref: string, opts: { follow?: boolean; tail?: string; timestamps?: boolean; taskIds: boolean }) => {
      const tail = opts.tail === undefined || opts.tail === "all" ? 0 : flagValue("--tail", opts.tail, parseUint);
      const ctl = await ctx.session().control();
      let isTask = false;
      let serviceName: string;
      let replicas = 1;
      try {
        const svc = await getService(ctl, ref);
        serviceName = svc.spec?.annotations?.name ?? ref;
        if (svc.spec?.mode.case === "replicated") replicas = Number(svc.spec.mode.value.replicas);
      } catch (err) {
        if (!(err instanceof NoSuchObjectError)) throw err;
        const task = await getTask(ctl, ref).catch((e: unknown) => {
          throw e instanceof NoSuchObjectError ? new NoSuchObjectError("task or service", ref) : e;
        });
        isTask = true;
        serviceName = task.serviceName;
      }
      const prefixer = new LogPrefixer(serviceName, await hostnames(ctl), {
        noTaskIds: !opts.taskIds,
        timestamps: opts.timestamps ?? false,
        slotWidth: String(replicas).length,
      });
      const decoder = new TextDecoder();
      try {
        for await (const msg of ctl.serviceLogs({ target: ref, task: isTask, follow: opts.follow ?? false, tail, timestamps: opts.timestamps ?? false })) {
          const prefix = prefixer.prefix(msg);
          const text = splitLines(decoder.decode(msg.data)).map((l) => prefix + l + "\n").join("");
          if (msg.stream === "stderr") ctx.io.err(text);
          else ctx.io.out(text);
        }
      } catch (err) {
        if (isTsctlError(err, "NotFound")) throw new NoSuchObjectError(isTask ? "task" : "service", ref);
        throw err;
      }
    });
}
