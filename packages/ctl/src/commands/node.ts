/**
 * `node ls`, `node inspect` and `node update`.
 */
import { clone, create } from "@bufbuild/protobuf";
import { AnnotationsSchema, NodeAvailability, NodeRole, NodeSpecSchema, NodeState, Reachability, type Node } from "@tsctl/api";
import type { Command } from "commander";
import type { Ctx } from "../context.js";
import { renderJson, renderList, renderObjectTemplate, type Column, type Row } from "../format/output.js";
import { isoTime } from "../service/inspect.js";
import { getNode } from "../service/lookup.js";
import { capitalize } from "../util/human.js";
import { parseLabels } from "../util/kv.js";
import { flagValue, oneOf } from "../util/units.js";
import { addOutputOptions, collect } from "./options.js";

const nodeColumns: Column[] = [
  { header: "ID", field: "IDColumn" },
  { header: "HOSTNAME", field: "Hostname" },
  { header: "STATUS", field: "Status" },
  { header: "AVAILABILITY", field: "Availability" },
  { header: "MANAGER STATUS", field: "ManagerStatus" },
  { header: "ENGINE VERSION", field: "EngineVersion" },
];

const lower = (name: string | undefined) => (name ?? "unknown").toLowerCase();

/** managerStatus is Leader / Reachable / Unreachable, or "" for workers. */
export function managerStatus(n: Node): string {
  const m = n.managerStatus;
  if (!m) return "";
  if (m.leader) return "Leader";
  if (m.reachability === Reachability.UNKNOWN && n.role !== NodeRole.MANAGER) return "";
  return capitalize(lower(Reachability[m.reachability]));
}

/** nodeRow is one `node ls` row; the local node's ID gets Docker's " *" marker in the table. */
export function nodeRow(n: Node, selfId: string): Row {
  const self = n.id === selfId;
  return {
    ID: n.id,
    IDColumn: self ? `${n.id} *` : n.id,
    Hostname: n.description?.hostname ?? "",
    Status: capitalize(lower(NodeState[n.status?.state ?? NodeState.UNKNOWN])),
    Availability: capitalize(lower(NodeAvailability[n.spec?.availability ?? NodeAvailability.ACTIVE])),
    ManagerStatus: managerStatus(n),
    EngineVersion: n.description?.engineVersion ?? "",
    Self: self,
  };
}

/** dockerNode maps a Node to the shape `docker node inspect` prints. */
export function dockerNode(n: Node): Record<string, unknown> {
  return {
    ID: n.id,
    Version: { Index: Number(n.meta?.version ?? 0) },
    CreatedAt: isoTime(n.meta?.createdAtMs),
    UpdatedAt: isoTime(n.meta?.updatedAtMs),
    Spec: {
      Labels: n.spec?.annotations?.labels ?? {},
      Role: lower(NodeRole[n.spec?.desiredRole ?? n.role]),
      Availability: lower(NodeAvailability[n.spec?.availability ?? NodeAvailability.ACTIVE]),
    },
    Description: {
      Hostname: n.description?.hostname ?? "",
      Platform: { Architecture: n.description?.platform?.architecture ?? "", OS: n.description?.platform?.os ?? "" },
      Resources: { NanoCPUs: Number(n.description?.resources?.nanoCpus ?? 0), MemoryBytes: Number(n.description?.resources?.memoryBytes ?? 0) },
      Engine: { EngineVersion: n.description?.engineVersion ?? "" },
    },
    Status: { State: lower(NodeState[n.status?.state ?? NodeState.UNKNOWN]), Message: n.status?.message ?? "", Addr: n.status?.addr ?? "" },
    ...(n.managerStatus
      ? { ManagerStatus: { Leader: n.managerStatus.leader, Reachability: lower(Reachability[n.managerStatus.reachability]), Addr: n.managerStatus.addr } }
      : {}),
  };
}

function prettyNode(n: Node): string {
  const d = dockerNode(n) as { Spec: Record<string, unknown>; Description: { Platform: Record<string, string>; Resources: Record<string, number> }; Status: Record<string, string> };
  const rows: [string, string][] = [
    ["ID", n.id],
    ["Hostname", n.description?.hostname ?? ""],
    ["Joined at", isoTime(n.meta?.createdAtMs)],
    ["Status", ""],
    [" State", capitalize(d.Status["State"] ?? "")],
    [" Availability", capitalize(String(d.Spec["Availability"]))],
    [" Address", d.Status["Addr"] ?? ""],
  ];
  const ms = managerStatus(n);
  if (ms) rows.push(["Manager Status", ""], [" Address", n.managerStatus?.addr ?? ""], [" Raft Status", ms === "Leader" ? "Reachable" : ms], [" Leader", ms === "Leader" ? "Yes" : "No"]);
  rows.push(["Platform", ""], [" Operating System", d.Description.Platform["OS"] ?? ""], [" Architecture", d.Description.Platform["Architecture"] ?? ""]);
  rows.push(["Resources", ""], [" CPUs", String((d.Description.Resources["NanoCPUs"] ?? 0) / 1e9)], [" Memory", String(d.Description.Resources["MemoryBytes"] ?? 0)]);
  rows.push(["Engine Version", n.description?.engineVersion ?? ""]);
  return rows.map(([k, v]) => (v === "" ? `${k}:` : `${k}:`.padEnd(20) + v)).join("\n") + "\n";
}

