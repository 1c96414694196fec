/**
 * Pruning and disk usage of the image store, over its public API: `image prune` removes dangling
 * images (no tag left), `-a` every image no container uses; the store's own removal then drops
 * the blobs and unpacked layers nothing else references. Sizes are measured on disk, so what
 * `system df` and prune report is what the filesystem holds, shared layers counted once.
 */
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { ImageRecord, ImageStore } from "./types.js";

export interface PruneReport {
  /** Image ids deleted, and layer chain ids removed with them. */
  deleted: string[];
  untagged: string[];
  spaceReclaimed: number;
}

/** pruneImages removes dangling images, or with all every image no container uses. */
export async function pruneImages(store: ImageStore, root: string, opts: { all: boolean; inUse: (imageId: string) => boolean }): Promise<PruneReport> {
  const before = await diskBytes(root);
  const report: PruneReport = { deleted: [], untagged: [], spaceReclaimed: 0 };
  for (const img of await store.list()) {
    if (opts.inUse(img.id)) continue;
    if (!opts.all && img.repoTags.length > 0) continue;
    // By id: every reference goes with it; a concurrent change is simply skipped.
    const res = await store.remove(img.id, { force: true, inUse: opts.inUse }).catch(() => undefined);
    if (!res) continue;
    report.untagged.push(...res.untagged);
    report.deleted.push(...res.deleted);
  }
  report.spaceReclaimed = Math.max(0, before - (await diskBytes(root)));
  return report;
}

export interface ImageUsage {
  total: number;
  active: number;
  /** Bytes the store occupies on disk (blobs, layers, metadata). */
  size: number;
  /** Bytes `image prune -a` would free: the unpacked size of images no container uses. */
  reclaimable: number;
}

/** imageUsage is the Images line of `system df`. */
export async function imageUsage(store: ImageStore, root: string, inUse: (imageId: string) => boolean): Promise<ImageUsage> {
  const images: ImageRecord[] = await store.list();
  const active = images.filter((i) => inUse(i.id));
  const usedLayers = new Set(active.flatMap((i) => i.layerDiffIds));
  const size = await diskBytes(root);
  // Layers shared with an image in use stay; the unpacked size of the rest is what would go.
  const reclaimable = images
    .filter((i) => !inUse(i.id))
    .reduce((n, i) => n + (i.layerDiffIds.every((d) => !usedLayers.has(d)) ? i.size : 0), 0);
  return { total: images.length, active: active.length, size, reclaimable: Math.min(reclaimable, size) };
}

/** diskBytes sums the sizes of regular files under dir (hard links and shared blocks counted once per inode). */
export async function diskBytes(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(d);
    } catch {
      return;
    }
    for (const name of names) {
      const p = join(d, name);
      const st = await lstat(p).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) await walk(p);
      else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        if (seen.has(key)) continue;
        seen.add(key);
        total += st.size;
      }
    }
  };
  await walk(dir);
  return total;
}
