/**
 * The node-local image store: loads archives and pulls from registries into the content store,
 * unpacks layers, keeps references, resolves images for the executor and removes them with
 * Docker's rules. Every mutation runs under one in-process lock; archives are staged and blobs
 * downloaded outside it so loads and pulls overlap.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { InvalidArgumentError, NotFoundError, UnavailableError } from "@tsctl/api";
import { stageArchive } from "./archive-stage.js";
import { planImages, type ImagePlan, type OciConfig } from "./archive-plan.js";
import { diskUsage, exists } from "./fs-util.js";
import { blobsOf, chainIds, hostArchitecture, type StoredImage, type StoredLayer } from "./image-meta.js";
import { imageHistory, type HistoryEntry } from "./image-history.js";
import { readParts, type ImageParts } from "./image-parts.js";
import { fetchImage } from "./image-pull.js";
import { planRemoval } from "./image-remove.js";
import { saveArchive, type SaveItem } from "./image-save.js";
import { verifyDiffId } from "./layer-unpack.js";
import { Mutex } from "./mutex.js";
import { isDigestReference, normalizeReference, parseReference, tryNormalizeReference } from "./reference.js";
import { StoreFiles } from "./store-files.js";
import type { ImageRecord, PullingImageStore, PullOptions, PullResult, ResolvedImage } from "./types.js";

/** LayerEvent tells a pull's progress when a layer is unpacked during commit. */
type LayerEvent = (blob: string, action: "extracting" | "complete") => void;

/** createImageStore opens (or creates) the store at root, normally `<dataRoot>/images`. */
export async function createImageStore(opts: { root: string }): Promise<PullingImageStore> {
  const files = new StoreFiles(opts.root);
  await files.init();
  const store = new LocalImageStore(files);
  await store.open();
  return store;
}

/** LocalImageStore keeps the metadata in memory, mirrored to disk by StoreFiles on every change. */
class LocalImageStore implements PullingImageStore {
  private readonly lock = new Mutex();
  private images = new Map<string, StoredImage>();
  private refs = new Map<string, string>();
  private readonly configs = new Map<string, string>();

  constructor(private readonly files: StoreFiles) {}

  /** open reads metadata and collects what a crash between steps left unreferenced. */
  async open(): Promise<void> {
    this.images = new Map((await this.files.readImages()).map((i) => [i.id, i]));
    const refs = await this.files.readRefs();
    this.refs = new Map([...refs].filter(([, id]) => this.images.has(id)));
    if (this.refs.size !== refs.size) await this.files.writeRefs(this.refs);
    const liveBlobs = new Set([...this.images.values()].flatMap(blobsOf));
    const liveLayers = new Set([...this.images.values()].flatMap((i) => i.layers.map((l) => l.chainId)));
    for (const b of await this.files.listBlobs()) if (!liveBlobs.has(b)) await this.files.removeBlob(b);
    for (const l of await this.files.listLayers()) if (!liveLayers.has(l)) await this.files.removeLayer(l);
  }

