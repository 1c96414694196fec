// big-image: writes a docker-save archive of a large test image for the pull bench, without any
// network: busybox's layer (from .cache/busybox.tar) plus N layers of incompressible bytes (an
// AES-CTR keystream, so gzip on push gains nothing and the same inputs give the same digests).
// Run directly to write one: node bench/big-image.mjs OUT.tar [layers] [MiB per layer].
import { createCipheriv, createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const BUSYBOX_TAR = fileURLToPath(new URL("../.cache/busybox.tar", import.meta.url));

/** tarHeader returns a 512-byte ustar header (uid/gid 0, fixed mtime so layers are reproducible). */
function tarHeader(name, size, type) {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, "utf8");
  h.write(type === "5" ? "0000755\0" : "0000644\0", 100);
  h.write("0000000\0", 108);
  h.write("0000000\0", 116);
  h.write(size.toString(8).padStart(11, "0") + "\0", 124);
  h.write("00000000000\0", 136);
  h.write("        ", 148);
  h.write(type, 156);
  h.write("ustar\0", 257);
  h.write("00", 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
  return h;
}

/** tar builds an uncompressed tar of entries: {name, data} files and {name} directories. */
function tar(entries) {
  const parts = [];
  for (const e of entries) {
    if (e.data === undefined) {
      parts.push(tarHeader(e.name.endsWith("/") ? e.name : `${e.name}/`, 0, "5"));
      continue;
    }
    parts.push(tarHeader(e.name, e.data.length, "0"), e.data);
    const pad = (512 - (e.data.length % 512)) % 512;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** noise returns n incompressible, reproducible bytes: the AES-256-CTR keystream for a seed. */
function noise(seed, n) {
  const key = createHash("sha256").update(`tsctl bench layer ${seed}`).digest();
  return createCipheriv("aes-256-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(n));
}

const sha256 = (b) => createHash("sha256").update(b).digest("hex");

/**
 * writeBigImage writes a docker-save archive tagged tag: busybox's layer then `layers` layers of
 * `layerBytes` incompressible bytes each (one file per layer). Returns the image's sizes.
 */
export async function writeBigImage(out, { tag = "bench/big:1", layers = 5, layerBytes = 20 << 20 } = {}) {
  const bb = await mkdtemp("/tmp/big-image-busybox.");
  try {
    await run("tar", ["-xf", BUSYBOX_TAR, "-C", bb]);
    const [base] = JSON.parse(await readFile(join(bb, "manifest.json"), "utf8"));
    const baseConfig = JSON.parse(await readFile(join(bb, base.Config), "utf8"));
    const entries = [];
    const diffIds = [...baseConfig.rootfs.diff_ids];
    const layerPaths = [];
    for (const l of base.Layers) {
      const data = await readFile(join(bb, l));
      entries.push({ name: l.split("/")[0] }, { name: l, data });
      layerPaths.push(l);
    }
    const history = [...(baseConfig.history ?? [])];
    for (let i = 1; i <= layers; i++) {
      const layer = tar([{ name: "bench" }, { name: `bench/layer${i}.bin`, data: noise(i, layerBytes) }]);
      const hex = sha256(layer);
      diffIds.push(`sha256:${hex}`);
      entries.push({ name: hex }, { name: `${hex}/layer.tar`, data: layer });
      layerPaths.push(`${hex}/layer.tar`);
      history.push({ created: "1970-01-01T00:00:00Z", created_by: `bench/big-image.mjs layer ${i} (${layerBytes} random bytes)` });
    }
    const config = Buffer.from(JSON.stringify({ ...baseConfig, history, rootfs: { type: "layers", diff_ids: diffIds } }));
    const configName = `${sha256(config)}.json`;
    entries.push({ name: configName, data: config });
    entries.push({ name: "manifest.json", data: Buffer.from(JSON.stringify([{ Config: configName, RepoTags: [tag], Layers: layerPaths }])) });
    await writeFile(out, tar(entries));
    return { layers: layerPaths.length, bytes: layers * layerBytes };
  } finally {
    await rm(bb, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [out, layers, mib] = process.argv.slice(2);
  if (!out) {
    console.error("usage: node bench/big-image.mjs OUT.tar [layers] [MiB per layer]");
    process.exit(2);
  }
  const r = await writeBigImage(out, { layers: Number(layers ?? 5), layerBytes: Number(mib ?? 20) << 20 });
  console.log(`${out}: ${r.layers} layers, ${(r.bytes / (1 << 20)).toFixed(0)} MiB of incompressible data`);
}

