/**
 * ImagePuller is the node's one way to fetch images from registries: for `image pull`, for a task
 * whose image is missing, and for the manager pinning a tag to a digest. It knows which registries
 * are plain HTTP (--insecure-registry) and which extra CAs to trust (<certs-dir>/<host>/ca.crt,
 * as Docker's certs.d), and runs one pull per reference at a time: tasks that need the same image
 * at once share a download.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createRegistryClient, normalizeReference, type PullingImageStore, type PullProgress, type RegistryClient } from "@tsctl/worker";

export interface PullerOptions {
  /** Registries (host[:port]) reached over plain HTTP. */
  insecureRegistries: string[];
  /** Directory of <host>/ca.crt files with extra CAs per registry. */
  certsDir: string;
}

export interface Credentials {
  username: string;
  password: string;
}

export interface PullResult {
  id: string;
  digest: string;
  ref: string;
}

export class ImagePuller {
  private readonly inflight = new Map<string, { done: Promise<PullResult>; listeners: Set<(p: PullProgress) => void> }>();

  constructor(
    private readonly images: PullingImageStore,
    private readonly opts: PullerOptions,
  ) {}

  /** client builds a registry client; credentials apply to whichever host the reference names. */
  client(credentials?: Credentials): RegistryClient {
    return createRegistryClient({
      insecure: (host) => this.opts.insecureRegistries.includes(host),
      ca: (host) => {
        try {
          return readFileSync(join(this.opts.certsDir, host.replace(/:/g, "_"), "ca.crt"), "utf8");
        } catch {
          try {
            return readFileSync(join(this.opts.certsDir, host, "ca.crt"), "utf8");
          } catch {
            return undefined;
          }
        }
      },
      credentials: () => credentials,
    });
  }

  /** pull fetches ref into the store; a pull of the same reference already running is joined. */
  pull(ref: string, opts: { credentials?: Credentials; onProgress?: (p: PullProgress) => void; signal?: AbortSignal } = {}): Promise<PullResult> {
    const key = normalizeReference(ref);
    let entry = this.inflight.get(key);
    if (!entry) {
      const listeners = new Set<(p: PullProgress) => void>();
      const done = this.images
        .pull(key, { registry: this.client(opts.credentials), onProgress: (p) => listeners.forEach((l) => l(p)), signal: opts.signal })
        .finally(() => this.inflight.delete(key));
      entry = { done, listeners };
      this.inflight.set(key, entry);
    }
    const { onProgress } = opts;
    if (onProgress) {
      entry.listeners.add(onProgress);
      void entry.done.finally(() => entry!.listeners.delete(onProgress)).catch(() => undefined);
    }
    return entry.done;
  }

  /** resolveDigest pins a reference to the digest its registry serves now (for service specs). */
  resolveDigest(ref: string, credentials?: Credentials, signal?: AbortSignal): Promise<string> {
    return this.client(credentials).resolveDigest(ref, signal);
  }
}
