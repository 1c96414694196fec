import { execFile } from "node:child_process";
import { createReadStream } from "node:fs";
import { lstat, mkdtemp, readFile, readdir, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isTsctlError } from "@tsctl/api";
import { createImageStore } from "./image-store.js";
import { chunks, dockerArchive, sha256, tarOf } from "./test-archive.js";

const run = promisify(execFile);
const script = fileURLToPath(new URL("../../../../scripts/build-busybox-image.mjs", import.meta.url));
const notInUse = { force: false, inUse: () => false };
let tmp: string;
let dockerTar: string;
let ociTar: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "tsctl-images-"));
  dockerTar = join(tmp, "busybox-docker.tar");
  ociTar = join(tmp, "busybox-oci.tar");
  await run(process.execPath, [script, "-o", dockerTar]);
  await run(process.execPath, [script, "-o", ociTar, "--format", "oci", "--tag", "docker.io/library/busybox:latest"]);
});

afterAll(async () => {
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

async function freshStore(name: string) {
  const root = join(tmp, name);
  return { root, store: await createImageStore({ root }) };
}

describe.each([
  ["docker", () => dockerTar],
  ["oci", () => ociTar],
])("busybox image in %s format", (format, archive) => {
  it("loads, resolves by name, id and prefix, and unpacks a usable rootfs", async () => {
    const { root, store } = await freshStore(`bb-${format}`);
    const t0 = performance.now();
    const lines = await store.load(createReadStream(archive()));
    console.log(`load busybox (${format}): ${(performance.now() - t0).toFixed(0)} ms`);
    expect(lines).toEqual(["Loaded image: busybox:latest"]);

    const img = await store.resolve("busybox");
    expect(img.ref).toBe("busybox:latest");
    expect(img.config.Cmd).toEqual(["sh"]);
    expect(img.os).toBe("linux");
    expect(img.layerPaths).toHaveLength(1);
    expect((await store.resolve(img.id)).id).toBe(img.id);
    expect((await store.resolve(img.id.slice(7, 13))).id).toBe(img.id);
    expect((await store.resolve("docker.io/library/busybox:latest")).id).toBe(img.id);

    const layer = img.layerPaths[0] as string;
    const bb = await lstat(join(layer, "bin/busybox"));
    expect(bb.isFile() && (bb.mode & 0o111) !== 0).toBe(true);
    expect(await readlink(join(layer, "bin/sh"))).toBe("busybox");
    expect(await readlink(join(layer, "bin/ls"))).toBe("busybox");
    expect((await lstat(join(layer, "tmp"))).mode & 0o7777).toBe(0o1777);
    expect(await readFile(join(layer, "etc/passwd"), "utf8")).toContain("nobody:x:65534");
    const { stdout } = await run(join(layer, "bin/busybox"), ["echo", "hi"]);
    expect(stdout).toBe("hi\n");

    const [rec] = await store.list();
    expect(rec?.repoTags).toEqual(["busybox:latest"]);
    expect(rec?.size).toBeGreaterThan(bb.size - 1);
    if (format === "oci") expect(rec?.repoDigests[0]).toMatch(/^busybox@sha256:[a-f0-9]{64}$/);
    // Both formats carry the same config, hence the same image id.
    expect(await readdir(join(root, "images"))).toEqual([`${img.id.slice(7)}.json`]);
  });
});

it("gives both formats the same image id and stores the shared layer once", async () => {
  const { root, store } = await freshStore("both");
  await store.load(createReadStream(dockerTar));
  await store.tag("busybox", "registry.local:5000/tools/bb:1");
  await store.load(createReadStream(ociTar));
  expect((await store.list()).map((r) => r.id)).toHaveLength(1);
  expect(await readdir(join(root, "layers"))).toHaveLength(1);
  // The docker archive's layer is a plain tar, the OCI one gzip: two blobs, one unpacked layer.
  expect((await readdir(join(root, "blobs/sha256"))).length).toBe(4);
  expect((await store.resolve("registry.local:5000/tools/bb:1")).ref).toBe("registry.local:5000/tools/bb:1");
});

it("shares a base layer between two images and keeps it until the last user goes", async () => {
  const { root, store } = await freshStore("shared");
  const base = await tarOf([{ name: "etc/", type: "directory" }, { name: "etc/os", body: "base" }]);
  const appA = await tarOf([{ name: "a", body: "A" }]);
  const appB = await tarOf([{ name: "b", body: "B" }]);
  await store.load(chunks(await dockerArchive([{ tags: ["a:1"], layers: [base, appA] }])));
  await store.load(chunks(await dockerArchive([{ tags: ["b:1"], layers: [base, appB] }])));
  const a = await store.resolve("a:1");
  const b = await store.resolve("b:1");
  expect(a.layerPaths[0]).toBe(b.layerPaths[0]);
  expect(await readdir(join(root, "layers"))).toHaveLength(3);
  expect((await readdir(join(root, "blobs/sha256"))).filter((n) => n === sha256(base).slice(7))).toHaveLength(1);

  const res = await store.remove("a:1", notInUse);
  expect(res.untagged).toEqual(["a:1"]);
  expect(res.deleted).toHaveLength(2); // the image and its own top layer
  expect(await readdir(join(root, "layers"))).toHaveLength(2);
  expect((await lstat(join(b.layerPaths[0] as string, "etc/os"))).isFile()).toBe(true);
  await store.remove("b:1", notInUse);
  expect(await readdir(join(root, "layers"))).toEqual([]);
  expect(await readdir(join(root, "blobs/sha256"))).toEqual([]);
});

it("tags, untags and removes with Docker's rules and conflicts", async () => {
  const { store } = await freshStore("rmi");
  await store.load(createReadStream(dockerTar));
  const id = (await store.resolve("busybox")).id;
  await store.tag("busybox", "busybox:1");
  await expect(store.tag("busybox", "Bad/Name")).rejects.toSatisfy((e) => isTsctlError(e, "InvalidArgument"));
  await expect(store.tag("nope", "x:1")).rejects.toThrow("No such image: nope");

  // Two tags in one repository: untagging one keeps the image.
  expect(await store.remove("busybox:1", notInUse)).toEqual({ untagged: ["busybox:1"], deleted: [] });

  // Two repositories: removing by id needs force.
  await store.tag(id, "other:2");
  await expect(store.remove(id.slice(7, 19), notInUse)).rejects.toThrow(
    `conflict: unable to delete ${id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`,
  );
  await store.remove("other:2", notInUse);

  // The last tag of an image a container uses.
  const inUse = { force: false, inUse: (i: string) => i === id };
  await expect(store.remove("busybox", inUse)).rejects.toSatisfy(
    (e) =>
      isTsctlError(e, "FailedPrecondition") &&
      e.message.startsWith('conflict: unable to remove repository reference "busybox" (must force)'),
  );
  // Forced: the reference goes, the image stays for the container.
  expect(await store.remove("busybox", { ...inUse, force: true })).toEqual({ untagged: ["busybox:latest"], deleted: [] });
  expect((await store.resolve(id)).ref).toBe(id);
  const gone = await store.remove(id, notInUse);
  expect(gone.deleted[0]).toBe(id);
  await expect(store.resolve(id)).rejects.toSatisfy((e) => isTsctlError(e, "NotFound"));
  expect(await store.list()).toEqual([]);
});

it("survives two concurrent loads of the same image and a reopen", async () => {
  const { root, store } = await freshStore("concurrent");
  const [l1, l2] = await Promise.all([store.load(createReadStream(dockerTar)), store.load(createReadStream(ociTar))]);
  expect(l1).toEqual(["Loaded image: busybox:latest"]);
  expect(l2).toEqual(["Loaded image: busybox:latest"]);
  expect(await readdir(join(root, "layers"))).toHaveLength(1);
  const reopened = await createImageStore({ root });
  const img = await reopened.resolve("busybox");
  // A layer removed behind the store's back is unpacked again from its blob.
  await rm(img.layerPaths[0] as string, { recursive: true });
  const again = await reopened.resolve("busybox");
  expect((await lstat(join(again.layerPaths[0] as string, "bin/busybox"))).isFile()).toBe(true);
});

it("reports an untagged image by id", async () => {
  const { store } = await freshStore("untagged");
  const lines = await store.load(chunks(await dockerArchive([{ tags: [], layers: [await tarOf([{ name: "x" }])] }])));
  expect(lines[0]).toMatch(/^Loaded image ID: sha256:[a-f0-9]{64}$/);
});
