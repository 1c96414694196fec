/**
 * `docker save` archives: the classic layout Docker and skopeo (docker-archive:) read and our
 * own load takes back, written as a stream. Per image `<config hex>.json`; per layer
 * `<diff_id hex>/layer.tar` (uncompressed, as a docker-archive layer must be, shared layers once);
 * then manifest.json and repositories. Gzip blobs (pulled layers) are inflated into a temp file
 * first, because a tar header needs the size before the bytes.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { open, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";
import { hexOf } from "./fs-util.js";
import { repositoryOf } from "./reference.js";

/** SaveItem is one image to save, with the tags ("name:tag") it is saved under. */
export interface SaveItem {
  id: string;
  tags: string[];
  configPath: string;
  layers: { diffId: string; path: string }[];
}

/** DockerManifestEntry is one manifest.json entry. */
export interface DockerManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

/** saveIndex computes manifest.json and repositories for items (pure). */
export function saveIndex(items: readonly SaveItem[]): { manifest: DockerManifestEntry[]; repositories: Record<string, Record<string, string>> } {
  const repositories: Record<string, Record<string, string>> = {};
  const manifest = items.map((it) => {
    const top = it.layers[it.layers.length - 1];
    for (const t of it.tags) {
      const repo = repositoryOf(t);
      const tag = t.slice(repo.length + 1);
      if (top !== undefined) (repositories[repo] ??= {})[tag] = hexOf(top.diffId);
    }
    return { Config: `${hexOf(it.id)}.json`, RepoTags: it.tags.length > 0 ? it.tags : null, Layers: it.layers.map((l) => `${hexOf(l.diffId)}/layer.tar`) };
  });
  return { manifest, repositories };
}

/** saveArchive yields the tar of items; tmp is a private directory for inflated layers (caller removes it). */
export async function* saveArchive(items: readonly SaveItem[], tmp: string): AsyncGenerator<Uint8Array> {
  const pack = tar.pack();
  const writing = (async () => {
    try {
      const written = new Set<string>();
      for (const it of items) {
        await addFile(pack, `${hexOf(it.id)}.json`, it.configPath);
        for (const l of it.layers) {
          const name = `${hexOf(l.diffId)}/layer.tar`;
          if (written.has(name)) continue;
          written.add(name);
          const plain = await inflated(l.path, join(tmp, hexOf(l.diffId)));
          await addFile(pack, name, plain);
          if (plain !== l.path) await rm(plain, { force: true });
        }
      }
      const { manifest, repositories } = saveIndex(items);
      await addBytes(pack, "manifest.json", Buffer.from(JSON.stringify(manifest)));
      await addBytes(pack, "repositories", Buffer.from(JSON.stringify(repositories)));
      pack.finalize();
    } catch (err) {
      pack.destroy(err as Error);
    }
  })();
  try {
    for await (const chunk of pack) yield chunk as Uint8Array;
  } finally {
    // A consumer that stops early (the client went away) ends the writer too.
    pack.destroy();
    await writing;
  }
}

const header = (name: string, size: number) => ({ name, size, mode: 0o644, mtime: new Date(0), type: "file" as const });

function addBytes(pack: tar.Pack, name: string, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => pack.entry(header(name, data.length), data, (err) => (err ? reject(err) : resolve())));
}

async function addFile(pack: tar.Pack, name: string, path: string): Promise<void> {
  const { size } = await stat(path);
  await new Promise<void>((resolve, reject) => {
    const entry = pack.entry(header(name, size), (err) => (err ? reject(err) : resolve()));
    pipeline(createReadStream(path), entry).catch(reject);
  });
}

/** inflated returns path itself for a plain tar, or dest holding its gunzipped bytes. */
async function inflated(path: string, dest: string): Promise<string> {
  const fh = await open(path, "r");
  const magic = Buffer.alloc(2);
  try {
    await fh.read(magic, 0, 2, 0);
  } finally {
    await fh.close();
  }
  if (magic[0] !== 0x1f || magic[1] !== 0x8b) return path;
  await pipeline(createReadStream(path), createGunzip(), createWriteStream(dest, { mode: 0o600 }));
  return dest;
}
