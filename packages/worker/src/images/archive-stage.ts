/**
 * Archive staging: one pass over an incoming `docker save` / OCI layout tar that writes every
 * regular member to its own fsynced file in a private staging directory, hashing it on the way.
 * Manifests may sit anywhere in the archive, so nothing is interpreted until the pass is over.
 */
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { open, readFile, type FileHandle } from "node:fs/promises";
import { posix, join } from "node:path";
import { InvalidArgumentError } from "@tsctl/api";
import { decompress, readTar } from "./tar-read.js";

/** StagedFile is one archive member on disk. */
export interface StagedFile {
  path: string;
  size: number;
  /** "sha256:<hex>" of the member's bytes. */
  digest: string;
}

/** StagedArchive maps member names (normalised, no leading "./") to their staged files. */
export class StagedArchive {
  constructor(
    private readonly files: Map<string, StagedFile>,
    private readonly links: Map<string, string>,
  ) {}

  /** has tells whether the archive holds a member called name. */
  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** get finds a member, following archive-level symlinks (old docker save links shared layers). */
  get(name: string): StagedFile | undefined {
    let n = normalizeMember(name);
    for (let hops = 0; hops < 16; hops++) {
      const f = this.files.get(n);
      if (f !== undefined) return f;
      const target = this.links.get(n);
      if (target === undefined) return undefined;
      n = target;
    }
    return undefined;
  }

  /** file returns a member, verifying content-addressed names ("blobs/sha256/<hex>") against their bytes. */
  file(name: string, expectDigest?: string): StagedFile {
    const f = this.get(name);
    if (f === undefined) throw new InvalidArgumentError(`invalid archive: missing ${name}`);
    const m = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/.exec(normalizeMember(name));
    if (m !== null && f.digest !== `${m[1]}:${m[2]}`) throw mismatch(`${m[1]}:${m[2]}`);
    if (expectDigest !== undefined && f.digest !== expectDigest) throw mismatch(expectDigest);
    return f;
  }

  /** json parses a member as JSON; small metadata only. */
  async json<T>(name: string, expectDigest?: string): Promise<{ value: T; bytes: Buffer; file: StagedFile }> {
    const file = this.file(name, expectDigest);
    const bytes = await readFile(file.path);
    try {
      return { value: JSON.parse(bytes.toString("utf8")) as T, bytes, file };
    } catch {
      throw new InvalidArgumentError(`invalid archive: ${name} is not valid JSON`);
    }
  }
}

/** mismatch is the error for content that does not hash to the digest naming it ("layer sha256:ab12… digest mismatch"). */
export function mismatch(digest: string, kind = "blob"): InvalidArgumentError {
  return new InvalidArgumentError(`${kind} ${digest.slice(0, 19)}… digest mismatch`);
}

/** writeAll loops because a write may be partial. */
async function writeAll(fh: FileHandle, buf: Buffer): Promise<void> {
  let off = 0;
  while (off < buf.length) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
}

/** normalizeMember turns "./a//b" into "a/b", so look-ups match however the archive spelled names. */
export function normalizeMember(name: string): string {
  return posix.normalize(name.replace(/^(\.\/|\/)+/, "")).replace(/\/$/, "");
}

/** stageArchive reads the whole (possibly gzipped) archive into dir. */
export async function stageArchive(source: AsyncIterable<Uint8Array>, dir: string): Promise<StagedArchive> {
  const files = new Map<string, StagedFile>();
  const links = new Map<string, string>();
  let n = 0;
  await readTar(decompress(source, "invalid archive"), "invalid archive", async (entry) => {
    const h = entry.header;
    const name = normalizeMember(h.name);
    if (h.type === "symlink" || h.type === "link") {
      const base = h.type === "symlink" ? posix.dirname(name) : ".";
      links.set(name, normalizeMember(posix.join(base, h.linkname ?? "")));
      return;
    }
    if (h.type !== "file" && h.type !== "contiguous-file") return;
    const path = join(dir, String(n++));
    const hash = createHash("sha256");
    const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    let size = 0;
    try {
      for await (const chunk of entry) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
        await writeAll(fh, chunk as Buffer);
      }
      // Durable before the store may rename it into blobs/: a crash must never expose a torn blob.
      await fh.sync();
    } finally {
      await fh.close();
    }
    files.set(name, { path, size, digest: `sha256:${hash.digest("hex")}` });
  });
  return new StagedArchive(files, links);
}
