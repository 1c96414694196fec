/**
 * `container ls` and `container exec` against the local node's NodeService.
 */
import { FailedPreconditionError, InvalidArgumentError, type ContainerSummary } from "@tsctl/api";
import type { Command } from "commander";
import type { Ctx } from "../context.js";
import { NoSuchObjectError } from "../errors.js";
import { renderList, type Column, type Row } from "../format/output.js";
import { ago, capitalize, ellipsis, humanDuration } from "../util/human.js";
import { parseEnv } from "../util/kv.js";
import { flagValue } from "../util/units.js";
import { addOutputOptions, collect } from "./options.js";

const containerColumns: Column[] = [
  { header: "CONTAINER ID", field: "ID" },
  { header: "IMAGE", field: "Image" },
  { header: "COMMAND", field: "Command" },
  { header: "CREATED", field: "CreatedAt" },
  { header: "STATUS", field: "Status" },
  { header: "NAMES", field: "Names" },
];

/** containerRow is one `container ls` row. */
export function containerRow(c: ContainerSummary, nowMs: number, noTrunc: boolean): Row {
  return {
    ID: noTrunc ? c.id : c.id.slice(0, 12),
    Image: c.image,
    Command: JSON.stringify(noTrunc ? c.command : ellipsis(c.command, 20)),
    CreatedAt: ago(Number(c.createdMs), nowMs),
    Status: containerStatus(c, nowMs),
    Names: c.name,
    State: c.state,
  };
}

/** containerStatus renders Docker's STATUS column: "Up 3 minutes", "Exited (137) 2 seconds ago". */
export function containerStatus(c: ContainerSummary, nowMs: number): string {
  if (c.status) return c.status;
  if (c.state === "running") return `Up ${humanDuration(Math.max(0, nowMs - Number(c.createdMs)))}`;
  if (c.state === "exited") return `Exited (${c.exitCode}) ${ago(Number(c.finishedMs || c.createdMs), nowMs)}`;
  return capitalize(c.state);
}

/**
 * findContainer resolves an exact id, an exact name, or a unique id prefix. The node API has no
 * lookup rpc, so resolution happens here, raising the errors the daemon would.
 */
export function findContainer(all: readonly ContainerSummary[], ref: string): ContainerSummary {
  const exact = all.find((c) => c.id === ref || c.name === ref || c.name === `/${ref}`);
  if (exact) return exact;
  const byPrefix = all.filter((c) => c.id.startsWith(ref));
  if (byPrefix.length === 1) return byPrefix[0]!;
  if (byPrefix.length > 1) throw new InvalidArgumentError(`multiple IDs found with provided prefix: ${ref}`);
  throw new NoSuchObjectError("container", ref);
}

/** registerContainer adds the `container` command group. */
export function registerContainer(program: Command, ctx: Ctx): void {
  const container = program.command("container").description("Manage containers");
  addOutputOptions(container.command("ls").aliases(["list", "ps"]).description("List containers"))
    .option("-a, --all", "Show all containers (default shows just running)")
    .option("--no-trunc", "Don't truncate output")
    .action(async (opts: { all?: boolean; quiet?: boolean; format?: string; trunc: boolean }) => {
      const node = await ctx.session().node();
      const { containers } = await node.listContainers({ all: opts.all ?? false });
      const rows = [...containers].sort((a, b) => Number(b.createdMs - a.createdMs)).map((c) => containerRow(c, ctx.io.now(), !opts.trunc));
      ctx.io.out(renderList(containerColumns, rows, opts));
    });

  container
    .command("exec")
    .description("Execute a command in a running container")
    .argument("<container>", "Container id, id prefix or name")
    .argument("<command...>", "Command and arguments")
    .option("-e, --env <var>", "Set environment variables", collect)
    .option("-u, --user <string>", "Username or UID (format: <name|uid>[:<group|gid>])")
    .option("-w, --workdir <string>", "Working directory inside the container")
    .passThroughOptions()
    .action(async (ref: string, argv: string[], opts: { env?: string[]; user?: string; workdir?: string }) => {
      // With pass-through options commander keeps a "--" separating the command; it is not part of it.
      const cmd = argv[0] === "--" ? argv.slice(1) : argv;
      const node = await ctx.session().node();
      const { containers } = await node.listContainers({ all: true });
      const target = findContainer(containers, ref);
      if (target.state !== "running") throw new FailedPreconditionError(`container ${target.id} is not running`);
      const env = (opts.env ?? []).map((e) => flagValue("--env", e, (v) => parseEnv(v, ctx.io.env)));
      let exitCode = 0;
      for await (const out of node.exec({ containerId: target.id, cmd, env, user: opts.user ?? "", workdir: opts.workdir ?? "" })) {
        if (out.out.case === "stdout") ctx.io.outBytes(out.out.value);
        else if (out.out.case === "stderr") ctx.io.errBytes(out.out.value);
        else if (out.out.case === "exitCode") exitCode = out.out.value;
      }
      ctx.exitCode = exitCode;
    });
}
