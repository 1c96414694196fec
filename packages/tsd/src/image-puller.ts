/**
 * ImagePuller is the node's one way to fetch images from registries: for `image pull`, for a task
 * whose image is missing, and for the manager pinning a tag to a digest. It knows which registries
 * are plain HTTP (--insecure-registry) and which extra CAs to trust (<certs-dir>/<host>/ca.crt,
 * as Docker's certs.d), and runs one pull per reference at a time: tasks that need the same image
 * at once share a download.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  createRegistryClient,
  createRegistryPusher,
  mountCandidates,
  normalizeReference,
  parseReference,
  type PullingImageStore,
  type PullProgress,
  type PushProgress,
  type PushResult,
  type RegistryClient,
  type RegistryOptions,
  type RegistryPusher,
} from "@tsctl/worker";

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
    return createRegistryClient(this.registryOptions(credentials));
  }

  /** pusher builds a registry client for pushes and logins, trusting the same hosts as pulls. */
  pusher(credentials?: Credentials): RegistryPusher {
    return createRegistryPusher(this.registryOptions(credentials));
  }

  private registryOptions(credentials?: Credentials): RegistryOptions {
    return {
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
    };
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

  /**
   * push uploads the local image ref to its registry (blobs the image's other repositories on the
   * same registry hold are mounted) and records the repo digest the registry now serves.
   */
  async push(ref: string, opts: { credentials?: Credentials; onProgress?: (p: PushProgress) => void; signal?: AbortSignal } = {}): Promise<PushResult> {
    const key = normalizeReference(ref);
    const parts = await this.images.parts(key);
    const res = await this.pusher(opts.credentials).push(
      key,
      { config: parts.config, layers: parts.layers, manifest: parts.manifest, mountFrom: mountCandidates(key, parts.refs) },
      opts.onProgress,
      opts.signal,
    );
    await this.images.addRepoDigest(parseReference(key).name, res.digest, parts.id);
    return res;
  }

  /** login checks credentials against server's registry (nothing is kept on the node). */
  login(server: string, credentials: Credentials, signal?: AbortSignal): Promise<void> {
    return this.pusher(credentials).login(server, signal);
  }
}
