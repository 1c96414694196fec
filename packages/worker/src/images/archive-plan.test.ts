import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createImageStore } from "./image-store.js";
import { hostArchitecture } from "./image-meta.js";
import { chunks, dockerArchive, sha256, snapshot, tarOf, type FixtureEntry } from "./test-archive.js";

let tmp: string;
let n = 0;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "tsctl-archives-"));
});

afterAll(async () => {
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

const newStore = () => createImageStore({ root: join(tmp, `s${n++}`) });
const blob = (b: string | Buffer): FixtureEntry => ({ name: `blobs/sha256/${sha256(b).slice(7)}`, body: b });
const desc = (b: string | Buffer, extra: object = {}) => ({ digest: sha256(b), size: Buffer.byteLength(b), ...extra });

/** platformImage is one single-layer image whose file "arch" says which platform it was built for. */
async function platformImage(arch: string) {
  const layer = gzipSync(await tarOf([{ name: "arch", body: arch }]));
  const diffId = sha256(await tarOf([{ name: "arch", body: arch }]));
  const config = JSON.stringify({ architecture: arch, os: "linux", rootfs: { type: "layers", diff_ids: [diffId] } });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: desc(config),
    layers: [desc(layer, { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip" })],
  });
  return { manifest, blobs: [blob(layer), blob(config), blob(manifest)] };
}

describe("OCI layouts", () => {
  it("picks linux/<host arch> from a nested index and names it after containerd's annotation", async () => {
    const host = await platformImage(hostArchitecture());
    const other = await platformImage(hostArchitecture() === "arm64" ? "amd64" : "arm64");
    const nested = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        desc(other.manifest, { platform: { os: "linux", architecture: hostArchitecture() === "arm64" ? "amd64" : "arm64" } }),
        desc(host.manifest, { platform: { os: "linux", architecture: hostArchitecture() } }),
      ],
    });
    const index = JSON.stringify({
      schemaVersion: 2,
      manifests: [
        desc(nested, {
          mediaType: "application/vnd.oci.image.index.v1+json",
          annotations: { "io.containerd.image.name": "registry.local:5000/multi:2", "org.opencontainers.image.ref.name": "2" },
        }),
      ],
    });
    const archive = await tarOf([
      { name: "oci-layout", body: '{"imageLayoutVersion":"1.0.0"}' },
      { name: "index.json", body: index },
      blob(nested),
      ...host.blobs,
      ...other.blobs,
    ]);
    const store = await newStore();
    // A gzipped archive is accepted as docker load accepts one.
    expect(await store.load(chunks(gzipSync(archive)))).toEqual(["Loaded image: registry.local:5000/multi:2"]);
    const img = await store.resolve("registry.local:5000/multi:2");
    expect(img.architecture).toBe(hostArchitecture());
    expect(await readFile(join(img.layerPaths[0] as string, "arch"), "utf8")).toBe(hostArchitecture());
    const rec = await store.inspect(img.id);
    expect(rec.repoDigests).toEqual([`registry.local:5000/multi@${sha256(nested)}`]);
    expect((await store.resolve(rec.repoDigests[0] as string)).id).toBe(img.id);
  });

  it("treats a bare-tag ref.name as unnamed", async () => {
    const host = await platformImage(hostArchitecture());
    const index = JSON.stringify({ schemaVersion: 2, manifests: [desc(host.manifest, { annotations: { "org.opencontainers.image.ref.name": "v1" } })] });
    const archive = await tarOf([{ name: "oci-layout", body: "{}" }, { name: "index.json", body: index }, ...host.blobs]);
    expect((await (await newStore()).load(chunks(archive)))[0]).toMatch(/^Loaded image ID: sha256:/);
  });
});

describe("docker-save archives", () => {
  it("follows legacy symlinked layers and reports a tag moving to a new image", async () => {
    const base = await tarOf([{ name: "base", body: "b" }]);
    const top = await tarOf([{ name: "top", body: "t" }]);
    const diffIds = [sha256(base), sha256(top)];
    const config = JSON.stringify({ os: "linux", rootfs: { type: "layers", diff_ids: diffIds } });
    const manifest = JSON.stringify([{ Config: `${sha256(config).slice(7)}.json`, RepoTags: ["app:1"], Layers: ["l1/layer.tar", "l2/layer.tar"] }]);
    const archive = await tarOf([
      { name: "manifest.json", body: manifest },
      { name: "l0/layer.tar", body: base },
      { name: "l1/layer.tar", type: "symlink", linkname: "../l0/layer.tar" },
      { name: "l2/layer.tar", body: top },
      { name: `${sha256(config).slice(7)}.json`, body: config },
    ]);
    const store = await newStore();
    const first = await store.load(chunks(await dockerArchive([{ tags: ["app:1"], layers: [base] }])));
    expect(first).toEqual(["Loaded image: app:1"]);
    const oldId = (await store.resolve("app:1")).id;
    expect(await store.load(chunks(archive))).toEqual([
      `The image app:1 already exists, renaming the old one with ID ${oldId} to empty string`,
      "Loaded image: app:1",
    ]);
    expect((await store.resolve("app:1")).layerPaths).toHaveLength(2);
    expect((await store.list()).map((r) => r.repoTags)).toContainEqual([]);
  });

  it("re-checks a layer that is already unpacked against the new blob's bytes", async () => {
    const store = await newStore();
    const layer = await tarOf([{ name: "f", body: "real" }]);
    await store.load(chunks(await dockerArchive([{ tags: ["one:1"], layers: [layer] }])));
    const root = join(tmp, `s${n - 1}`);
    const before = await snapshot(root);
    const forged = await tarOf([{ name: "f", body: "fake" }]);
    const archive = await dockerArchive([{ tags: ["two:1"], layers: [forged], diffIds: [sha256(layer)], env: ["X=1"] }]);
    await expect(store.load(chunks(archive))).rejects.toThrow(/^layer sha256:[a-f0-9]{12}… digest mismatch$/);
    expect(await snapshot(root)).toEqual(before);
  });

  it("names the missing member of an archive cut at an entry boundary", async () => {
    const archive = await dockerArchive([{ tags: ["x:1"], layers: [await tarOf([{ name: "x" }])] }]);
    // Drop manifest.json and the end-of-archive blocks: the tar still parses up to there.
    const cut = archive.subarray(0, archive.length - 1024 - 1024);
    await expect((await newStore()).load(chunks(cut))).rejects.toThrow(/^invalid archive: /);
  });
});
