import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UnavailableError } from "@tsctl/api";
import { downloadToFile, type BlobSource } from "./blob-download.js";

const blob = Buffer.from("0123456789abcdefghijklmnopqrstuvwxyz".repeat(100));
const digest = `sha256:${createHash("sha256").update(blob).digest("hex")}`;

/** response fakes an IncomingMessage carrying body, failing after cutAt bytes when given. */
function response(status: number, body: Buffer, opts: { cutAt?: number; contentRange?: string } = {}): IncomingMessage {
  const chunks = opts.cutAt === undefined ? [body] : [body.subarray(0, opts.cutAt)];
  async function* gen() {
    for (const c of chunks) yield c;
    if (opts.cutAt !== undefined) throw Object.assign(new Error("aborted"), { code: "ECONNRESET" });
  }
  const r = Readable.from(gen()) as unknown as IncomingMessage;
  r.statusCode = status;
  r.headers = opts.contentRange === undefined ? {} : { "content-range": opts.contentRange };
  return r;
}

/** FakeSource serves scripted responses and records the offsets it was asked for. */
class FakeSource implements BlobSource {
  offsets: number[] = [];
  constructor(private readonly script: ((offset: number) => IncomingMessage)[]) {}
  async open(offset: number): Promise<IncomingMessage> {
    this.offsets.push(offset);
    const step = this.script.shift();
    if (step === undefined) throw new Error("no more responses scripted");
    return step(offset);
  }
}

describe("downloadToFile", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "blob-dl-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));
  const opts = (extra: Partial<Parameters<typeof downloadToFile>[1]> = {}) => ({
    digest,
    size: blob.length,
    dest: join(dir, "blob"),
    what: "img:1",
    attempts: 3,
    delayMs: 1,
    sleep: async () => undefined,
    ...extra,
  });

  it("resumes a cut transfer with a range from the bytes it has", async () => {
    const src = new FakeSource([
      () => response(200, blob, { cutAt: 1000 }),
      (o) => response(206, blob.subarray(o), { contentRange: `bytes ${o}-${blob.length - 1}/${blob.length}` }),
    ]);
    await downloadToFile(src, opts());
    expect(src.offsets).toEqual([0, 1000]);
    expect(await readFile(join(dir, "blob"))).toEqual(blob);
    expect(await readdir(dir)).toEqual(["blob"]);
  });

  it("starts over when the server ignores the range", async () => {
    const seen: number[] = [];
    const src = new FakeSource([() => response(200, blob, { cutAt: 500 }), () => response(200, blob)]);
    await downloadToFile(src, opts({ onBytes: (n) => seen.push(n) }));
    expect(seen).toContain(0);
    expect(await readFile(join(dir, "blob"))).toEqual(blob);
  });

  it("retries temporary errors, then gives up with the last one", async () => {
    const fail = () => {
      throw new UnavailableError("error pulling img:1: received unexpected HTTP status: 503 Service Unavailable");
    };
    await downloadToFile(new FakeSource([fail, () => response(200, blob)]), opts());
    await rm(join(dir, "blob"));
    await expect(downloadToFile(new FakeSource([fail, fail, fail]), opts())).rejects.toThrow(/503/);
    expect(await readdir(dir)).toEqual([]);
  });

  it("refuses content that does not hash to the digest, and keeps no file", async () => {
    const bad = Buffer.from(blob);
    bad[10] = 0;
    await expect(downloadToFile(new FakeSource([() => response(200, bad)]), opts())).rejects.toMatchObject({
      code: "InvalidArgument",
      message: expect.stringContaining(`blob ${digest} failed verification`),
    });
    expect(await readdir(dir)).toEqual([]);
  });

  it("refuses more bytes than the descriptor's size without retrying", async () => {
    const src = new FakeSource([() => response(200, Buffer.concat([blob, Buffer.from("x")]))]);
    await expect(downloadToFile(src, opts())).rejects.toThrow(/is larger than its/);
    expect(src.offsets).toEqual([0]);
    expect(await readdir(dir)).toEqual([]);
  });
});
