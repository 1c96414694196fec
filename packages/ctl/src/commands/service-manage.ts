/**
 * `service rm` and `service scale`.
 */
import type { Command } from "commander";
import type { Ctx } from "../context.js";
import { UsageError } from "../errors.js";
import { targetOf, waitForConvergence } from "../service/converge.js";
import { getService } from "../service/lookup.js";
import { withReplicas } from "../service/spec.js";
import { ParseError, parseUint } from "../util/units.js";

/** parseScaleArgs reads "web=5 api=2" into pairs, with Docker's wording for bad input. */
export function parseScaleArgs(args: readonly string[]): { name: string; replicas: number }[] {
  return args.map((arg) => {
    const eq = arg.indexOf("=");
    if (eq <= 0) throw new UsageError(`invalid scale specifier '${arg}'.`);
    const value = arg.slice(eq + 1);
    try {
      return { name: arg.slice(0, eq), replicas: parseUint(value) };
    } catch (err) {
      if (err instanceof ParseError) throw new UsageError(`invalid replicas value ${value}: ${err.message}`);
      throw err;
    }
  });
}

/** registerServiceManage adds `service rm` and `service scale`. */
export function registerServiceManage(service: Command, ctx: Ctx): void {
  service
    .command("rm")
    .alias("remove")
    .description("Remove one or more services")
    .argument("<service...>", "Services")
    .action(async (refs: string[]) => {
      const ctl = await ctx.session().control();
      for (const ref of refs) {
        try {
          const svc = await getService(ctl, ref);
          await ctl.removeService({ serviceId: svc.id });
          ctx.io.out(ref + "\n");
        } catch (err) {
          ctx.report(err);
        }
      }
    });

  service
    .command("scale")
    .description("Scale one or multiple replicated services")
    .argument("<service=replicas...>", "Services and their replica counts")
    .option("-d, --detach", "Exit immediately instead of waiting for the service to converge")
    .action(async (args: string[], opts: { detach?: boolean }) => {
      const wanted = parseScaleArgs(args);
      const ctl = await ctx.session().control();
      for (const { name, replicas } of wanted) {
        try {
          const svc = await getService(ctl, name);
          const spec = withReplicas(svc.spec!, replicas, name);
          const { service: updated } = await ctl.updateService({ serviceId: svc.id, version: svc.meta?.version ?? 0, spec });
          ctx.io.out(`${name} scaled to ${replicas}\n`);
          if (updated && !opts.detach) await waitForConvergence(ctl, updated, ctx.io, targetOf(updated, false));
        } catch (err) {
          ctx.report(err);
        }
      }
    });
}
