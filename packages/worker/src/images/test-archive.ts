/**
 * Test fixtures: hand-made layer tars and image archives (docker-save and OCI layout), so tests
 * can build whiteouts, hostile paths and corrupt digests that no real builder would emit.
 */
import { createHash } from "node:crypto";
import { readdir, lstat } from "node:fs/promises";
import { join, relative } from "node:path";
import tar from "tar-stream";

/** FixtureEntry is one tar member; body only for files. */
export interface FixtureEntry {
  name: string;
  type?: "file" | "directory" | "symlink" | "link";
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  body?: string | Buffer;
  linkname?: string;
}

/** tarOf packs entries in the given order. */
export async function tarOf(entries: FixtureEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c);
  })();
  for (const e of entries) {
    const type = e.type ?? "file";
    const header: tar.Headers = {
      name: e.name,
      type,
      mode: e.mode ?? (type === "directory" ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: e.mtime ?? new Date(1_000_000_000_000),
    };
    if (e.linkname !== undefined) header.linkname = e.linkname;
    await new Promise<void>((resolve, reject) => {
      const body = type === "file" ? Buffer.from(e.body ?? "") : undefined;
      pack.entry(header, body, (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** sha256 returns the OCI digest of bytes. */
export function sha256(b: Buffer | string): string {
  return `sha256:${createHash("sha256").update(b).digest("hex")}`;
}

/** FixtureImage is one image of a docker-save archive; diffIds default to the layers' own digests. */
export interface FixtureImage {
  tags: string[];
  layers: Buffer[];
  diffIds?: string[];
  env?: string[];
}

/** dockerArchive builds a `docker save` archive holding the images. */
export async function dockerArchive(images: FixtureImage[]): Promise<Buffer> {
  const entries: FixtureEntry[] = [];
  const manifest = [];
  const seen = new Set<string>();
  for (const img of images) {
    const diffIds = img.diffIds ?? img.layers.map((l) => sha256(l));
    const config = JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: { Env: img.env ?? ["PATH=/bin"], Cmd: ["sh"] },
      rootfs: { type: "layers", diff_ids: diffIds },
    });
    const configName = `${sha256(config).slice(7)}.json`;
    const layerNames = img.layers.map((l) => `${sha256(l).slice(7)}/layer.tar`);
    img.layers.forEach((l, i) => {
      const name = layerNames[i] as string;
      if (!seen.has(name)) entries.push({ name, body: l });
      seen.add(name);
    });
    entries.push({ name: configName, body: config });
    manifest.push({ Config: configName, RepoTags: img.tags, Layers: layerNames });
  }
  entries.push({ name: "manifest.json", body: JSON.stringify(manifest) });
  return tarOf(entries);
}

/** chunks yields buf in pieces, like a network stream would deliver it. */
export async function* chunks(buf: Buffer, size = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

/** snapshot lists every path under root (but tmp/) with its size, to compare store states. */
export async function snapshot(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const name of await readdir(d)) {
      const p = join(d, name);
      const rel = relative(root, p);
      if (rel === "tmp") continue;
      const s = await lstat(p);
      out.push(`${rel} ${s.isDirectory() ? "dir" : s.size}`);
      if (s.isDirectory()) await walk(p);
    }
  };
  await walk(root);
  return out.sort();
}
