/**
 * `swarm init` (joining more nodes is not offered by the daemon yet).
 */
import type { Command } from "commander";
import type { Ctx } from "../context.js";

/** registerSwarm adds the `swarm` command group. */
export function registerSwarm(program: Command, ctx: Ctx): void {
  const swarm = program.command("swarm").description("Manage Swarm");
  swarm
    .command("init")
    .description("Initialize a swarm")
    .option("--advertise-addr <string>", "Advertised address (format: <ip|interface>[:port])")
    .option("--listen-addr <string>", "Listen address (format: <ip|interface>[:port])")
    .action(async (opts: { advertiseAddr?: string; listenAddr?: string }) => {
      const ctl = await ctx.session().control();
      const res = await ctl.initSwarm({ advertiseAddr: opts.advertiseAddr ?? "", listenAddr: opts.listenAddr ?? "" });
      ctx.io.out(`Swarm initialized: current node (${res.nodeId}) is now a manager.\n\n`);
      ctx.io.out("Join tokens are not available yet; run services on this node with 'tsctl service create'.\n\n");
    });
}
