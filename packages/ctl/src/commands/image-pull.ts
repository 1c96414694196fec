/**
 * `image pull`: the node fetches the image from its registry and streams progress per layer; the
 * CLI prints Docker's lines ("<layer>: Pulling fs layer", "Download complete", "Pull complete" or
 * "Already exists", then Digest and Status). Credentials come from config.json (see
 * registry/credentials.ts).
 */
import type { Command } from "commander";
import type { Ctx } from "../context.js";
import { credentialsFor } from "../registry/credentials.js";

const actionWords: Record<string, string> = {
  waiting: "Pulling fs layer",
  downloading: "Downloading",
  verifying: "Verifying Checksum",
  extracting: "Extracting",
  complete: "Pull complete",
  exists: "Already exists",
};

/** shortDigest is the 12 hex characters Docker shows for a layer. */
const shortDigest = (d: string) => d.replace(/^sha256:/, "").slice(0, 12);

export function registerImagePull(image: Command, ctx: Ctx): void {
  image
    .command("pull")
    .description("Download an image from a registry")
    .argument("<name[:tag]|name@digest>", "Image")
    .option("-q, --quiet", "Suppress verbose output")
    .action(async (ref: string, opts: { quiet?: boolean }) => {
      const node = await ctx.session().node();
      const auth = credentialsFor(ref);
      const last = new Map<string, string>();
      let existed = 0;
      let layers = 0;
      let result: { manifestDigest: string; ref: string } | undefined;
      for await (const p of node.pullImage({ ref, auth })) {
        if (p.manifestDigest) {
          result = { manifestDigest: p.manifestDigest, ref: p.ref };
          continue;
        }
        // One line per state change, as Docker prints when its output is not a terminal; the
        // byte counts of "downloading" would be one line per chunk, so only its first is shown.
        if (last.get(p.digest) === p.action) continue;
        if (!last.has(p.digest)) layers++;
        last.set(p.digest, p.action);
        if (p.action === "exists") existed++;
        if (!opts.quiet) ctx.io.out(`${shortDigest(p.digest)}: ${actionWords[p.action] ?? p.action}\n`);
      }
      if (!result) throw new Error(`the pull of ${ref} ended without a result`);
      if (opts.quiet) {
        ctx.io.out(result.ref + "\n");
        return;
      }
      const fresh = layers === 0 || existed < layers;
      ctx.io.out(`Digest: ${result.manifestDigest}\n`);
      ctx.io.out(fresh ? `Status: Downloaded newer image for ${result.ref}\n` : `Status: Image is up to date for ${result.ref}\n`);
      ctx.io.out(result.ref + "\n");
    });
}
