/**
 * Archive interpretation: turns a staged `docker save` archive (manifest.json, also with legacy
 * `<id>/layer.tar` members) or an OCI image layout (oci-layout + index.json, nested indexes
 * resolved to linux/<host arch>) into image plans, checking every content-addressed blob.
 */
import type { ImageConfig } from "./types.js";
import { InvalidArgumentError } from "@tsctl/api";
import { mismatch, type StagedArchive, type StagedFile } from "./archive-stage.js";
import { parseReference, formatReference } from "./reference.js";

/** OciConfig is the image config blob as far as the store reads it. */
export interface OciConfig {
  architecture?: string;
  os?: string;
  created?: string;
  config?: ImageConfig;
  rootfs?: { type?: string; diff_ids?: string[] };
}

/** LayerPlan is one layer blob of an image and the diff_id its uncompressed tar must hash to. */
export interface LayerPlan {
  file: StagedFile;
  mediaType: string;
  diffId: string;
  /**
   * A pull unpacks each layer while the others still download: the extracted (and diff_id
   * verified) directory, ready to be moved into the store at commit.
   */
  unpacked?: { path: string; size: number };
}

/** ImagePlan is one image found in an archive, verified except for the layers' diff_ids. */
export interface ImagePlan {
  id: string;
  configFile: StagedFile;
  config: OciConfig;
  manifest?: StagedFile;
  layers: LayerPlan[];
  /** Normalised refs.json keys ("busybox:latest", "busybox@sha256:…"). */
  refs: string[];
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string };
}

interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

const INDEX_TYPES = new Set([
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
]);
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** planImages reads whichever format the archive is in; Docker's manifest.json wins when both exist. */
export async function planImages(a: StagedArchive, hostArch: string): Promise<ImagePlan[]> {
  if (a.has("manifest.json")) return planDocker(a);
  if (a.has("index.json")) return planOci(a, hostArch);
  throw new InvalidArgumentError("invalid archive: no manifest.json or index.json found");
}

async function planDocker(a: StagedArchive): Promise<ImagePlan[]> {
  const { value } = await a.json<DockerManifestEntry[]>("manifest.json");
  if (!Array.isArray(value) || value.length === 0) throw new InvalidArgumentError("invalid archive: empty manifest.json");
  const plans: ImagePlan[] = [];
  for (const m of value) {
    if (typeof m?.Config !== "string" || !Array.isArray(m.Layers)) {
      throw new InvalidArgumentError("invalid archive: malformed manifest.json entry");
    }
    // Classic archives name the config "<hex>.json" after its digest: hold them to it.
    const legacy = /^([a-f0-9]{64})\.json$/.exec(m.Config);
    const cfg = await a.json<OciConfig>(m.Config, legacy?.[1] !== undefined ? `sha256:${legacy[1]}` : undefined);
    const diffIds = diffIdsOf(cfg.value, m.Config, m.Layers.length);
    const layers = m.Layers.map((name, i) => ({
      file: a.file(name),
      mediaType: "application/vnd.docker.image.rootfs.diff.tar",
      diffId: diffIds[i] as string,
    }));
    const refs = (m.RepoTags ?? []).map((t) => formatReference(parseReference(t)));
    plans.push({ id: cfg.file.digest, configFile: cfg.file, config: cfg.value, layers, refs });
  }
  return plans;
}

async function planOci(a: StagedArchive, hostArch: string): Promise<ImagePlan[]> {
  if (!a.has("oci-layout")) throw new InvalidArgumentError("invalid archive: index.json without oci-layout");
  const { value: index } = await a.json<{ manifests?: Descriptor[] }>("index.json");
  const plans: ImagePlan[] = [];
  for (const desc of index.manifests ?? []) {
    const name = refName(desc.annotations ?? {});
    const plan = await planDescriptor(a, desc, hostArch, 0);
    if (plan === undefined) continue;
    if (name !== undefined) {
      const ref = parseReference(name);
      plan.refs.push(formatReference(ref));
      // The digest a registry serves the name under is the top-level one, an index for multi-platform images.
      plan.refs.push(formatReference({ name: ref.name, digest: desc.digest }));
    }
    plans.push(plan);
  }
  if (plans.length === 0) throw new InvalidArgumentError(`invalid archive: no image for linux/${hostArch} in index.json`);
  return plans;
}

/** refName prefers containerd's full name; OCI's ref.name is often only a tag, which names no repository. */
function refName(ann: Record<string, string>): string | undefined {
  const full = ann["io.containerd.image.name"];
  if (full !== undefined && full !== "") return full;
  const ref = ann["org.opencontainers.image.ref.name"];
  if (ref !== undefined && /[/:@]/.test(ref)) return ref;
  return undefined;
}

async function planDescriptor(a: StagedArchive, desc: Descriptor, arch: string, depth: number): Promise<ImagePlan | undefined> {
  if (depth > 4) throw new InvalidArgumentError("invalid archive: indexes nested too deeply");
  const blob = await blobJson<{ manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] }>(a, desc);
  if (INDEX_TYPES.has(desc.mediaType ?? "") || (blob.value.manifests !== undefined && blob.value.config === undefined)) {
    const pick = (blob.value.manifests ?? []).find((d) => d.platform?.os === "linux" && d.platform.architecture === arch);
    return pick === undefined ? undefined : planDescriptor(a, pick, arch, depth + 1);
  }
  const { config, layers } = blob.value;
  if (config === undefined || !Array.isArray(layers)) return undefined;
  const cfg = await blobJson<OciConfig>(a, config);
  const diffIds = diffIdsOf(cfg.value, config.digest, layers.length);
  const layerPlans = layers.map((l, i) => ({
    file: blobFile(a, l),
    mediaType: l.mediaType ?? "application/vnd.oci.image.layer.v1.tar",
    diffId: diffIds[i] as string,
  }));
  return { id: cfg.file.digest, configFile: cfg.file, config: cfg.value, manifest: blob.file, layers: layerPlans, refs: [] };
}

function blobFile(a: StagedArchive, d: Descriptor): StagedFile {
  if (typeof d?.digest !== "string" || !DIGEST.test(d.digest)) {
    throw new InvalidArgumentError(`invalid archive: unsupported digest ${String(d?.digest)}`);
  }
  const f = a.file(`blobs/sha256/${d.digest.slice(7)}`, d.digest);
  if (d.size !== undefined && d.size !== f.size) throw mismatch(d.digest);
  return f;
}

async function blobJson<T>(a: StagedArchive, d: Descriptor): Promise<{ value: T; file: StagedFile }> {
  blobFile(a, d);
  return a.json<T>(`blobs/sha256/${d.digest.slice(7)}`, d.digest);
}

function diffIdsOf(cfg: OciConfig, where: string, layerCount: number): string[] {
  const ids = cfg.rootfs?.diff_ids;
  if (!Array.isArray(ids) || ids.some((d) => typeof d !== "string" || !DIGEST.test(d))) {
    throw new InvalidArgumentError(`invalid archive: config ${where} has no valid rootfs.diff_ids`);
  }
  if (ids.length !== layerCount) {
    throw new InvalidArgumentError(`invalid archive: config ${where} lists ${ids.length} diff_ids for ${layerCount} layers`);
  }
  return ids;
}
