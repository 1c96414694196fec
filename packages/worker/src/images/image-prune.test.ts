import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createImageStore } from "./image-store.js";
import { diskBytes, imageUsage, pruneImages } from "./image-prune.js";
import { chunks, dockerArchive, tarOf } from "./test-archive.js";

let root = "";
afterEach(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

const layer = (name: string, kb: number) => tarOf([{ name, body: Buffer.alloc(kb * 1024, name) }]);

async function storeWithImages() {
  root = await mkdtemp(join(tmpdir(), "tsctl-prune-"));
  const store = await createImageStore({ root });
  const base = await layer("base", 64);
  await store.load(chunks(await dockerArchive([{ tags: ["a:1"], layers: [base, await layer("a", 32)] }])));
  await store.load(chunks(await dockerArchive([{ tags: ["b:1"], layers: [base, await layer("b", 32)] }])));
  await store.load(chunks(await dockerArchive([{ tags: ["c:1"], layers: [await layer("c", 16)] }])));
  return store;
}

describe("image prune and usage", () => {
  it("prunes only dangling images by default, every unused image with all, never one in use", async () => {
    const store = await storeWithImages();
    const a = await store.inspect("a:1");
    const c = await store.inspect("c:1");
    // Moving the tag c:1 to a's image leaves c's image dangling (no tag), as a re-pull does.
    await store.tag("a:1", "c:1");
    const inUse = (id: string) => id === a.id;
    const first = await pruneImages(store, root, { all: false, inUse });
    expect(first.deleted).toContain(c.id);
    expect((await store.list()).map((i) => i.repoTags.join(",")).sort()).toEqual(["a:1,c:1", "b:1"]);
    expect(first.spaceReclaimed).toBeGreaterThan(16 * 1024);

    const all = await pruneImages(store, root, { all: true, inUse });
    expect(all.untagged).toContain("b:1");
    const left = await store.list();
    expect(left.map((i) => i.id)).toEqual([a.id]);
    // a's layers, shared base included, survive.
    expect((await store.resolve("a:1")).layerPaths).toHaveLength(2);
  });

  it("reports usage from the disk, with only unused images' unshared layers reclaimable", async () => {
    const store = await storeWithImages();
    const a = await store.inspect("a:1");
    const usage = await imageUsage(store, root, (id) => id === a.id);
    expect(usage.total).toBe(3);
    expect(usage.active).toBe(1);
    expect(usage.size).toBe(await diskBytes(root));
    // b shares base with a (in use): not reclaimable as a whole; c is.
    const c = await store.inspect("c:1");
    expect(usage.reclaimable).toBe(c.size);
  });
});
