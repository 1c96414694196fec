/**
 * Pulling from a registry, up to the point where the store commits: the platform's manifest and
 * config are fetched, every layer blob not yet in the content store is downloaded (verified) into
 * the pull's staging directory and unpacked there as soon as it is in, while other blobs still
 * download (layers unpack independently: each is its own overlay lowerdir). The result is an
 * ImagePlan like an archive load produces, so the store records it with the same crash-safe
 * commit, which only has to move the unpacked layers into place. Blobs the store holds already are
 * reported "exists" and not downloaded.
 */
import { join } from "node:path";
import { InvalidArgumentError } from "@tsctl/api";
import { Limiter } from "../registry/limit.js";
import { layerCompression } from "../registry/manifest.js";
import { hostPlatform } from "../registry/platform.js";
import { toRemote } from "../registry/repository.js";
import type { Platform, PullProgress, RegistryClient } from "../registry/types.js";
import type { ImagePlan, LayerPlan, OciConfig } from "./archive-plan.js";
import { exists, hexOf, writeFileAtomic } from "./fs-util.js";
import { chainIds } from "./image-meta.js";
import { unpackLayer } from "./layer-unpack.js";
import type { StoreFiles } from "./store-files.js";

/** Unpacking is CPU work (gunzip, sha256, file writes): at most this many layers at once. */
const unpackConcurrency = 2;

export interface FetchRequest {
  ref: string;
  registry: RegistryClient;
  platform?: Platform | undefined;
  onProgress?: ((p: PullProgress) => void) | undefined;
  signal?: AbortSignal | undefined;
}

/** FetchedImage is a pull ready to commit; digest is what the reference named (the repo digest). */
export interface FetchedImage {
  plan: ImagePlan;
  digest: string;
  /** Normalised reference the pull was asked for ("busybox:latest", "web@sha256:…"). */
  ref: string;
  /** Layer blobs that were in the content store before this pull (they must still be there at commit). */
  existing: string[];
}

const DIFF_ID = /^sha256:[a-f0-9]{64}$/;

