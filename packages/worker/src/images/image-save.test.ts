import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stageArchive } from "./archive-stage.js";
import { planImages } from "./archive-plan.js";
import { saveArchive, saveIndex, type SaveItem } from "./image-save.js";
import { sha256, tarOf } from "./test-archive.js";

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "tsctl-save-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("saveIndex", () => {
  it("names configs and layers the classic way and maps tags to the top layer", () => {
    const items: SaveItem[] = [
      { id: `sha256:${"a".repeat(64)}`, tags: ["web:1", "reg:5000/web:2"], configPath: "", layers: [{ diffId: `sha256:${"b".repeat(64)}`, path: "" }] },
      { id: `sha256:${"c".repeat(64)}`, tags: [], configPath: "", layers: [] },
    ];
    const { manifest, repositories } = saveIndex(items);
    expect(manifest).toEqual([
      { Config: `${"a".repeat(64)}.json`, RepoTags: ["web:1", "reg:5000/web:2"], Layers: [`${"b".repeat(64)}/layer.tar`] },
      { Config: `${"c".repeat(64)}.json`, RepoTags: null, Layers: [] },
    ]);
    expect(repositories).toEqual({ web: { "1": "b".repeat(64) }, "reg:5000/web": { "2": "b".repeat(64) } });
  });
});

describe("saveArchive", () => {
  it("writes an archive the loader plans back into the same image, gzip layers inflated", async () => {
    const layer = await tarOf([{ name: "etc/hello", body: "hi\n" }]);
    const config = JSON.stringify({ os: "linux", architecture: "amd64", rootfs: { type: "layers", diff_ids: [sha256(layer)] } });
    await writeFile(join(tmp, "config"), config);
    await writeFile(join(tmp, "layer.gz"), gzipSync(layer));
    const item: SaveItem = { id: sha256(config), tags: ["web:1"], configPath: join(tmp, "config"), layers: [{ diffId: sha256(layer), path: join(tmp, "layer.gz") }] };
    const stageDir = await mkdtemp(join(tmp, "stage-"));
    const workDir = await mkdtemp(join(tmp, "work-"));
    const staged = await stageArchive(saveArchive([item], workDir), stageDir);
    const [plan] = await planImages(staged, "amd64");
    expect(plan?.id).toBe(item.id);
    expect(plan?.refs).toEqual(["web:1"]);
    expect(plan?.layers[0]?.file.digest).toBe(sha256(layer));
  });
});
