/**
 * `swarm init | join | join-token | leave | update | inspect`.
 */
import { create } from "@bufbuild/protobuf";
import { ClusterSpecSchema, NodeAvailability, NodeRole, type Cluster, type ClusterSpec } from "@tsctl/api";
import type { Command } from "commander";
import type { Ctx } from "../context.js";
import { FlagValueError } from "../errors.js";
import { renderJson, renderObjectTemplate } from "../format/output.js";
import { isoTime } from "../service/inspect.js";
import { humanDuration } from "../util/human.js";
import { flagValue, oneOf, parseDurationMs, parseUint } from "../util/units.js";

interface SpecFlags {
  dispatcherHeartbeat?: string;
  certExpiry?: string;
  taskHistoryLimit?: string;
}

/** applySpecFlags copies the cluster-setting flags shared by init and update onto a spec. */
function applySpecFlags(spec: ClusterSpec, opts: SpecFlags): ClusterSpec {
  if (opts.dispatcherHeartbeat !== undefined) spec.heartbeatPeriodMs = flagValue("--dispatcher-heartbeat", opts.dispatcherHeartbeat, parseDurationMs);
  if (opts.certExpiry !== undefined) spec.nodeCertExpiryMs = flagValue("--cert-expiry", opts.certExpiry, parseDurationMs);
  if (opts.taskHistoryLimit !== undefined) spec.taskHistoryRetentionLimit = flagValue("--task-history-limit", opts.taskHistoryLimit, parseUint);
  return spec;
}

function addSpecOptions(cmd: Command): Command {
  return cmd
    .option("--dispatcher-heartbeat <duration>", "Dispatcher heartbeat period (ns|us|ms|s|m|h) (default 1s)")
    .option("--cert-expiry <duration>", "Validity period for node certificates (ns|us|ms|s|m|h) (default 2160h0m0s)")
    .option("--task-history-limit <int>", "Task history retention limit (default 5)");
}

function roleArg(value: string): NodeRole {
  return flagValue("role", value, oneOf("worker", "manager")) === "manager" ? NodeRole.MANAGER : NodeRole.WORKER;
}

function dockerSwarm(c: Cluster): Record<string, unknown> {
  return {
    ID: c.id,
    Version: { Index: Number(c.meta?.version ?? 0) },
    CreatedAt: isoTime(c.meta?.createdAtMs),
    UpdatedAt: isoTime(c.meta?.updatedAtMs),
    Spec: {
      Name: c.spec?.annotations?.name ?? "default",
      Orchestration: { TaskHistoryRetentionLimit: c.spec?.taskHistoryRetentionLimit ?? 0 },
      Dispatcher: { HeartbeatPeriod: Number(c.spec?.heartbeatPeriodMs ?? 0) * 1e6 },
      CAConfig: { NodeCertExpiry: Number(c.spec?.nodeCertExpiryMs ?? 0) * 1e6 },
    },
    TLSInfo: { TrustRoot: c.rootCa?.caCertPem ?? "", CertDigest: c.rootCa?.caDigest ?? "" },
    DataPathPort: c.dataPathPort,
  };
}

