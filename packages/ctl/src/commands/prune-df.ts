/**
 * `image prune [-a] [-f]` and `system df`: what the node's image store and containers occupy,
 * and removing images nothing uses, with Docker's confirmation prompt and report.
 */
import type { Command } from "commander";
import type { Ctx } from "../context.js";
import { humanSize } from "../util/human.js";
import { alignColumns } from "../format/table.js";

/** confirm asks Docker's question on stderr and reads one answer line from stdin (no answer: no). */
async function confirm(ctx: Ctx, question: string): Promise<boolean> {
  ctx.io.err(`${question} [y/N] `);
  const answer = await new Promise<string>((resolve) => {
    let text = "";
    const stdin = ctx.io.stdin;
    const done = () => {
      stdin.removeListener("data", onData);
      stdin.removeListener("end", done);
      stdin.pause?.();
      resolve(text);
    };
    const onData = (d: Buffer | string) => {
      text += d.toString();
      if (text.includes("\n")) done();
    };
    stdin.on("data", onData);
    stdin.once("end", done);
  });
  return /^y(es)?$/i.test(answer.trim());
}

const percent = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 100) : 0);

export function registerImagePrune(image: Command, ctx: Ctx): void {
  image
    .command("prune")
    .description("Remove unused images")
    .option("-a, --all", "Remove all unused images, not just dangling ones")
    .option("-f, --force", "Do not prompt for confirmation")
    .action(async (opts: { all?: boolean; force?: boolean }) => {
      const warning = opts.all
        ? "WARNING! This will remove all images without at least one container associated to them."
        : "WARNING! This will remove all dangling images.";
      if (!opts.force && !(await confirm(ctx, `${warning}\nAre you sure you want to continue?`))) return;
      const node = await ctx.session().node();
      const res = await node.pruneImages({ all: opts.all ?? false });
      if (res.untagged.length + res.deleted.length > 0) {
        ctx.io.out("Deleted Images:\n" + res.untagged.map((u) => `untagged: ${u}\n`).join("") + res.deleted.map((d) => `deleted: ${d}\n`).join("") + "\n");
      }
      ctx.io.out(`Total reclaimed space: ${humanSize(res.spaceReclaimed)}\n`);
    });
}

export function registerSystemDf(program: Command, ctx: Ctx): void {
  const system = program.commands.find((c) => c.name() === "system") ?? program.command("system").description("Manage tsctl");
  system
    .command("df")
    .description("Show tsctl disk usage")
    .action(async () => {
      const node = await ctx.session().node();
      const u = await node.diskUsage({});
      const rows = [
        ["Images", String(u.images), String(u.imagesActive), humanSize(u.imagesSize), `${humanSize(u.imagesReclaimable)} (${percent(u.imagesReclaimable, u.imagesSize)}%)`],
        ["Containers", String(u.containers), String(u.containersRunning), humanSize(u.containersSize), `${humanSize(u.containersReclaimable)} (${percent(u.containersReclaimable, u.containersSize)}%)`],
        ["Local Volumes", "0", "0", "0B", "0B"],
        ["Build Cache", "0", "0", "0B", "0B"],
      ];
      ctx.io.out(alignColumns([["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"], ...rows]).map((l) => l + "\n").join(""));
    });
}
