/**
 * Layer unpacking: extracts one layer tar (plain or gzip) into an empty directory, converting OCI
 * whiteouts to overlayfs form, keeping modes, numeric owners, links and mtimes, and hashing the
 * uncompressed stream so the caller can hold it to the config's diff_id. It refuses entries that
 * escape the layer, by `..` or through a symlink or file placed by an earlier entry.
 */
import { createHash } from "node:crypto";
import { constants, createReadStream } from "node:fs";
import { chmod, lchown, link, lutimes, mkdir, open, rm, symlink, type FileHandle } from "node:fs/promises";
import { join, posix } from "node:path";
import { InvalidArgumentError } from "@tsctl/api";
import { mismatch } from "./archive-stage.js";
import { markOpaque, mknod, setXattr, whiteout } from "./special-files.js";
import { decompress, hashed, readTar, toInvalidArchive, type TarEntry } from "./tar-read.js";

const WH = ".wh.";
const writeBatchBytes = 1 << 20;
const OPAQUE = ".wh..wh..opq";
const IS_ROOT = process.getuid?.() === 0;

interface DirMeta {
  rel: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
}

/** unpackLayer extracts blob into dest (created here, must not exist); throws unless it hashes to diffId. */
export async function unpackLayer(blob: string, dest: string, diffId: string): Promise<{ size: number }> {
  const what = `layer ${diffId.slice(0, 19)}…`;
  await mkdir(dest, { mode: 0o755 });
  const x = new Extraction(dest, what);
  const hash = createHash("sha256");
  await readTar(hashed(decompress(createReadStream(blob, { highWaterMark: 1 << 20 }), what), hash), what, (e) => x.apply(e));
  if (`sha256:${hash.digest("hex")}` !== diffId) throw mismatch(diffId, "layer");
  await x.finish();
  return { size: x.size };
}

/** verifyDiffId hashes a layer blob's uncompressed tar without extracting it. */
export async function verifyDiffId(blob: string, diffId: string): Promise<void> {
  const what = `layer ${diffId.slice(0, 19)}…`;
  const hash = createHash("sha256");
  try {
    for await (const chunk of decompress(createReadStream(blob), what)) hash.update(chunk);
  } catch (err) {
    throw toInvalidArchive(err, what);
  }
  if (`sha256:${hash.digest("hex")}` !== diffId) throw mismatch(diffId, "layer");
}

/** Extraction tracks what earlier entries created, so no later entry is ever written through a link. */
class Extraction {
  size = 0;
  /** Kind of every path created so far, relative to dest; "" is the layer root. */
  private readonly kinds = new Map<string, "dir" | "other">([["", "dir"]]);
  private readonly dirs: DirMeta[] = [];
  private readonly opaque = new Set<string>();

  constructor(
    private readonly dest: string,
    private readonly what: string,
  ) {}

  async apply(entry: TarEntry): Promise<void> {
    const h = entry.header;
    const rel = this.relPath(h.name);
    const base = posix.basename(rel);
    if (base === OPAQUE) {
      const dir = posix.dirname(rel) === "." ? "" : posix.dirname(rel);
      await this.ensureDirs(dir);
      this.opaque.add(dir);
      return;
    }
    // Other ".wh..wh." names are aufs bookkeeping with no meaning for overlayfs.
    if (base.startsWith(`${WH}${WH}`)) return;
    if (base.startsWith(WH)) {
      const name = base.slice(WH.length);
      if (name === "" || name === "." || name === "..") {
        throw new InvalidArgumentError(`${this.what}: invalid whiteout entry "${h.name}"`);
      }
      const target = posix.join(posix.dirname(rel), name);
      await this.prepare(target, false);
      await whiteout(this.abs(target));
      this.kinds.set(target, "other");
      return;
    }
    if (rel === "") {
      if (h.type === "directory") this.dirs.push(meta("", h));
      return;
    }
    const isDir = h.type === "directory";
    await this.prepare(rel, isDir);
    const path = this.abs(rel);
    switch (h.type) {
      case "directory":
        if (!this.kinds.has(rel)) await mkdir(path, { mode: 0o700 });
        this.kinds.set(rel, "dir");
        this.dirs.push(meta(rel, h));
        return;
      case "file":
      case "contiguous-file":
        await this.writeFile(path, entry);
        this.kinds.set(rel, "other");
        this.size += h.size ?? 0;
        return;
      case "link": {
        const target = this.relPath(h.linkname ?? "");
        if (this.kinds.get(target) !== "other") {
          throw new InvalidArgumentError(`${this.what}: hardlink "${h.name}" to missing "${h.linkname ?? ""}"`);
        }
        await link(this.abs(target), path);
        this.kinds.set(rel, "other");
        return; // A hard link shares the inode: owner, mode and times are the target's.
      }
      case "symlink":
        await symlink(h.linkname ?? "", path);
        break;
      case "character-device":
      case "block-device":
      case "fifo": {
        const kind = h.type === "fifo" ? "p" : h.type === "block-device" ? "b" : "c";
        await mknod(path, kind, h.mode ?? 0o644, h.devmajor ?? 0, h.devminor ?? 0);
        break;
      }
      default:
        return; // Unknown entry types (e.g. sockets) are skipped, as Docker does.
    }
    this.kinds.set(rel, "other");
    await this.setMeta(path, h, h.type === "symlink");
  }

