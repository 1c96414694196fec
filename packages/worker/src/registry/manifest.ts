/**
 * Manifest media types and parsing: Docker schema2 manifests and manifest lists, OCI manifests and
 * indexes. Parsing checks what a pull relies on (digests are sha256, sizes are numbers, a manifest
 * has a config and layers) and nothing more; schema1 and unknown types are refused by name.
 */
import { InvalidArgumentError } from "@tsctl/api";
import type { Descriptor, ParsedIndex, ParsedManifest, Platform } from "./types.js";

export const MediaType = {
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
} as const;

/** ACCEPT lists every manifest type we parse, sent as the Accept header of manifest requests. */
export const ACCEPT = [MediaType.ociIndex, MediaType.dockerManifestList, MediaType.ociManifest, MediaType.dockerManifest].join(", ");

const INDEX_TYPES = new Set<string>([MediaType.ociIndex, MediaType.dockerManifestList]);
const MANIFEST_TYPES = new Set<string>([MediaType.ociManifest, MediaType.dockerManifest]);
const SCHEMA1 = /^application\/vnd\.docker\.distribution\.manifest\.v1\+(prettyjws|json)$/;
const SHA256 = /^sha256:[a-f0-9]{64}$/;

/** Layer media types a pull can unpack, and how each is compressed. */
const LAYER_TYPES: Record<string, "gzip" | "none"> = {
  "application/vnd.docker.image.rootfs.diff.tar.gzip": "gzip",
  "application/vnd.docker.image.rootfs.diff.tar": "none",
  "application/vnd.oci.image.layer.v1.tar+gzip": "gzip",
  "application/vnd.oci.image.layer.v1.tar": "none",
};

export type ParsedContent = { kind: "index"; index: ParsedIndex } | { kind: "manifest"; manifest: ParsedManifest };

/**
 * parseManifest interprets a manifest response: the body's mediaType wins over Content-Type (OCI
 * makes the field optional, so then Content-Type decides, then the shape of the document).
 */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined, what: string): ParsedContent {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    throw new InvalidArgumentError(`invalid manifest for ${what}: not valid JSON`);
  }
  if (!isObject(doc)) throw new InvalidArgumentError(`invalid manifest for ${what}: not a JSON object`);
  const header = (contentType ?? "").split(";")[0]?.trim() ?? "";
  let mediaType = typeof doc.mediaType === "string" ? doc.mediaType : header;
  if (SCHEMA1.test(mediaType) || doc.schemaVersion === 1) {
    throw new InvalidArgumentError(`unsupported manifest for ${what}: Docker image manifest schema 1 is deprecated and not supported`);
  }
  if (!INDEX_TYPES.has(mediaType) && !MANIFEST_TYPES.has(mediaType)) {
    // Servers sending application/json or nothing: the document's shape decides.
    if (Array.isArray(doc.manifests)) mediaType = MediaType.ociIndex;
    else if (isObject(doc.config)) mediaType = MediaType.ociManifest;
    else throw new InvalidArgumentError(`unsupported manifest media type "${mediaType}" for ${what}`);
  }
  if (doc.schemaVersion !== 2) throw new InvalidArgumentError(`invalid manifest for ${what}: schemaVersion must be 2`);
  const fail = (why: string): never => {
    throw new InvalidArgumentError(`invalid manifest for ${what}: ${why}`);
  };
  if (INDEX_TYPES.has(mediaType)) {
    if (!Array.isArray(doc.manifests)) fail("an index needs a manifests array");
    const manifests = (doc.manifests as unknown[]).map((d, i) => descriptor(d, `manifests[${i}]`, fail));
    return { kind: "index", index: { mediaType, manifests } };
  }
  if (!isObject(doc.config)) fail("missing config");
  if (!Array.isArray(doc.layers)) fail("missing layers");
  const config = descriptor(doc.config, "config", fail);
  const layers = (doc.layers as unknown[]).map((d, i) => descriptor(d, `layers[${i}]`, fail));
  return { kind: "manifest", manifest: { mediaType, config, layers } };
}

/** layerCompression names how a layer blob is compressed; other types get "unsupported layer media type". */
export function layerCompression(mediaType: string, what: string): "gzip" | "none" {
  const c = LAYER_TYPES[mediaType];
  if (c === undefined) throw new InvalidArgumentError(`unsupported layer media type "${mediaType}" in ${what}`);
  return c;
}

/** isSha256Digest tells whether d is a well-formed "sha256:<64 hex>" digest (safe as a file name). */
export function isSha256Digest(d: string): boolean {
  return SHA256.test(d);
}

function descriptor(d: unknown, field: string, fail: (why: string) => never): Descriptor {
  if (!isObject(d)) return fail(`${field} is not an object`);
  if (typeof d.digest !== "string" || !SHA256.test(d.digest)) return fail(`${field} has an unsupported digest "${String(d.digest)}"`);
  if (typeof d.size !== "number" || !Number.isSafeInteger(d.size) || d.size < 0) return fail(`${field} has an invalid size`);
  const out: Descriptor = { mediaType: typeof d.mediaType === "string" ? d.mediaType : "", digest: d.digest, size: d.size };
  if (isObject(d.platform)) {
    const p = d.platform;
    if (typeof p.os === "string" && typeof p.architecture === "string") {
      const platform: Platform = { os: p.os, architecture: p.architecture };
      if (typeof p.variant === "string" && p.variant !== "") platform.variant = p.variant;
      out.platform = platform;
    }
  }
  if (Array.isArray(d.urls)) out.urls = d.urls.filter((u): u is string => typeof u === "string");
  if (isObject(d.annotations)) out.annotations = d.annotations as Record<string, string>;
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
