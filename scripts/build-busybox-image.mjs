#!/usr/bin/env node
/**
 * build-busybox-image builds a one-layer busybox image from the host's static busybox (Debian
 * package busybox-static) as a `docker save` tar (default) or an OCI image-layout tar, so tests,
 * the test cluster and benchmarks have an image without a registry. Output is deterministic (fixed
 * mtimes and owners, sorted entries, gzip without timestamps): the same busybox binary always
 * gives the same image id. Plain ESM with node built-ins and tar-stream, so it runs before any build.
 *
 * Usage: node scripts/build-busybox-image.mjs -o busybox.tar [--tag busybox:latest] [--format docker|oci]
 *        [--busybox /bin/busybox]
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";

const EPOCH = new Date(0);
const CREATED = EPOCH.toISOString().replace(/\.000Z$/, "Z");
const PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** sha256 returns the OCI digest of bytes. */
function sha256(bytes) {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** goArch names the host architecture the way image configs do. */
function goArch() {
  return { x64: "amd64", ia32: "386", ppc64: "ppc64le" }[process.arch] ?? process.arch;
}

/** tarOf packs entries ({name, type, mode, body?, linkname?}) sorted by name, owned by 0/0, mtime 0. */
async function tarOf(entries) {
  const pack = tar.pack();
  const chunks = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c);
  })();
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of sorted) {
    const header = { name: e.name, type: e.type, mode: e.mode, uid: 0, gid: 0, uname: "", gname: "", mtime: EPOCH };
    if (e.type === "symlink") header.linkname = e.linkname;
    await new Promise((resolve, reject) => {
      pack.entry(header, e.type === "file" ? e.body : undefined, (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** rootfs lists the layer: busybox, one symlink per applet, and the few files a shell expects. */
function rootfs(busybox) {
  const bin = readFileSync(busybox);
  const applets = execFileSync(busybox, ["--list"], { encoding: "utf8" })
    .split("\n")
    .map((s) => s.trim())
    .filter((s) => s !== "" && s !== "busybox" && !s.includes("/"));
  const dir = (name, mode = 0o755) => ({ name: `${name}/`, type: "directory", mode });
  const file = (name, body, mode = 0o644) => ({ name, type: "file", mode, body: Buffer.from(body) });
  return [
    dir("bin"),
    file("bin/busybox", bin, 0o755),
    ...applets.map((a) => ({ name: `bin/${a}`, type: "symlink", mode: 0o777, linkname: "busybox" })),
    dir("etc"),
    file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"),
    file("etc/group", "root:x:0:\nnobody:x:65534:\n"),
    dir("root", 0o700),
    dir("tmp", 0o1777),
    dir("var"),
    dir("var/www"),
  ];
}

function imageConfig(diffId) {
  return {
    architecture: goArch(),
    os: "linux",
    config: { Env: [PATH], Cmd: ["sh"] },
    created: CREATED,
    history: [{ created: CREATED, created_by: "scripts/build-busybox-image.mjs" }],
    rootfs: { type: "layers", diff_ids: [diffId] },
  };
}

/** dockerArchive lays the image out as `docker save` does (manifest.json, <id>/layer.tar). */
async function dockerArchive(layer, tag) {
  const diffId = sha256(layer);
  const config = Buffer.from(JSON.stringify(imageConfig(diffId)));
  const configName = `${sha256(config).slice(7)}.json`;
  const layerDir = diffId.slice(7);
  const [repo, ver] = splitTag(tag);
  const manifest = [{ Config: configName, RepoTags: [tag], Layers: [`${layerDir}/layer.tar`] }];
  return tarOf([
    { name: configName, type: "file", mode: 0o644, body: config },
    { name: `${layerDir}/`, type: "directory", mode: 0o755 },
    { name: `${layerDir}/layer.tar`, type: "file", mode: 0o644, body: layer },
    { name: "manifest.json", type: "file", mode: 0o644, body: Buffer.from(JSON.stringify(manifest)) },
    { name: "repositories", type: "file", mode: 0o644, body: Buffer.from(JSON.stringify({ [repo]: { [ver]: layerDir } })) },
  ]);
}

/** ociArchive lays the image out as an OCI image layout with a gzip layer. */
async function ociArchive(layer, tag) {
  const gz = gzipSync(layer, { level: 9 });
  const config = Buffer.from(JSON.stringify(imageConfig(sha256(layer))));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: sha256(gz), size: gz.length }],
    }),
  );
  const index = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [
      {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: sha256(manifest),
        size: manifest.length,
        annotations: { "io.containerd.image.name": tag, "org.opencontainers.image.ref.name": splitTag(tag)[1] },
        platform: { architecture: goArch(), os: "linux" },
      },
    ],
  };
  const blob = (bytes) => ({ name: `blobs/sha256/${sha256(bytes).slice(7)}`, type: "file", mode: 0o644, body: bytes });
  return tarOf([
    { name: "blobs/", type: "directory", mode: 0o755 },
    { name: "blobs/sha256/", type: "directory", mode: 0o755 },
    blob(config),
    blob(manifest),
    blob(gz),
    { name: "index.json", type: "file", mode: 0o644, body: Buffer.from(JSON.stringify(index)) },
    { name: "oci-layout", type: "file", mode: 0o644, body: Buffer.from(JSON.stringify({ imageLayoutVersion: "1.0.0" })) },
  ]);
}

/** splitTag splits "host:5000/name:tag" at the tag's colon, never at a port's. */
function splitTag(ref) {
  const colon = ref.lastIndexOf(":");
  if (colon > ref.lastIndexOf("/")) return [ref.slice(0, colon), ref.slice(colon + 1)];
  return [ref, "latest"];
}

async function main() {
  const { values } = parseArgs({
    options: {
      output: { type: "string", short: "o" },
      tag: { type: "string", default: "busybox:latest" },
      format: { type: "string", default: "docker" },
      busybox: { type: "string", default: "/bin/busybox" },
    },
  });
  if (values.output === undefined || !["docker", "oci"].includes(values.format)) {
    process.stderr.write("usage: build-busybox-image.mjs -o OUT.tar [--tag busybox:latest] [--format docker|oci]\n");
    process.exit(2);
  }
  const layer = await tarOf(rootfs(values.busybox));
  const out = values.format === "oci" ? await ociArchive(layer, values.tag) : await dockerArchive(layer, values.tag);
  writeFileSync(values.output, out);
}

await main();