/** registerSwarm adds the `swarm` command group. */
export function registerSwarm(program: Command, ctx: Ctx): void {
  const swarm = program.command("swarm").description("Manage Swarm");

  addSpecOptions(
    swarm
      .command("init")
      .description("Initialize a swarm")
      .option("--advertise-addr <string>", "Advertised address (format: <ip>[:port])")
      .option("--listen-addr <string>", "Listen address (format: <ip>[:port]) (default <advertise-addr>:2377)")
      .option("--data-path-port <port>", "Port number to use for data path traffic (1024 - 49151) (default 4789)"),
  ).action(async (opts: SpecFlags & { advertiseAddr?: string; listenAddr?: string; dataPathPort?: string }) => {
    const dataPathPort = opts.dataPathPort === undefined ? 0 : flagValue("--data-path-port", opts.dataPathPort, parseUint);
    if (opts.dataPathPort !== undefined && (dataPathPort < 1024 || dataPathPort > 49151)) {
      throw new FlagValueError("--data-path-port", opts.dataPathPort, "must be between 1024 and 49151");
    }
    const spec = applySpecFlags(create(ClusterSpecSchema, {}), opts);
    const ctl = await ctx.session().control();
    const res = await ctl.initSwarm({ advertiseAddr: opts.advertiseAddr ?? "", listenAddr: opts.listenAddr ?? "", dataPathPort, spec });
    ctx.io.out(`Swarm initialized: current node (${res.nodeId}) is now a manager.\n\n`);
    const join = await ctl.getJoinToken({ role: NodeRole.WORKER });
    ctx.io.out(`To add a worker to this swarm, run the following command:\n\n    tsctl swarm join --token ${join.token} ${join.managerAddrs[0] ?? ""}\n\n`);
    ctx.io.out("To add a manager to this swarm, run 'tsctl swarm join-token manager' and follow the instructions.\n\n");
  });

  swarm
    .command("join")
    .description("Join a swarm as a node and/or manager")
    .argument("<host:port>", "Address of a manager of the swarm")
    .requiredOption("--token <string>", "Token for entry into the swarm")
    .option("--advertise-addr <string>", "Advertised address (format: <ip>[:port]) (default: the address that routes to the manager)")
    .option("--listen-addr <string>", "Listen address for a manager (format: <ip>[:port]) (default <advertise-addr>:2377)")
    .option("--availability <string>", 'Availability of the node ("active", "pause", "drain")', "active")
    .action(async (remoteAddr: string, opts: { token: string; advertiseAddr?: string; listenAddr?: string; availability: string }) => {
      const a = flagValue("--availability", opts.availability, oneOf("active", "pause", "drain"));
      const ctl = await ctx.session().control();
      const res = await ctl.joinSwarm({
        remoteAddr,
        token: opts.token,
        advertiseAddr: opts.advertiseAddr ?? "",
        listenAddr: opts.listenAddr ?? "",
        availability: NodeAvailability[a.toUpperCase() as "ACTIVE" | "PAUSE" | "DRAIN"],
      });
      ctx.io.out(res.role === NodeRole.MANAGER ? "This node joined a swarm as a manager.\n" : "This node joined a swarm as a worker.\n");
    });

  swarm
    .command("join-token")
    .description("Manage join tokens")
    .argument("<worker|manager>", "Role the token admits")
    .option("-q, --quiet", "Only display token")
    .option("--rotate", "Rotate join token")
    .action(async (role: string, opts: { quiet?: boolean; rotate?: boolean }) => {
      const r = roleArg(role);
      const ctl = await ctx.session().control();
      const res = await ctl.getJoinToken({ role: r, rotate: opts.rotate ?? false });
      if (opts.quiet) {
        ctx.io.out(res.token + "\n");
        return;
      }
      if (opts.rotate) ctx.io.out(`Successfully rotated ${role} join token.\n\n`);
      ctx.io.out(`To add a ${role} to this swarm, run the following command:\n\n    tsctl swarm join --token ${res.token} ${res.managerAddrs[0] ?? ""}\n\n`);
    });

  swarm
    .command("leave")
    .description("Leave the swarm")
    .option("-f, --force", "Force this node to leave the swarm, ignoring warnings")
    .action(async (opts: { force?: boolean }) => {
      const ctl = await ctx.session().control();
      await ctl.leaveSwarm({ force: opts.force ?? false });
      ctx.io.out("Node left the swarm.\n");
    });

  addSpecOptions(swarm.command("update").description("Update the swarm")).action(async (opts: SpecFlags) => {
    const ctl = await ctx.session().control();
    const { cluster } = await ctl.getSwarm({});
    const spec = applySpecFlags(create(ClusterSpecSchema, cluster?.spec ?? {}), opts);
    await ctl.updateSwarm({ version: cluster?.meta?.version ?? 0, spec });
    ctx.io.out("Swarm updated.\n");
  });

  swarm
    .command("inspect")
    .description("Display detailed information on the swarm")
    .option("-f, --format <string>", "Format output using a custom template")
    .option("--pretty", "Print the information in a human friendly format")
    .action(async (opts: { format?: string; pretty?: boolean }) => {
      const ctl = await ctx.session().control();
      const { cluster } = await ctl.getSwarm({});
      if (!cluster) throw new Error("the swarm has no cluster object");
      if (opts.pretty) {
        ctx.io.out(
          [
            `ID:                  ${cluster.id}`,
            `Created at:          ${isoTime(cluster.meta?.createdAtMs)}`,
            `Heartbeat period:    ${humanDuration(Number(cluster.spec?.heartbeatPeriodMs ?? 0))}`,
            `Node cert expiry:    ${humanDuration(Number(cluster.spec?.nodeCertExpiryMs ?? 0))}`,
            `Task history limit:  ${cluster.spec?.taskHistoryRetentionLimit ?? 0}`,
            `Data path port:      ${cluster.dataPathPort}`,
            `CA digest:           ${cluster.rootCa?.caDigest ?? ""}`,
          ].join("\n") + "\n",
        );
      } else if (opts.format) ctx.io.out(renderObjectTemplate(opts.format, [dockerSwarm(cluster)]));
      else ctx.io.out(renderJson([dockerSwarm(cluster)]));
    });
}