  /** finish applies directory metadata last (creating children changes a directory's mtime). */
  async finish(): Promise<void> {
    for (const dir of this.opaque) await markOpaque(this.abs(dir));
    const deepestFirst = [...this.dirs].sort((a, b) => b.rel.split("/").length - a.rel.split("/").length);
    for (const d of deepestFirst) {
      const path = this.abs(d.rel);
      await ownAs(path, d.uid, d.gid);
      await chmod(path, d.mode & 0o7777);
      await lutimes(path, d.mtime, d.mtime);
    }
  }

  /** relPath normalises an entry name; "/etc/x" means the layer's etc/x, "../x" is refused. */
  private relPath(name: string): string {
    const n = posix.normalize(`./${name}`).replace(/\/+$/, "");
    if (n === ".." || n.startsWith("../")) {
      throw new InvalidArgumentError(`${this.what}: path traversal in entry "${name}"`);
    }
    return n === "." ? "" : n;
  }

  private abs(rel: string): string {
    return rel === "" ? this.dest : join(this.dest, rel);
  }

  /** prepare creates missing parents and clears an earlier entry of the same name. */
  private async prepare(rel: string, isDir: boolean): Promise<void> {
    await this.ensureDirs(posix.dirname(rel) === "." ? "" : posix.dirname(rel));
    const prev = this.kinds.get(rel);
    if (prev === undefined || (prev === "dir" && isDir)) return;
    await rm(this.abs(rel), { recursive: true, force: true });
    for (const k of [...this.kinds.keys()]) if (k === rel || k.startsWith(`${rel}/`)) this.kinds.delete(k);
  }

  /** ensureDirs makes every component of dir a real directory created by this extraction. */
  private async ensureDirs(dir: string): Promise<void> {
    if (dir === "") return;
    let cur = "";
    for (const part of dir.split("/")) {
      cur = cur === "" ? part : `${cur}/${part}`;
      const kind = this.kinds.get(cur);
      if (kind === "dir") continue;
      if (kind === "other") throw new InvalidArgumentError(`${this.what}: entry under non-directory "${cur}"`);
      await mkdir(this.abs(cur), { mode: 0o755 });
      this.kinds.set(cur, "dir");
    }
  }

  /** writeFile streams a member into a new file (O_EXCL|O_NOFOLLOW) and sets its metadata through the fd. */
  private async writeFile(path: string, entry: TarEntry): Promise<void> {
    const h = entry.header;
    const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      // Gathered into ~1 MiB writes: one thread-pool round trip per 16 KiB chunk was most of the
      // time spent unpacking a large file.
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      const flush = async (): Promise<void> => {
        if (pendingBytes === 0) return;
        const buf = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
        let off = 0;
        while (off < buf.length) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
      };
      for await (const chunk of entry) {
        pending.push(chunk as Buffer);
        pendingBytes += (chunk as Buffer).length;
        if (pendingBytes >= writeBatchBytes) await flush();
      }
      await flush();
      await ownFd(fh, h.uid ?? 0, h.gid ?? 0);
      await fh.chmod((h.mode ?? 0o644) & 0o7777);
    } finally {
      await fh.close();
    }
    await this.setXattrs(path, h);
    const mtime = h.mtime ?? new Date(0);
    await lutimes(path, mtime, mtime);
  }

  private async setMeta(path: string, h: TarEntry["header"], isLink: boolean): Promise<void> {
    // chown first: it clears setuid/setgid bits and file capabilities set before it.
    await ownAs(path, h.uid ?? 0, h.gid ?? 0);
    if (!isLink) await chmod(path, (h.mode ?? 0o644) & 0o7777);
    await this.setXattrs(path, h);
    const mtime = h.mtime ?? new Date(0);
    await lutimes(path, mtime, mtime);
  }

  /** setXattrs applies PAX xattrs (after chown, which would clear file capabilities). */
  private async setXattrs(path: string, h: TarEntry["header"]): Promise<void> {
    for (const [key, value] of Object.entries(h.pax ?? {})) {
      // tar-stream decodes PAX values as UTF-8; a binary value it could not decode is skipped.
      if (key.startsWith("SCHILY.xattr.") && !value.includes("\uFFFD")) {
        await setXattr(path, key.slice("SCHILY.xattr.".length), Buffer.from(value, "utf8"));
      }
    }
  }
}

function meta(rel: string, h: TarEntry["header"]): DirMeta {
  return { rel, mode: h.mode ?? 0o755, uid: h.uid ?? 0, gid: h.gid ?? 0, mtime: h.mtime ?? new Date(0) };
}

/** ownFd is ownAs through an open file. */
async function ownFd(fh: FileHandle, uid: number, gid: number): Promise<void> {
  try {
    await fh.chown(uid, gid);
  } catch (err) {
    if (IS_ROOT || (err as NodeJS.ErrnoException).code !== "EPERM") throw err;
  }
}

/** ownAs sets numeric ownership; without root (a developer's unit run) ownership cannot be kept. */
async function ownAs(path: string, uid: number, gid: number): Promise<void> {
  try {
    await lchown(path, uid, gid);
  } catch (err) {
    if (IS_ROOT || (err as NodeJS.ErrnoException).code !== "EPERM") throw err;
  }
}
