/**
 * `image history`: an image's build steps from its config, newest first, as Docker's table
 * (IMAGE, CREATED, CREATED BY, SIZE, COMMENT), with -q, --no-trunc and --format.
 */
import type { Command } from "commander";
import type { ImageHistoryEntry } from "@tsctl/api";
import type { Ctx } from "../context.js";
import { renderList, type Column, type Row } from "../format/output.js";
import { isoTime } from "../service/inspect.js";
import { ago, ellipsis, humanSize } from "../util/human.js";
import { addOutputOptions } from "./options.js";

const columns: Column[] = [
  { header: "IMAGE", field: "ID" },
  { header: "CREATED", field: "CreatedSince" },
  { header: "CREATED BY", field: "CreatedBy" },
  { header: "SIZE", field: "Size" },
  { header: "COMMENT", field: "Comment" },
];

/** historyRows maps entries to Docker's row fields; steps without an image id show <missing>. */
export function historyRows(entries: readonly Pick<ImageHistoryEntry, "id" | "createdMs" | "createdBy" | "size" | "comment">[], nowMs: number, noTrunc: boolean): Row[] {
  return entries.map((e) => {
    const id = e.id === "" ? "<missing>" : noTrunc ? e.id : e.id.replace(/^sha256:/, "").slice(0, 12);
    const createdBy = e.createdBy.replace(/\t/g, " ");
    return {
      ID: id,
      CreatedSince: ago(e.createdMs, nowMs),
      CreatedAt: isoTime(e.createdMs),
      CreatedBy: noTrunc ? createdBy : ellipsis(createdBy, 45),
      Size: humanSize(e.size),
      Comment: e.comment,
    };
  });
}

export function registerImageHistory(image: Command, ctx: Ctx): void {
  addOutputOptions(image.command("history").description("Show the history of an image").argument("<image>", "Image"))
    .option("--no-trunc", "Don't truncate output")
    .action(async (ref: string, opts: { quiet?: boolean; format?: string; trunc?: boolean }) => {
      const node = await ctx.session().node();
      const { entries } = await node.imageHistory({ ref });
      ctx.io.out(renderList(columns, historyRows(entries, ctx.io.now(), opts.trunc === false), opts));
    });
}