/** fetchImage downloads what ref needs into dir (a fresh directory under the store's tmp/). */
export async function fetchImage(files: StoreFiles, dir: string, req: FetchRequest): Promise<FetchedImage> {
  const r = toRemote(req.ref);
  const progress = req.onProgress ?? (() => undefined);
  const got = await req.registry.manifest(req.ref, req.platform ?? hostPlatform(), req.signal);
  const { manifest } = got;
  const config = parseConfig(got.config, r.display);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length || !diffIds.every((d) => DIFF_ID.test(d))) {
    throw new InvalidArgumentError(
      `invalid image ${r.display}: the config lists ${diffIds.length} layer diff_ids for ${manifest.layers.length} layers`,
    );
  }
  // Refuse what cannot be unpacked before downloading anything.
  for (const l of manifest.layers) layerCompression(l.mediaType, r.display);

  const configPath = join(dir, "config.json");
  await writeFileAtomic(configPath, got.config);
  const manifestPath = join(dir, "manifest.json");
  await writeFileAtomic(manifestPath, got.manifestBytes);

  const paths = new Map<string, string>();
  const existing: string[] = [];
  const todo: { digest: string; size: number }[] = [];
  for (const l of manifest.layers) {
    if (paths.has(l.digest)) continue;
    if (await exists(files.blobPath(l.digest))) {
      paths.set(l.digest, files.blobPath(l.digest));
      existing.push(l.digest);
      progress({ digest: l.digest, action: "exists", current: l.size, total: l.size });
    } else {
      paths.set(l.digest, join(dir, hexOf(l.digest)));
      todo.push({ digest: l.digest, size: l.size });
      progress({ digest: l.digest, action: "waiting", current: 0, total: l.size });
    }
  }
  // Each layer the store lacks is unpacked into the staging dir once its blob is in.
  const chains = chainIds(diffIds);
  const unpacked = new Map<number, Promise<{ path: string; size: number }>>();
  const slots = new Limiter(unpackConcurrency);
  const unpackWhenReady = async (i: number, blobReady: Promise<void>): Promise<{ path: string; size: number }> => {
    await blobReady;
    const l = manifest.layers[i]!;
    return slots.run(async () => {
      req.signal?.throwIfAborted();
      progress({ digest: l.digest, action: "extracting", current: l.size, total: l.size });
      const path = join(dir, `layer-${i}`);
      const { size } = await unpackLayer(paths.get(l.digest) as string, path, diffIds[i] as string);
      return { path, size };
    });
  };
  const downloads = new Map<string, Promise<void>>();
  const downloaded = downloadAll(req, todo, paths, progress, (digest, done) => downloads.set(digest, done));
  for (const [i, l] of manifest.layers.entries()) {
    if (await files.hasLayer(chains[i] as string)) continue;
    const p = unpackWhenReady(i, downloads.get(l.digest) ?? Promise.resolve());
    p.catch(() => undefined); // awaited below; a failed download is the error reported
    unpacked.set(i, p);
  }
  try {
    await downloaded;
  } catch (err) {
    // Unpacks of blobs that did arrive must end before the caller removes the staging dir.
    await Promise.allSettled(unpacked.values());
    throw err;
  }
  const staged = await Promise.all([...unpacked].map(async ([i, p]) => [i, await p] as const));
  const unpackedBy = new Map(staged);

  const layers: LayerPlan[] = manifest.layers.map((l, i) => ({
    file: { path: paths.get(l.digest) as string, size: l.size, digest: l.digest },
    mediaType: l.mediaType,
    diffId: diffIds[i] as string,
    unpacked: unpackedBy.get(i),
  }));
  const refs = [`${r.name}@${got.digest}`];
  if (r.tag !== undefined) refs.unshift(r.display);
  const plan: ImagePlan = {
    id: manifest.config.digest,
    configFile: { path: configPath, size: got.config.length, digest: manifest.config.digest },
    config,
    manifest: { path: manifestPath, size: got.manifestBytes.length, digest: got.manifestDigest },
    layers,
    refs,
  };
  return { plan, digest: got.digest, ref: r.display, existing };
}

/**
 * downloadAll starts every download at once (the client bounds how many run); the first failure
 * cancels the others, and only returns once all have settled so none writes into a removed dir.
 */
async function downloadAll(
  req: FetchRequest,
  todo: { digest: string; size: number }[],
  paths: Map<string, string>,
  progress: (p: PullProgress) => void,
  started: (digest: string, done: Promise<void>) => void,
): Promise<void> {
  const cancel = new AbortController();
  const signal = req.signal === undefined ? cancel.signal : AbortSignal.any([req.signal, cancel.signal]);
  const results = await Promise.allSettled(
    todo.map((t) => {
      const done = download(t);
      started(t.digest, done);
      return done;
    }),
  );
  // Report the failure that caused the others to be cancelled, not a cancellation.
  const failures = results.filter((x): x is PromiseRejectedResult => x.status === "rejected").map((x) => x.reason as unknown);
  const first = failures.find((e) => !(e instanceof Error && e.name === "AbortError")) ?? failures[0];
  if (failures.length > 0) throw first;

  async function download({ digest, size }: { digest: string; size: number }): Promise<void> {
      try {
        await req.registry.downloadBlob(
          req.ref,
          digest,
          size,
          paths.get(digest) as string,
          (n) => progress({ digest, action: n >= size ? "verifying" : "downloading", current: n, total: size }),
          signal,
        );
      } catch (err) {
        cancel.abort();
        throw err;
      }
  }
}

function parseConfig(bytes: Uint8Array, what: string): OciConfig {
  try {
    const v = JSON.parse(Buffer.from(bytes).toString("utf8")) as unknown;
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as OciConfig;
  } catch {
    // Reported below.
  }
  throw new InvalidArgumentError(`invalid image ${what}: the config is not a JSON object`);
}
