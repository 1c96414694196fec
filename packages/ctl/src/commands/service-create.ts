/**
 * `service create` and `service update`: build or change the spec from flags, send it, then (unless
 * -d/-q) follow the tasks until the service converges.
 */
import { equals } from "@bufbuild/protobuf";
import { TaskSpecSchema, type ServiceSpec, type TaskSpec } from "@tsctl/api";
import type { Command } from "commander";
import type { Ctx } from "../context.js";
import { credentialsFor } from "../registry/credentials.js";
import { progressIo, targetOf, waitForConvergence } from "../service/converge.js";
import { getService } from "../service/lookup.js";
import { applyServiceUpdate, buildServiceSpec, type CreateFlags, type UpdateFlags } from "../service/spec.js";
import { addServiceOptions, collect } from "./options.js";

/** registerServiceCreate adds `service create`. */
export function registerServiceCreate(service: Command, ctx: Ctx): void {
  const cmd = service
    .command("create")
    .description("Create a new service")
    .argument("<image>", "Image to run")
    .argument("[command...]", "Command and arguments")
    .option("--name <string>", "Service name")
    .option("--mode <string>", 'Service mode ("replicated" or "global")')
    .option("-e, --env <var>", "Set environment variables", collect)
    .option("-l, --label <label>", "Service labels", collect)
    .option("--container-label <label>", "Container labels", collect)
    .option("--constraint <expr>", "Placement constraints", collect)
    .option("--no-resolve-image", "Do not query the registry to resolve image digest and supported platforms")
    .option("--with-registry-auth", "Send registry authentication details to swarm agents")
    .passThroughOptions();
  addServiceOptions(cmd).action(async (image: string, args: string[], opts: CreateFlags & { detach?: boolean; quiet?: boolean; resolveImage?: boolean; withRegistryAuth?: boolean }) => {
    const spec = buildServiceSpec(opts, image, args, ctx.io.env);
    if (opts.withRegistryAuth) withPullAuth(spec, image);
    const ctl = await ctx.session().control();
    const { service: created, warnings } = await ctl.createService({ spec, noResolveImage: opts.resolveImage === false, registryAuth: credentialsFor(image) });
    if (!created) throw new Error("daemon returned no service");
    for (const w of warnings) ctx.io.err(w + "\n");
    ctx.io.out(created.id + "\n");
    if (!opts.detach) await waitForConvergence(ctl, created, progressIo(ctx.io, opts.quiet), targetOf(created, false));
  });
}

/** registerServiceUpdate adds `service update`. */
export function registerServiceUpdate(service: Command, ctx: Ctx): void {
  const cmd = service
    .command("update")
    .description("Update a service")
    .argument("<service>", "Service name or id")
    .option("--image <string>", "Service image tag")
    .option("--args <command>", "Service command args")
    .option("--env-add <var>", "Add or update an environment variable", collect)
    .option("--env-rm <var>", "Remove an environment variable", collect)
    .option("--label-add <label>", "Add or update a service label", collect)
    .option("--label-rm <key>", "Remove a label by its key", collect)
    .option("--container-label-add <label>", "Add or update a container label", collect)
    .option("--container-label-rm <key>", "Remove a container label by its key", collect)
    .option("--constraint-add <expr>", "Add or update a placement constraint", collect)
    .option("--constraint-rm <expr>", "Remove a constraint", collect)
    .option("--force", "Force update even if no changes require it")
    .option("--no-resolve-image", "Do not query the registry to resolve image digest and supported platforms")
    .option("--with-registry-auth", "Send registry authentication details to swarm agents");
  addServiceOptions(cmd).action(async (ref: string, opts: UpdateFlags & { detach?: boolean; quiet?: boolean; resolveImage?: boolean; withRegistryAuth?: boolean }) => {
    const ctl = await ctx.session().control();
    const current = await getService(ctl, ref);
    const spec = applyServiceUpdate(current.spec!, opts, ctx.io.env);
    const image = spec.task?.container?.image ?? "";
    if (opts.withRegistryAuth) withPullAuth(spec, image);
    const { service: updated, warnings } = await ctl.updateService({
      serviceId: current.id,
      version: current.meta?.version ?? 0,
      spec,
      noResolveImage: opts.resolveImage === false,
      registryAuth: image ? credentialsFor(image) : undefined,
    });
    for (const w of warnings) ctx.io.err(w + "\n");
    ctx.io.out(ref + "\n");
    if (!updated || opts.detach) return;
    // Only a changed task template replaces tasks; a replica change converges with the tasks already running.
    const replaced = !sameTask(current.spec?.task, spec.task);
    await waitForConvergence(ctl, updated, progressIo(ctx.io, opts.quiet), targetOf(updated, replaced));
  });
}

/** withPullAuth gives the nodes the CLI's credentials for the image's registry, as Docker does. */
function withPullAuth(spec: ServiceSpec, image: string): void {
  const creds = credentialsFor(image);
  const container = spec.task?.container;
  if (creds && container) container.pullAuth = Buffer.from(`${creds.username}:${creds.password}`).toString("base64");
}

function sameTask(a: TaskSpec | undefined, b: TaskSpec | undefined): boolean {
  if (!a || !b) return a === b;
  return equals(TaskSpecSchema, a, b);
}
