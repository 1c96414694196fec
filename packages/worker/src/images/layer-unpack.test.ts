import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { lstat, mkdtemp, readFile, readdir, readlink, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isTsctlError } from "@tsctl/api";
import { createImageStore } from "./image-store.js";
import { unpackLayer } from "./layer-unpack.js";
import { chunks, dockerArchive, sha256, snapshot, tarOf, type FixtureEntry } from "./test-archive.js";

const run = promisify(execFile);
let tmp: string;
let n = 0;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "tsctl-layers-"));
});

afterAll(async () => {
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

/** unpack writes entries as a layer blob (optionally gzipped) and extracts it into a fresh dir. */
async function unpack(entries: FixtureEntry[], gzip = false): Promise<string> {
  const tar = await tarOf(entries);
  const blob = join(tmp, `blob-${n}`);
  await writeFile(blob, gzip ? gzipSync(tar) : tar);
  const dest = join(tmp, `layer-${n++}`);
  await unpackLayer(blob, dest, sha256(tar));
  return dest;
}

describe("unpackLayer", () => {
  it("keeps modes, owners, setuid bits, links and mtimes", async () => {
    const mtime = new Date(1_234_567_000_000);
    const dir = await unpack(
      [
        { name: "./usr/", type: "directory", mode: 0o755, mtime },
        { name: "./usr/bin/", type: "directory", mode: 0o750, uid: 1000, gid: 1000, mtime },
        { name: "./usr/bin/su", mode: 0o4755, uid: 0, gid: 0, body: "#!", mtime },
        { name: "./usr/bin/su2", type: "link", linkname: "usr/bin/su" },
        { name: "usr/bin/me", mode: 0o640, uid: 1000, gid: 100, body: "mine", mtime },
        { name: "/lib", type: "symlink", linkname: "/usr/lib", uid: 7, gid: 7, mtime },
      ],
      true,
    );
    const su = await lstat(join(dir, "usr/bin/su"));
    expect(su.mode & 0o7777).toBe(0o4755);
    expect(su.nlink).toBe(2);
    expect((await lstat(join(dir, "usr/bin/su2"))).ino).toBe(su.ino);
    const me = await lstat(join(dir, "usr/bin/me"));
    expect([me.mode & 0o777, me.uid, me.gid, me.mtimeMs]).toEqual([0o640, 1000, 100, mtime.getTime()]);
    const bin = await lstat(join(dir, "usr/bin"));
    expect([bin.mode & 0o777, bin.uid, bin.mtimeMs]).toEqual([0o750, 1000, mtime.getTime()]);
    const lib = await lstat(join(dir, "lib"));
    expect([lib.isSymbolicLink(), lib.uid, lib.mtimeMs]).toEqual([true, 7, mtime.getTime()]);
    expect(await readlink(join(dir, "lib"))).toBe("/usr/lib");
  });

  it("turns whiteouts into 0/0 character devices and opaque markers into xattrs", async () => {
    const dir = await unpack([
      { name: "etc/", type: "directory" },
      { name: "etc/.wh.motd", body: "" },
      { name: "var/cache/", type: "directory" },
      { name: "var/cache/.wh..wh..opq", body: "" },
      { name: "var/cache/new", body: "n" },
    ]);
    const wh = await stat(join(dir, "etc/motd"));
    expect([wh.isCharacterDevice(), wh.rdev, wh.uid, wh.gid]).toEqual([true, 0, 0, 0]);
    expect(await readdir(join(dir, "etc"))).toEqual(["motd"]);
    const { stdout } = await run("getfattr", ["--absolute-names", "-n", "trusted.overlay.opaque", "--only-values", join(dir, "var/cache")]);
    expect(stdout).toBe("y");
    expect(await readdir(join(dir, "var/cache"))).toEqual(["new"]);
  });

  it.each([
    ["../escape", /path traversal/, [{ name: "../escape", body: "x" }]],
    ["a/../../escape", /path traversal/, [{ name: "a/../../escape", body: "x" }]],
    ["a symlink parent", /under non-directory "evil"/, [{ name: "evil", type: "symlink", linkname: "/tmp" }, { name: "evil/pwned", body: "x" }]],
    ["a hardlink outside", /path traversal/, [{ name: "h", type: "link", linkname: "../../etc/passwd" }]],
    ["a hardlink to nothing", /hardlink "h" to missing/, [{ name: "h", type: "link", linkname: "etc/passwd" }]],
  ] as [string, RegExp, FixtureEntry[]][])("refuses %s", async (_what, message, entries) => {
    const err: unknown = await unpack(entries).catch((e: unknown) => e);
    expect(isTsctlError(err, "InvalidArgument") && message.test(err.message)).toBe(true);
  });

  it("rejects a truncated gzip layer with a one-line reason", async () => {
    const tar = await tarOf([{ name: "f", body: randomBytes(100_000) }]);
    const blob = join(tmp, `blob-${n++}`);
    await writeFile(blob, gzipSync(tar).subarray(0, 50_000));
    await expect(unpackLayer(blob, join(tmp, `layer-${n++}`), sha256(tar))).rejects.toThrow(/unexpected end of (gzip|tar) data$/);
  });
});

describe("failed loads change nothing", () => {
  async function storeWithBase() {
    const root = join(tmp, `store-${n++}`);
    const store = await createImageStore({ root });
    await store.load(chunks(await dockerArchive([{ tags: ["base:1"], layers: [await tarOf([{ name: "b", body: "b" }])] }])));
    return { root, store, before: await snapshot(root) };
  }

  it("rejects a truncated archive", async () => {
    const { root, store, before } = await storeWithBase();
    const big = await tarOf([{ name: "data", body: Buffer.alloc(300_000, 7) }]);
    const archive = await dockerArchive([{ tags: ["t:1"], layers: [big] }]);
    await expect(store.load(chunks(archive.subarray(0, 200_000)))).rejects.toThrow(
      "invalid archive: unexpected end of tar data",
    );
    expect(await snapshot(root)).toEqual(before);
    expect(await readdir(join(root, "tmp"))).toEqual([]);
  });

  it("rejects a layer whose bytes do not match its diff_id, after unpacking earlier layers", async () => {
    const { root, store, before } = await storeWithBase();
    const good = await tarOf([{ name: "good", body: "g" }]);
    const bad = await tarOf([{ name: "bad", body: "tampered" }]);
    const claimed = sha256(await tarOf([{ name: "bad", body: "original" }]));
    const archive = await dockerArchive([{ tags: ["t:1"], layers: [good, bad], diffIds: [sha256(good), claimed] }]);
    await expect(store.load(chunks(archive))).rejects.toThrow(`layer ${claimed.slice(0, 19)}… digest mismatch`);
    expect(await snapshot(root)).toEqual(before);
    await expect(store.resolve("t:1")).rejects.toSatisfy((e) => isTsctlError(e, "NotFound"));
  });

  it("rejects an OCI blob whose bytes do not match its name", async () => {
    const { root, store, before } = await storeWithBase();
    const layer = await tarOf([{ name: "x", body: "x" }]);
    const config = JSON.stringify({ os: "linux", rootfs: { type: "layers", diff_ids: [sha256(layer)] } });
    const manifest = JSON.stringify({
      schemaVersion: 2,
      config: { digest: sha256(config), size: config.length },
      layers: [{ digest: sha256(layer), size: layer.length }],
    });
    const index = JSON.stringify({
      schemaVersion: 2,
      manifests: [{ digest: sha256(manifest), size: manifest.length, annotations: { "org.opencontainers.image.ref.name": "oci/x:1" } }],
    });
    const blob = (b: string | Buffer, body = b) => ({ name: `blobs/sha256/${sha256(b).slice(7)}`, body });
    const corrupt = Buffer.from(layer);
    corrupt[600] = (corrupt[600] ?? 0) ^ 1;
    const archive = await tarOf([
      { name: "oci-layout", body: '{"imageLayoutVersion":"1.0.0"}' },
      { name: "index.json", body: index },
      blob(manifest),
      blob(config),
      blob(layer, corrupt),
    ]);
    await expect(store.load(chunks(archive))).rejects.toThrow(`blob ${sha256(layer).slice(0, 19)}… digest mismatch`);
    expect(await snapshot(root)).toEqual(before);
    // The intact archive loads, and its ref.name (a full reference) names the image.
    const intact = await tarOf([
      { name: "oci-layout", body: '{"imageLayoutVersion":"1.0.0"}' },
      { name: "index.json", body: index },
      blob(manifest),
      blob(config),
      blob(layer),
    ]);
    expect(await store.load(chunks(intact))).toEqual(["Loaded image: oci/x:1"]);
    expect(await readFile(join((await store.resolve("oci/x:1")).layerPaths[0] as string, "x"), "utf8")).toBe("x");
  });

  it("rejects a path-traversal entry in a layer", async () => {
    const { root, store, before } = await storeWithBase();
    const evil = await tarOf([{ name: "ok", body: "" }, { name: "../../../etc/evil", body: "x" }]);
    await expect(store.load(chunks(await dockerArchive([{ tags: ["evil:1"], layers: [evil] }])))).rejects.toThrow(
      /path traversal in entry/,
    );
    expect(await snapshot(root)).toEqual(before);
  });
});