  async load(archive: AsyncIterable<Uint8Array>): Promise<string[]> {
    const dir = await mkdtemp(join(this.files.tmp, "load-"));
    try {
      const staged = await stageArchive(archive, dir);
      const plans = await planImages(staged, hostArchitecture());
      return await this.lock.run(() => this.commit(plans));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async pull(ref: string, opts: PullOptions): Promise<PullResult> {
    const dir = await mkdtemp(join(this.files.tmp, "pull-"));
    try {
      const fetched = await fetchImage(this.files, dir, { ref, ...opts });
      await this.lock.run(async () => {
        // A blob reported "exists" may have gone with an image removed meanwhile.
        for (const b of fetched.existing) {
          if (!(await exists(this.files.blobPath(b)))) {
            throw new UnavailableError(`error pulling ${fetched.ref}: blob ${b} was removed during the pull, try again`);
          }
        }
        const onLayer: LayerEvent = (digest, action) => {
          if (fetched.existing.includes(digest)) return;
          const size = fetched.plan.layers.find((l) => l.file.digest === digest)?.file.size ?? 0;
          opts.onProgress?.({ digest, action, current: size, total: size });
        };
        await this.commit([fetched.plan], onLayer);
      });
      return { id: fetched.plan.id, digest: fetched.digest, ref: fetched.ref };
    } catch (err) {
      // A full disk is the node's problem, not the registry's: say which image and where.
      if ((err as NodeJS.ErrnoException).code === "ENOSPC") {
        throw new UnavailableError(`error pulling ${ref}: no space left on device under ${this.files.root}`, err);
      }
      throw err;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** parts reads what a push of ref sends; ref must name the image by tag (Docker's rule). */
  async parts(ref: string): Promise<ImageParts> {
    const key = tryNormalizeReference(ref);
    const id = key === undefined || isDigestReference(key) ? undefined : this.refs.get(key);
    const img = id === undefined ? undefined : this.images.get(id);
    if (img === undefined) throw new NotFoundError(`An image does not exist locally with the tag: ${parseReference(ref).name}`);
    return readParts(this.files, img, this.refsOf(img.id));
  }

  /** addRepoDigest records name@digest for image id (after a push), if the image is still here. */
  addRepoDigest(name: string, digest: string, id: string): Promise<void> {
    return this.lock.run(async () => {
      if (!this.images.has(id)) return;
      this.refs.set(`${name}@${digest}`, id);
      await this.files.writeRefs(this.refs);
    });
  }

  /** save streams a `docker save` archive of refs (NotFound before any byte for an unknown one). */
  async save(refs: string[]): Promise<AsyncIterable<Uint8Array>> {
    const items: SaveItem[] = [];
    for (const ref of refs) {
      const { img, key } = this.lookup(ref);
      let item = items.find((i) => i.id === img.id);
      if (item === undefined) {
        item = { id: img.id, tags: [], configPath: this.files.blobPath(img.id), layers: img.layers.map((l) => ({ diffId: l.diffId, path: this.files.blobPath(l.blob) })) };
        items.push(item);
      }
      if (key !== undefined && !isDigestReference(key) && !item.tags.includes(key)) item.tags.push(key);
    }
    const files = this.files;
    return (async function* () {
      const dir = await mkdtemp(join(files.tmp, "save-"));
      try {
        yield* saveArchive(items, dir);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    })();
  }

  /** history lists ref's build steps, newest first. */
  async history(ref: string): Promise<HistoryEntry[]> {
    const { img } = this.lookup(ref);
    const tags = this.refsOf(img.id).filter((k) => !isDigestReference(k)).sort();
    return imageHistory(img.id, await this.configJson(img.id), img.layers.map((l) => l.size), tags);
  }

  /** commit unpacks every new layer first; a bad layer undoes the layers this load created. */
  private async commit(plans: ImagePlan[], onLayer?: LayerEvent): Promise<string[]> {
    const created: string[] = [];
    const stored: StoredImage[] = [];
    try {
      for (const plan of plans) stored.push(await this.prepareImage(plan, created, onLayer));
    } catch (err) {
      for (const chainId of created) await this.files.removeLayer(chainId);
      throw err;
    }
    for (const plan of plans) {
      for (const f of [plan.configFile, plan.manifest, ...plan.layers.map((l) => l.file)]) {
        if (f !== undefined) await this.files.commitBlob(f.path, f.digest);
      }
    }
    await this.files.syncBlobs();
    const lines: string[] = [];
    for (const [i, img] of stored.entries()) {
      await this.files.writeImage(img);
      this.images.set(img.id, img);
      const tags = (plans[i]?.refs ?? []).filter((r) => !isDigestReference(r));
      for (const ref of plans[i]?.refs ?? []) {
        const old = this.refs.get(ref);
        if (old !== undefined && old !== img.id && !isDigestReference(ref)) {
          lines.push(`The image ${ref} already exists, renaming the old one with ID ${old} to empty string`);
        }
        this.refs.set(ref, img.id);
      }
      lines.push(...(tags.length > 0 ? tags.map((t) => `Loaded image: ${t}`) : [`Loaded image ID: ${img.id}`]));
    }
    await this.files.writeRefs(this.refs);
    return lines;
  }

  private async prepareImage(plan: ImagePlan, created: string[], onLayer?: LayerEvent): Promise<StoredImage> {
    const chains = chainIds(plan.layers.map((l) => l.diffId));
    // Layers a pull unpacked while downloading move into place together (one filesystem sync).
    const adopted = await this.files.adoptLayers(
      plan.layers.flatMap((l, i) => (l.unpacked ? [{ path: l.unpacked.path, chainId: chains[i] as string }] : [])),
    );
    created.push(...adopted);
    const layers: StoredLayer[] = [];
    for (const [i, l] of plan.layers.entries()) {
      const chainId = chains[i] as string;
      let size = this.knownLayerSize(chainId);
      if (adopted.includes(chainId)) {
        // Unpacked from this very blob, its diff_id checked on the way.
        size = l.unpacked?.size ?? 0;
      } else if (!(await this.files.hasLayer(chainId))) {
        onLayer?.(l.file.digest, "extracting");
        size = (await this.files.unpackLayer(l.file.path, chainId, l.diffId)).size;
        created.push(chainId);
      } else {
        // The layer is here already, but this blob must still prove it is that layer.
        if (!this.knownBlob(l.file.digest, l.diffId)) await verifyDiffId(l.file.path, l.diffId);
        size ??= await diskUsage(this.files.layerPath(chainId));
      }
      onLayer?.(l.file.digest, "complete");
      layers.push({ blob: l.file.digest, mediaType: l.mediaType, diffId: l.diffId, chainId, size });
    }
    const now = Date.now();
    const created_ = Date.parse(plan.config.created ?? "");
    const img: StoredImage = {
      id: plan.id,
      os: plan.config.os ?? "linux",
      architecture: plan.config.architecture ?? hostArchitecture(),
      createdMs: Number.isNaN(created_) ? now : created_,
      loadedMs: now,
      layers,
    };
    if (plan.manifest !== undefined) img.manifestDigest = plan.manifest.digest;
    return img;
  }

  private knownBlob(blob: string, diffId: string): boolean {
    return [...this.images.values()].some((i) => i.layers.some((l) => l.blob === blob && l.diffId === diffId));
  }

  private knownLayerSize(chainId: string): number | undefined {
    for (const img of this.images.values()) {
      const l = img.layers.find((x) => x.chainId === chainId);
      if (l !== undefined) return l.size;
    }
    return undefined;
  }

  async resolve(ref: string): Promise<ResolvedImage> {
    const { img, key } = this.lookup(ref);
    const layerPaths: string[] = [];
    for (const l of img.layers) {
      if (!(await this.files.hasLayer(l.chainId))) {
        // Lazily re-create a layer that is gone (removed by hand, or lost to a crash) from its blob.
        await this.lock.run(async () => {
          if (!(await this.files.hasLayer(l.chainId))) {
            await this.files.unpackLayer(this.files.blobPath(l.blob), l.chainId, l.diffId);
          }
        });
      }
      layerPaths.push(this.files.layerPath(l.chainId));
    }
    const config = JSON.parse(await this.configJson(img.id)) as OciConfig;
    return {
      id: img.id,
      ref: key ?? this.refsOf(img.id).find((k) => !isDigestReference(k)) ?? img.id,
      config: config.config ?? {},
      os: img.os,
      architecture: img.architecture,
      layerPaths,
    };
  }

  async list(): Promise<ImageRecord[]> {
    const imgs = [...this.images.values()].sort((a, b) => b.createdMs - a.createdMs || a.id.localeCompare(b.id));
    return Promise.all(imgs.map((i) => this.record(i)));
  }

  async inspect(ref: string): Promise<ImageRecord> {
    return this.record(this.lookup(ref).img);
  }

  tag(source: string, target: string): Promise<void> {
    return this.lock.run(async () => {
      const { img } = this.lookup(source);
      const key = normalizeReference(target);
      if (isDigestReference(key)) throw new InvalidArgumentError(`refusing to create a tag with a digest reference: "${target}"`);
      this.refs.set(key, img.id);
      await this.files.writeRefs(this.refs);
    });
  }

  remove(
    ref: string,
    opts: { force: boolean; inUse: (imageId: string) => boolean },
  ): Promise<{ untagged: string[]; deleted: string[] }> {
    return this.lock.run(async () => {
      const { img, key } = this.lookup(ref);
      const plan = planRemoval({
        input: ref,
        key,
        imageId: img.id,
        refs: this.refsOf(img.id),
        force: opts.force,
        inUse: opts.inUse(img.id),
      });
      for (const k of plan.untag) this.refs.delete(k);
      await this.files.writeRefs(this.refs);
      const deleted = plan.deleteImage ? await this.deleteImage(img) : [];
      return { untagged: plan.untag, deleted };
    });
  }

  /** deleteImage drops metadata first, so a crash leaves only garbage that open() collects. */
  private async deleteImage(img: StoredImage): Promise<string[]> {
    this.images.delete(img.id);
    this.configs.delete(img.id);
    await this.files.removeImage(img.id);
    const others = [...this.images.values()];
    const liveBlobs = new Set(others.flatMap(blobsOf));
    const liveLayers = new Set(others.flatMap((i) => i.layers.map((l) => l.chainId)));
    const deleted = [img.id];
    for (const l of [...img.layers].reverse()) {
      if (liveLayers.has(l.chainId) || deleted.includes(l.chainId)) continue;
      await this.files.removeLayer(l.chainId);
      deleted.push(l.chainId);
    }
    for (const b of blobsOf(img)) if (!liveBlobs.has(b)) await this.files.removeBlob(b);
    return deleted;
  }

  /** lookup finds an image by full id, reference, then unique id prefix (at least 4 hex digits). */
  private lookup(ref: string): { img: StoredImage; key?: string } {
    const byId = this.images.get(ref);
    if (byId !== undefined) return { img: byId };
    const key = tryNormalizeReference(ref);
    const id = key === undefined ? undefined : this.refs.get(key);
    const img = id === undefined ? undefined : this.images.get(id);
    if (img !== undefined && key !== undefined) return { img, key };
    const prefix = ref.startsWith("sha256:") ? ref.slice(7) : ref;
    if (/^[a-f0-9]{4,64}$/.test(prefix)) {
      const hits = [...this.images.values()].filter((i) => i.id.startsWith(`sha256:${prefix}`));
      if (hits.length === 1 && hits[0] !== undefined) return { img: hits[0] };
    }
    throw new NotFoundError(`No such image: ${ref}`);
  }

  private refsOf(id: string): string[] {
    return [...this.refs].filter(([, v]) => v === id).map(([k]) => k);
  }

  private async configJson(id: string): Promise<string> {
    let json = this.configs.get(id);
    if (json === undefined) {
      json = await readFile(this.files.blobPath(id), "utf8");
      this.configs.set(id, json);
    }
    return json;
  }

  private async record(img: StoredImage): Promise<ImageRecord> {
    const refs = this.refsOf(img.id).sort();
    return {
      id: img.id,
      repoTags: refs.filter((k) => !isDigestReference(k)),
      repoDigests: refs.filter(isDigestReference),
      createdMs: img.createdMs,
      size: img.layers.reduce((n, l) => n + l.size, 0),
      os: img.os,
      architecture: img.architecture,
      configJson: await this.configJson(img.id),
      layerDiffIds: img.layers.map((l) => l.diffId),
    };
  }
}