/** registerNode adds the `node` command group. */
export function registerNode(program: Command, ctx: Ctx): void {
  const node = program.command("node").description("Manage Swarm nodes");
  addOutputOptions(node.command("ls").alias("list").description("List nodes in the swarm")).action(async (opts: { quiet?: boolean; format?: string }) => {
    const ctl = await ctx.session().control();
    const { nodes } = await ctl.listNodes({});
    const self = await (await ctx.session().node()).info({}).then((i) => i.nodeId, () => "");
    const rows = nodes.map((n) => nodeRow(n, self)).sort((a, b) => String(a.Hostname).localeCompare(String(b.Hostname)));
    const forJson = opts.format?.trim() === "json" ? rows.map(({ IDColumn: _, ...r }) => r) : rows;
    ctx.io.out(renderList(nodeColumns, forJson, opts));
  });

  node
    .command("inspect")
    .description("Display detailed information on one or more nodes")
    .argument("<node...>", "Nodes (\"self\" is this node)")
    .option("--pretty", "Print the information in a human friendly format")
    .option("-f, --format <string>", "Format output using a custom template")
    .action(async (refs: string[], opts: { pretty?: boolean; format?: string }) => {
      const ctl = await ctx.session().control();
      const found: Node[] = [];
      const errors: unknown[] = [];
      for (const ref of refs) await getNode(ctl, ref).then((n) => found.push(n), (e: unknown) => errors.push(e));
      if (opts.pretty) ctx.io.out(found.map(prettyNode).join("\n"));
      else if (opts.format) ctx.io.out(renderObjectTemplate(opts.format, found.map(dockerNode)));
      else ctx.io.out(renderJson(found.map(dockerNode)));
      for (const err of errors) ctx.report(err);
    });

  node
    .command("update")
    .description("Update a node")
    .argument("<node>", "Node")
    .option("--availability <state>", 'Availability of the node ("active", "pause", "drain")')
    .option("--label-add <label>", "Add or update a node label (key=value)", collect)
    .option("--label-rm <key>", "Remove a node label if exists", collect)
    .action(async (ref: string, opts: { availability?: string; labelAdd?: string[]; labelRm?: string[] }) => {
      const ctl = await ctx.session().control();
      const current = await getNode(ctl, ref);
      const spec = current.spec ? clone(NodeSpecSchema, current.spec) : create(NodeSpecSchema, { desiredRole: current.role });
      if (opts.availability !== undefined) {
        const a = flagValue("--availability", opts.availability, oneOf("active", "pause", "drain"));
        spec.availability = NodeAvailability[a.toUpperCase() as "ACTIVE" | "PAUSE" | "DRAIN"];
      }
      const labels = { ...(spec.annotations?.labels ?? {}) };
      for (const k of opts.labelRm ?? []) delete labels[k];
      for (const l of opts.labelAdd ?? []) Object.assign(labels, flagValue("--label-add", l, (v) => parseLabels([v])));
      spec.annotations = create(AnnotationsSchema, { name: spec.annotations?.name ?? "", labels });
      await ctl.updateNode({ nodeId: current.id, version: current.meta?.version ?? 0, spec });
      ctx.io.out(ref + "\n");
    });

  const changeRole = (verb: "promote" | "demote", role: NodeRole) =>
    node
      .command(verb)
      .description(verb === "promote" ? "Promote one or more nodes to manager in the swarm" : "Demote one or more nodes from manager in the swarm")
      .argument("<node...>", "Nodes")
      .action(async (refs: string[]) => {
        const ctl = await ctx.session().control();
        for (const ref of refs) {
          try {
            const current = await getNode(ctl, ref);
            const name = current.description?.hostname || current.id;
            const want = role === NodeRole.MANAGER ? "manager" : "worker";
            if ((current.spec?.desiredRole ?? current.role) === role) {
              ctx.io.out(`Node ${name} is already a ${want} in the swarm.\n`);
              continue;
            }
            const spec = current.spec ? clone(NodeSpecSchema, current.spec) : create(NodeSpecSchema, {});
            spec.desiredRole = role;
            await ctl.updateNode({ nodeId: current.id, version: current.meta?.version ?? 0, spec });
            ctx.io.out(`Node ${name} ${verb}d to a ${want} in the swarm.\n`);
          } catch (err) {
            ctx.report(err);
          }
        }
      });
  changeRole("promote", NodeRole.MANAGER);
  changeRole("demote", NodeRole.WORKER);

  node
    .command("rm")
    .alias("remove")
    .description("Remove one or more nodes from the swarm")
    .argument("<node...>", "Nodes")
    .option("-f, --force", "Force remove a node from the swarm")
    .action(async (refs: string[], opts: { force?: boolean }) => {
      const ctl = await ctx.session().control();
      for (const ref of refs) {
        try {
          const current = await getNode(ctl, ref);
          await ctl.removeNode({ nodeId: current.id, force: opts.force ?? false });
          ctx.io.out(ref + "\n");
        } catch (err) {
          ctx.report(err);
        }
      }
    });
}
