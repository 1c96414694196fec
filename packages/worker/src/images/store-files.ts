/**
 * On-disk layout of the image store, with every write crash-safe:
 *   blobs/sha256/<hex>     content store (renamed in only after the digest was verified)
 *   layers/<chainID hex>/  unpacked layers (renamed from layers/.tmp-… once fully extracted)
 *   images/<id hex>.json   image metadata
 *   refs.json              name:tag / name@digest → image id
 *   tmp/                   staging for archives being loaded
 */
import { mkdir, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { exists, fsyncDir, hexOf, tempName, writeFileAtomic } from "./fs-util.js";
import type { StoredImage } from "./image-meta.js";
import { unpackLayer } from "./layer-unpack.js";
import { syncFilesystem } from "./special-files.js";

interface RefsFile {
  version: 1;
  refs: Record<string, string>;
}

/** StoreFiles owns the paths under the store root; it holds no state of its own. */
export class StoreFiles {
  readonly tmp: string;
  private readonly blobs: string;
  private readonly layers: string;
  private readonly images: string;

  constructor(readonly root: string) {
    this.tmp = join(root, "tmp");
    this.blobs = join(root, "blobs", "sha256");
    this.layers = join(root, "layers");
    this.images = join(root, "images");
  }

  /** init creates the layout and drops what a crash left half-done: staging and unfinished layers. */
  async init(): Promise<void> {
    await rm(this.tmp, { recursive: true, force: true });
    for (const d of [this.tmp, this.blobs, this.layers, this.images]) await mkdir(d, { recursive: true, mode: 0o700 });
    for (const dir of [this.blobs, this.layers, this.images]) {
      for (const name of await readdir(dir)) {
        if (name.startsWith(".tmp-")) await rm(join(dir, name), { recursive: true, force: true });
      }
    }
  }

  blobPath(digest: string): string {
    return join(this.blobs, hexOf(digest));
  }

  layerPath(chainId: string): string {
    return join(this.layers, hexOf(chainId));
  }

  async readImages(): Promise<StoredImage[]> {
    const out: StoredImage[] = [];
    for (const name of await readdir(this.images)) {
      if (!name.endsWith(".json") || name.startsWith(".")) continue;
      out.push(JSON.parse(await readFile(join(this.images, name), "utf8")) as StoredImage);
    }
    return out;
  }

  writeImage(img: StoredImage): Promise<void> {
    return writeFileAtomic(join(this.images, `${hexOf(img.id)}.json`), `${JSON.stringify(img, null, 2)}\n`);
  }

  removeImage(id: string): Promise<void> {
    return rm(join(this.images, `${hexOf(id)}.json`), { force: true });
  }

  async readRefs(): Promise<Map<string, string>> {
    const path = join(this.root, "refs.json");
    if (!(await exists(path))) return new Map();
    const file = JSON.parse(await readFile(path, "utf8")) as RefsFile;
    return new Map(Object.entries(file.refs));
  }

  writeRefs(refs: Map<string, string>): Promise<void> {
    const file: RefsFile = { version: 1, refs: Object.fromEntries([...refs].sort(([a], [b]) => a.localeCompare(b))) };
    return writeFileAtomic(join(this.root, "refs.json"), `${JSON.stringify(file, null, 2)}\n`);
  }

  /** commitBlob moves a verified, fsynced staged file into the content store, unless already there. */
  async commitBlob(staged: string, digest: string): Promise<void> {
    const dest = this.blobPath(digest);
    if (await exists(dest)) return;
    if (!(await exists(staged))) return; // The same member was committed under this digest a moment ago.
    await rename(staged, dest);
  }

  /** syncBlobs makes committed renames durable before metadata that points at them is written. */
  syncBlobs(): Promise<void> {
    return fsyncDir(this.blobs);
  }

  removeBlob(digest: string): Promise<void> {
    return rm(this.blobPath(digest), { force: true });
  }

  async listBlobs(): Promise<string[]> {
    return (await readdir(this.blobs)).filter((n) => !n.startsWith(".")).map((n) => `sha256:${n}`);
  }

  async listLayers(): Promise<string[]> {
    return (await readdir(this.layers)).filter((n) => !n.startsWith(".")).map((n) => `sha256:${n}`);
  }

  hasLayer(chainId: string): Promise<boolean> {
    return exists(this.layerPath(chainId));
  }

  /** unpackLayer extracts a blob beside the layers, then renames it into place: a layer dir is always complete. */
  async unpackLayer(blob: string, chainId: string, diffId: string): Promise<{ size: number }> {
    const dest = this.layerPath(chainId);
    const tmp = tempName(dest);
    try {
      const res = await unpackLayer(blob, tmp, diffId);
      // Extracted files must be on disk before the rename declares the layer complete.
      await syncFilesystem(tmp);
      await rename(tmp, dest);
      await fsyncDir(this.layers);
      return res;
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * adoptLayers moves layers unpacked elsewhere on this filesystem (a pull's staging directory)
   * into place: one filesystem sync for all of them, then a rename each, so a layer directory is
   * still always complete. Returns the chain ids it created (a layer already present is kept).
   */
  async adoptLayers(staged: { path: string; chainId: string }[]): Promise<string[]> {
    if (staged.length === 0) return [];
    await syncFilesystem(this.layers);
    const created: string[] = [];
    for (const s of staged) {
      if (await this.hasLayer(s.chainId)) continue;
      await rename(s.path, this.layerPath(s.chainId));
      created.push(s.chainId);
    }
    await fsyncDir(this.layers);
    return created;
  }

  removeLayer(chainId: string): Promise<void> {
    return rm(this.layerPath(chainId), { recursive: true, force: true });
  }
}
