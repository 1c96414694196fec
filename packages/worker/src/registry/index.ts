/**
 * registry is the client side of the OCI distribution API: it resolves references to digests,
 * fetches manifests for a platform, authenticates (Basic, Docker token auth) and downloads blobs
 * verified by size and sha256, resuming cut transfers. It never writes into the image store and
 * never unpacks anything: images/ decides what to download and what to keep.
 */
export { createRegistryClient } from "./client.js";
export { layerCompression, MediaType } from "./manifest.js";
export { formatPlatform, hostPlatform, normalizePlatform, selectManifest } from "./platform.js";
export { toRemote, type RemoteRef } from "./repository.js";
export type {
  Descriptor,
  ManifestResult,
  ParsedIndex,
  ParsedManifest,
  Platform,
  PullProgress,
  RegistryClient,
  RegistryOptions,
} from "./types.js";
export { createRegistryPusher, loginHost, type PushImage, type PushProgress, type PushResult, type RegistryPusher } from "./push.js";
export { mountCandidates, schema2Manifest, storedManifestType, type PushBlob, type PushLayer, type PushManifest } from "./push-manifest.js";
