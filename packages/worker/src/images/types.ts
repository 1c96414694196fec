/**
 * Image store contracts: content-addressed blobs, unpacked layers, and references (name:tag →
 * image id). The runc executor asks resolve() for an image's config and layer directories.
 */
import type { Platform, PullProgress, RegistryClient } from "../registry/types.js";
import type { HistoryEntry } from "./image-history.js";
import type { ImageParts } from "./image-parts.js";

/** ImageConfig is the part of an OCI image config a container is built from. */
export interface ImageConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
}

export interface ResolvedImage {
  /** sha256:<hex> digest of the config blob. */
  id: string;
  /** The first reference that named it, normalised ("busybox:latest"). */
  ref: string;
  config: ImageConfig;
  os: string;
  architecture: string;
  /** Unpacked layer directories, lowest layer first, ready to be overlayfs lowerdirs. */
  layerPaths: string[];
}

export interface ImageRecord {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  createdMs: number;
  /** Sum of the unpacked layer sizes. */
  size: number;
  os: string;
  architecture: string;
  configJson: string;
  layerDiffIds: string[];
}

/** PullOptions says where and for which platform to pull. */
export interface PullOptions {
  registry: RegistryClient;
  /** Default: this machine's platform (linux/<arch>[/variant]). */
  platform?: Platform;
  onProgress?: (p: PullProgress) => void;
  signal?: AbortSignal;
}

export interface PullResult {
  /** Image id (config digest). */
  id: string;
  /** Digest of what the reference named (an index for multi-platform images): recorded as name@digest. */
  digest: string;
  /** The normalised reference pulled ("busybox:latest", "web@sha256:…"). */
  ref: string;
}

/** PullingImageStore is an ImageStore that can pull (what createImageStore returns), push, save and tell history. */
export type PullingImageStore = ImageStore & {
  pull(ref: string, opts: PullOptions): Promise<PullResult>;
  /** What a push of ref sends. NotFound "An image does not exist locally with the tag: <name>" unless ref is a tag here. */
  parts(ref: string): Promise<ImageParts>;
  /** Records name@digest on image id once a push put it there (no-op if the image is gone). */
  addRepoDigest(name: string, digest: string, id: string): Promise<void>;
  /** A `docker save` archive of refs; NotFound "No such image: <ref>" before any byte. */
  save(refs: string[]): Promise<AsyncIterable<Uint8Array>>;
  /** The image's history entries, newest first. */
  history(ref: string): Promise<HistoryEntry[]>;
};

export interface ImageStore {
  /** Finds an image by reference ("busybox", "busybox:1", "sha256:..", id prefix). NotFound: "No such image: <ref>". */
  resolve(ref: string): Promise<ResolvedImage>;
  /** Loads a `docker save` or OCI image-layout tar; returns Docker's "Loaded image: ..." lines. */
  load(archive: AsyncIterable<Uint8Array>): Promise<string[]>;
  /**
   * Pulls ref from its registry: blobs already in the content store are reported "exists" and
   * not downloaded; the tag (if ref has one) and name@digest then name the image. Errors are the
   * registry client's (NotFound, PermissionDenied, Unavailable, InvalidArgument for bad content);
   * a failed pull stores nothing. Optional only so test fakes that predate pulling
   * (runc/test-image.ts) still implement ImageStore; createImageStore's store always has it.
   */
  pull?(ref: string, opts: PullOptions): Promise<PullResult>;
  list(): Promise<ImageRecord[]>;
  inspect(ref: string): Promise<ImageRecord>;
  tag(source: string, target: string): Promise<void>;
  /** Removes a reference (and the image once unreferenced). inUse tells whether a container uses an image id. */
  remove(ref: string, opts: { force: boolean; inUse: (imageId: string) => boolean }): Promise<{ untagged: string[]; deleted: string[] }>;
}
