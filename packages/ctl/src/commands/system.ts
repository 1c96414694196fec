/**
 * `version` and `info`.
 */
import type { Command } from "commander";
import type { Ctx } from "../context.js";

/** clientVersion is this CLI's version (kept in step with packages/ctl/package.json). */
export const clientVersion = "0.1.0";

/** registerSystem adds `version` and `info`. */
export function registerSystem(program: Command, ctx: Ctx): void {
  program
    .command("version")
    .description("Show the tsctl version information")
    .action(async () => {
      const kv = (k: string, v: string) => ` ${(k + ":").padEnd(18)} ${v}\n`;
      ctx.io.out("Client:\n" + kv("Version", clientVersion) + kv("API version", "tsctl.v1") + kv("Node.js version", process.version) + kv("OS/Arch", `${process.platform}/${process.arch}`));
      const info = await (await ctx.session().node()).info({});
      ctx.io.out("\nServer:\n Engine:\n" + ` ${kv("Version", info.version)}` + ` ${kv("API version", "tsctl.v1")}`);
    });

  program
    .command("info")
    .description("Display system-wide information")
    .action(async () => {
      const info = await (await ctx.session().node()).info({});
      const lines = [
        "Client:",
        ` Version:    ${clientVersion}`,
        "",
        "Server:",
        ` Swarm: ${info.swarmState || "inactive"}`,
      ];
      if (info.swarmState === "active") {
        lines.push(`  NodeID: ${info.nodeId}`, `  Is Manager: ${info.isManager}`);
        if (info.clusterId) lines.push(`  ClusterID: ${info.clusterId}`);
      }
      lines.push(` Server Version: ${info.version}`, ` Name: ${info.hostname}`, ` Tsd Root Dir: ${info.dataRoot}`, ` Exec Root: ${info.execRoot}`);
      ctx.io.out(lines.join("\n") + "\n");
    });
}
