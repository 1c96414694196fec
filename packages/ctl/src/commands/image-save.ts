/**
 * `image save`: the node streams a `docker save` archive; the CLI writes it to -o's file (removed
 * again when the save fails) or to stdout, never to a terminal (Docker's refusal).
 */
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { once } from "node:events";
import type { Command } from "commander";
import type { Ctx } from "../context.js";
import { UsageError } from "../errors.js";

export function registerImageSave(image: Command, ctx: Ctx): void {
  image
    .command("save")
    .description("Save one or more images to a tar archive (streamed to STDOUT by default)")
    .argument("<image...>", "Images")
    .option("-o, --output <file>", "Write to a file, instead of STDOUT")
    .action(async (refs: string[], opts: { output?: string }) => {
      if (!opts.output && ctx.io.isTty) throw new UsageError("cowardly refusing to save to a terminal. Use the -o flag or redirect");
      const node = await ctx.session().node();
      const stream = node.saveImage({ refs });
      if (!opts.output) {
        for await (const c of stream) ctx.io.outBytes(c.data);
        return;
      }
      const file = createWriteStream(opts.output, { mode: 0o644 });
      await once(file, "open");
      try {
        for await (const c of stream) if (!file.write(c.data)) await once(file, "drain");
        file.end();
        await once(file, "finish");
      } catch (err) {
        file.destroy();
        await rm(opts.output, { force: true });
        throw err;
      }
    });
}
