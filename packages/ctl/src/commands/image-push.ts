/**
 * `image push`: the node uploads the image to its registry and streams progress per layer; the
 * CLI prints Docker's lines ("The push refers to repository [...]", "<layer>: Preparing",
 * "Pushed", "Layer already exists", "Mounted from <repo>", then "<tag>: digest: ... size: N").
 * Credentials come from config.json, as for pulls.
 */
import type { Command } from "commander";
import type { Ctx } from "../context.js";
import { credentialsFor } from "../registry/credentials.js";

const actionWords: Record<string, string> = {
  preparing: "Preparing",
  pushing: "Pushing",
  pushed: "Pushed",
  exists: "Layer already exists",
};

/** pushLine renders one progress event as Docker prints it when its output is not a terminal. */
export function pushLine(p: { id: string; action: string; mountedFrom: string }): string {
  const word = p.action === "mounted" ? `Mounted from ${p.mountedFrom}` : (actionWords[p.action] ?? p.action);
  return `${p.id}: ${word}\n`;
}

/** pushedRepository is the repository Docker names in its first line (the reference without its tag). */
export function pushedRepository(ref: string): string {
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  const at = ref.indexOf("@");
  if (at >= 0) return ref.slice(0, at);
  return colon > slash ? ref.slice(0, colon) : ref;
}

export function registerImagePush(image: Command, ctx: Ctx): void {
  image
    .command("push")
    .description("Upload an image to a registry")
    .argument("<name[:tag]>", "Image")
    .option("-q, --quiet", "Suppress verbose output")
    .action(async (ref: string, opts: { quiet?: boolean }) => {
      const node = await ctx.session().node();
      const auth = credentialsFor(ref);
      const last = new Map<string, string>();
      let said = false;
      for await (const p of node.pushImage({ ref, auth })) {
        if (p.digest) {
          if (opts.quiet) ctx.io.out(`${ref.includes(":") && ref.lastIndexOf(":") > ref.lastIndexOf("/") ? ref : `${ref}:${p.tag}`}\n`);
          else ctx.io.out(`${p.tag}: digest: ${p.digest} size: ${p.size}\n`);
          return;
        }
        if (opts.quiet) continue;
        if (!said) {
          ctx.io.out(`The push refers to repository [${pushedRepository(ref)}]\n`);
          said = true;
        }
        // One line per state change, as Docker prints when its output is not a terminal.
        if (last.get(p.id) === p.action) continue;
        last.set(p.id, p.action);
        ctx.io.out(pushLine(p));
      }
      throw new Error(`the push of ${ref} ended without a result`);
    });
}
