/**
 * Registry client contracts: what a pull needs from an OCI distribution registry (resolve a
 * reference to a digest, fetch a platform's manifest and config, stream verified blobs to files).
 */

/** Platform is an OCI platform as image indexes and configs name it ("linux", "arm64", "v8"). */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** Descriptor points at content by digest (OCI image spec, descriptor.md). */
export interface Descriptor {
  mediaType: string;
  /** "sha256:<64 hex>"; other algorithms are refused when parsing. */
  digest: string;
  size: number;
  platform?: Platform;
  urls?: string[];
  annotations?: Record<string, string>;
}

/** ParsedManifest is a single-platform image manifest (Docker schema2 or OCI). */
export interface ParsedManifest {
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

/** ParsedIndex is an OCI image index or a Docker manifest list. */
export interface ParsedIndex {
  mediaType: string;
  manifests: Descriptor[];
}

export interface RegistryOptions {
  /** hosts reached over plain HTTP (Docker's insecure-registries); localhost/127.0.0.1 are NOT implicitly insecure. */
  insecure?: (host: string) => boolean;
  /** extra CA certificates (PEM) trusted for a host */
  ca?: (host: string) => string | undefined;
  credentials?: (host: string) => { username: string; password: string } | undefined;
  /** parallel blob downloads, default 3 */
  concurrency?: number;
  /** Blob download attempts after a cut or a 5xx (default 5) and the first backoff delay (default 200 ms, doubling). */
  retry?: { attempts?: number; delayMs?: number };
}

/** PullProgress reports one blob of a pull, in Docker's vocabulary. */
export interface PullProgress {
  digest: string;
  action: "waiting" | "downloading" | "verifying" | "extracting" | "complete" | "exists";
  current: number;
  total: number;
}

/** ManifestResult is a platform's manifest, with the digests a pull records. */
export interface ManifestResult {
  /** Digest of what the reference names (the index when it names one): the repo digest Docker records. */
  digest: string;
  /** Digest of the platform's image manifest (equal to digest unless the reference named an index). */
  manifestDigest: string;
  /** The manifest's bytes as served (their sha256 is manifestDigest). */
  manifestBytes: Uint8Array;
  manifest: ParsedManifest;
  /** The config blob, verified against manifest.config.digest. */
  config: Uint8Array;
}

export interface RegistryClient {
  /** The digest of what ref names (manifest or index), e.g. for pinning `image@sha256:...`; HEAD first, GET when HEAD lacks Docker-Content-Digest. */
  resolveDigest(ref: string, signal?: AbortSignal): Promise<string>;
  /**
   * Fetch and parse the manifest for ref on the platform (index → platform's manifest); verifies
   * the manifest digest when ref has one. Errors: NotFound "manifest for <ref> not found",
   * NotFound "no matching manifest for linux/amd64 in the manifest list entries" (Docker's wording),
   * PermissionDenied on 401/403 ("unauthorized: authentication required for <ref>"), Unavailable
   * on 5xx/network.
   */
  manifest(ref: string, platform: Platform, signal?: AbortSignal): Promise<ManifestResult>;
  /**
   * Streams a blob to a file, verifying size and sha256; resumes with Range after a cut, retries
   * 5xx; never leaves a file at dest unless verified (writes dest + ".part", fsyncs, renames).
   * onBytes gets the bytes received so far (it may go back to 0 when a server ignores Range).
   */
  downloadBlob(
    ref: string,
    digest: string,
    size: number,
    dest: string,
    onBytes?: (n: number) => void,
    signal?: AbortSignal,
  ): Promise<void>;
}
