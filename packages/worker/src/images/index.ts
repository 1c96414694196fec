/**
 * images owns the node-local image store under `<dataRoot>/images`: the content store of
 * verified blobs, unpacked layers named by chain ID, image metadata and references. It loads
 * `docker save` and OCI layout archives and hands the executor ready-to-mount layer directories.
 * It pulls through a registry client it is handed (registry/ speaks HTTP; this store decides
 * what to download and keeps it), never mounts anything, and never decides whether a container
 * runs: callers say, through `inUse`, which images containers hold.
 */
export { createImageStore } from "./image-store.js";
export { diskBytes, imageUsage, pruneImages, type ImageUsage, type PruneReport } from "./image-prune.js";
export {
  formatReference,
  normalizeReference,
  parseReference,
  type ImageReference,
} from "./reference.js";
export type { HistoryEntry } from "./image-history.js";
export type { ImageParts } from "./image-parts.js";
export { saveIndex } from "./image-save.js";
export type {
  ImageConfig,
  ImageRecord,
  ImageStore,
  PullingImageStore,
  PullOptions,
  PullResult,
  ResolvedImage,
} from "./types.js";
