/**
 * `image load|ls|rm|inspect|tag` against the local node's image store.
 */
import { createReadStream } from "node:fs";
import { isTsctlError, type ImageSummary, type InspectImageResponse } from "@tsctl/api";
import type { Command } from "commander";
import type { Ctx } from "../context.js";
import { registerImageHistory } from "./image-history.js";
import { registerImagePull } from "./image-pull.js";
import { registerImagePrune } from "./prune-df.js";
import { registerImagePush } from "./image-push.js";
import { registerImageSave } from "./image-save.js";
import { NoSuchObjectError, UsageError } from "../errors.js";
import { renderJson, renderList, renderObjectTemplate, type Column, type Row } from "../format/output.js";
import { isoTime } from "../service/inspect.js";
import { ago, humanSize } from "../util/human.js";
import { addOutputOptions } from "./options.js";

const chunkSize = 1024 * 1024;

const imageColumns: Column[] = [
  { header: "REPOSITORY", field: "Repository" },
  { header: "TAG", field: "Tag" },
  { header: "IMAGE ID", field: "ID" },
  { header: "CREATED", field: "CreatedSince" },
  { header: "SIZE", field: "Size" },
];

/** splitRepoTag splits "registry:5000/web:1" into ["registry:5000/web", "1"]. */
export function splitRepoTag(ref: string): [string, string] {
  const colon = ref.lastIndexOf(":");
  if (colon < 0 || ref.indexOf("/", colon) >= 0) return [ref, "latest"];
  return [ref.slice(0, colon), ref.slice(colon + 1)];
}

/** imageRows gives one row per tag of each image; untagged images show <none>. */
export function imageRows(images: readonly ImageSummary[], nowMs: number): Row[] {
  return images.flatMap((img) => {
    const id = img.id.replace(/^sha256:/, "").slice(0, 12);
    const common = { ID: id, CreatedSince: ago(Number(img.createdMs), nowMs), CreatedAt: isoTime(img.createdMs), Size: humanSize(Number(img.size)) };
    const tags = img.repoTags.length > 0 ? img.repoTags.map(splitRepoTag) : [["<none>", "<none>"] as [string, string]];
    return tags.map(([repo, tag]) => ({ Repository: repo, Tag: tag, ...common }));
  });
}

/** dockerImage maps an inspected image to the shape `docker image inspect` prints. */
export function dockerImage(res: InspectImageResponse): Record<string, unknown> {
  const img = res.image;
  let config: Record<string, unknown> = {};
  try {
    config = res.configJson ? (JSON.parse(res.configJson) as Record<string, unknown>) : {};
  } catch {
    // A config the daemon could not serialise is shown as empty rather than failing inspect.
  }
  return {
    Id: img?.id ?? "",
    RepoTags: img?.repoTags ?? [],
    RepoDigests: img?.repoDigests ?? [],
    Created: isoTime(img?.createdMs),
    Config: config["config"] ?? {},
    Architecture: img?.architecture ?? "",
    Os: img?.os ?? "",
    Size: Number(img?.size ?? 0),
    RootFS: { Type: "layers", Layers: res.layerDiffIds },
  };
}

async function* chunks(source: NodeJS.ReadableStream): AsyncGenerator<{ data: Uint8Array }> {
  let pending: Buffer[] = [];
  let size = 0;
  for await (const piece of source as AsyncIterable<Buffer>) {
    pending.push(piece);
    size += piece.length;
    while (size >= chunkSize) {
      const all = Buffer.concat(pending);
      yield { data: all.subarray(0, chunkSize) };
      pending = [all.subarray(chunkSize)];
      size = all.length - chunkSize;
    }
  }
  if (size > 0) yield { data: Buffer.concat(pending) };
}

/** registerImage adds the `image` command group. */
export function registerImage(program: Command, ctx: Ctx): void {
  const image = program.command("image").description("Manage images");
  registerImagePull(image, ctx);
  registerImagePrune(image, ctx);
  registerImagePush(image, ctx);
  registerImageSave(image, ctx);
  registerImageHistory(image, ctx);
  image
    .command("load")
    .description("Load an image from a tar archive or STDIN")
    .option("-i, --input <file>", "Read from tar archive file, instead of STDIN")
    .option("-q, --quiet", "Suppress the load output")
    .action(async (opts: { input?: string; quiet?: boolean }) => {
      if (!opts.input && ctx.io.stdinIsTty) throw new UsageError("requested load from stdin, but stdin is empty");
      const source = opts.input ? createReadStream(opts.input) : ctx.io.stdin;
      // Open the file before connecting so a bad path is reported as such.
      if (opts.input) await new Promise((resolve, reject) => (source as ReturnType<typeof createReadStream>).once("open", resolve).once("error", reject));
      const node = await ctx.session().node();
      const res = await node.loadImage(chunks(source));
      if (!opts.quiet) ctx.io.out(res.loaded.map((l) => l + "\n").join(""));
    });

  addOutputOptions(image.command("ls").alias("list").description("List images"), "Only show image IDs")
    .option("-a, --all", "Show all images")
    .action(async (opts: { all?: boolean; quiet?: boolean; format?: string }) => {
      const node = await ctx.session().node();
      const { images } = await node.listImages({ all: opts.all ?? false });
      const sorted = [...images].sort((a, b) => Number(b.createdMs - a.createdMs));
      const rows = imageRows(sorted, ctx.io.now());
      // -q lists each image once, even when it has several tags.
      const out = opts.quiet && !opts.format ? rows.filter((r, i) => rows.findIndex((o) => o.ID === r.ID) === i) : rows;
      ctx.io.out(renderList(imageColumns, out, opts));
    });

  image
    .command("rm")
    .alias("remove")
    .description("Remove one or more images")
    .argument("<image...>", "Images")
    .option("-f, --force", "Force removal of the image")
    .action(async (refs: string[], opts: { force?: boolean }) => {
      const node = await ctx.session().node();
      for (const ref of refs) {
        try {
          const res = await node.removeImage({ ref, force: opts.force ?? false });
          ctx.io.out([...res.untagged.map((u) => `Untagged: ${u}\n`), ...res.deleted.map((d) => `Deleted: ${d}\n`)].join(""));
        } catch (err) {
          ctx.report(err);
        }
      }
    });

  image
    .command("inspect")
    .description("Display detailed information on one or more images")
    .argument("<image...>", "Images")
    .option("-f, --format <string>", "Format output using a custom template")
    .action(async (refs: string[], opts: { format?: string }) => {
      const node = await ctx.session().node();
      const found: Record<string, unknown>[] = [];
      const errors: unknown[] = [];
      for (const ref of refs) await node.inspectImage({ ref }).then((r) => found.push(dockerImage(r)), (e: unknown) => errors.push(isTsctlError(e, "NotFound") ? new NoSuchObjectError("image", ref) : e));
      ctx.io.out(opts.format ? renderObjectTemplate(opts.format, found) : renderJson(found));
      for (const err of errors) ctx.report(err);
    });

  image
    .command("tag")
    .description("Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE")
    .argument("<source>", "Source image")
    .argument("<target>", "Target image")
    .action(async (source: string, target: string) => {
      const node = await ctx.session().node();
      await node.tagImage({ source, target });
    });
}
