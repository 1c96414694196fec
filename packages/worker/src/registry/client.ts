/**
 * The registry client: the distribution API calls a pull makes (GET/HEAD manifests, GET blobs),
 * each authenticated through the Authorizer and turned into one-line errors naming the image.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  UnavailableError,
} from "@tsctl/api";
import { Authorizer } from "./auth.js";
import { downloadToFile } from "./blob-download.js";
import { Limiter } from "./limit.js";
import { ACCEPT, isSha256Digest, parseManifest, type ParsedContent } from "./manifest.js";
import { formatPlatform, normalizePlatform, selectManifest } from "./platform.js";
import { toRemote, type RemoteRef } from "./repository.js";
import { authorizedSend, transportError } from "./authorized.js";
import { readBody, registryUrl, type HostTrust } from "./transport.js";
import type { ManifestResult, Platform, RegistryClient, RegistryOptions } from "./types.js";

const MAX_MANIFEST = 4 << 20;
const MAX_CONFIG = 16 << 20;

/** createRegistryClient returns a client holding only caches (tokens, challenges): nothing to close. */
export function createRegistryClient(opts: RegistryOptions): RegistryClient {
  return new HttpRegistryClient(opts);
}

class HttpRegistryClient implements RegistryClient {
  private readonly trust: HostTrust;
  private readonly auth: Authorizer;
  /** Bounds parallel blob downloads across every pull made with this client. */
  private readonly downloads: Limiter;

  constructor(private readonly opts: RegistryOptions) {
    this.trust = { insecure: opts.insecure ?? (() => false), ca: opts.ca ?? (() => undefined) };
    this.auth = new Authorizer(this.trust, opts.credentials ?? (() => undefined));
    this.downloads = new Limiter(Math.max(1, opts.concurrency ?? 3));
  }

  async resolveDigest(ref: string, signal?: AbortSignal): Promise<string> {
    const r = remote(ref);
    const res = await this.call(r, "HEAD", `/v2/${r.repository}/manifests/${r.reference}`, { accept: ACCEPT }, signal);
    res.resume();
    if (res.statusCode !== 200) throw await statusError(r, res, "manifest");
    if (r.digest !== undefined) return r.digest;
    const header = res.headers["docker-content-digest"];
    if (typeof header === "string" && isSha256Digest(header)) return header;
    return (await this.fetchManifest(r, r.reference, undefined, signal)).digest;
  }

  async manifest(ref: string, platform: Platform, signal?: AbortSignal): Promise<ManifestResult> {
    const r = remote(ref);
    const top = await this.fetchManifest(r, r.reference, r.digest, signal);
    let m = top;
    if (top.parsed.kind === "index") {
      const entry = selectManifest(top.parsed.index.manifests, platform);
      if (entry === undefined) {
        throw new NotFoundError(`no matching manifest for ${formatPlatform(normalizePlatform(platform))} in the manifest list entries`);
      }
      m = await this.fetchManifest(r, entry.digest, entry.digest, signal);
    }
    if (m.parsed.kind !== "manifest") {
      throw new InvalidArgumentError(`invalid manifest for ${r.display}: an index entry is another index`);
    }
    const manifest = m.parsed.manifest;
    const config = await this.fetchSmallBlob(r, manifest.config.digest, manifest.config.size, signal);
    return { digest: top.digest, manifestDigest: m.digest, manifestBytes: m.bytes, manifest, config };
  }

  async downloadBlob(
    ref: string,
    digest: string,
    size: number,
    dest: string,
    onBytes?: (n: number) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const r = remote(ref);
    if (!isSha256Digest(digest)) throw new InvalidArgumentError(`unsupported digest "${digest}" for ${r.display}`);
    await this.downloads.run(() => downloadToFile(
      {
        open: async (offset, sig) => {
          const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
          const res = await this.call(r, "GET", `/v2/${r.repository}/blobs/${digest}`, headers, sig);
          if (res.statusCode === 200 || res.statusCode === 206) return res;
          throw await statusError(r, res, "blob", digest);
        },
      },
      {
        digest,
        size,
        dest,
        what: r.display,
        attempts: this.opts.retry?.attempts ?? 5,
        delayMs: this.opts.retry?.delayMs ?? 200,
        onBytes,
        signal,
      },
    ));
  }

  /** fetchManifest GETs a manifest or index and holds it to expect when the caller knows its digest. */
  private async fetchManifest(
    r: RemoteRef,
    reference: string,
    expect: string | undefined,
    signal?: AbortSignal,
  ): Promise<{ digest: string; bytes: Buffer; parsed: ParsedContent }> {
    const res = await this.call(r, "GET", `/v2/${r.repository}/manifests/${reference}`, { accept: ACCEPT }, signal);
    if (res.statusCode !== 200) throw await statusError(r, res, "manifest");
    const bytes = await this.body(r, res, MAX_MANIFEST, "manifest");
    const digest = sha256(bytes);
    if (expect !== undefined && digest !== expect) {
      throw new InvalidArgumentError(`error pulling ${r.display}: manifest ${expect} failed verification: its content hashes to ${digest}`);
    }
    const ct = res.headers["content-type"];
    return { digest, bytes, parsed: parseManifest(bytes, ct, r.display) };
  }

  /** fetchSmallBlob reads a blob into memory (the config), verified like any blob. */
  private async fetchSmallBlob(r: RemoteRef, digest: string, size: number, signal?: AbortSignal): Promise<Buffer> {
    if (size > MAX_CONFIG) throw new InvalidArgumentError(`error pulling ${r.display}: config blob of ${size} bytes is too large`);
    const res = await this.call(r, "GET", `/v2/${r.repository}/blobs/${digest}`, {}, signal);
    if (res.statusCode !== 200) throw await statusError(r, res, "blob", digest);
    const bytes = await this.body(r, res, size, `blob ${digest}`);
    if (bytes.length !== size || sha256(bytes) !== digest) {
      throw new InvalidArgumentError(`error pulling ${r.display}: blob ${digest} failed verification: its content hashes to ${sha256(bytes)}`);
    }
    return bytes;
  }

  private async body(r: RemoteRef, res: IncomingMessage, limit: number, what: string): Promise<Buffer> {
    try {
      return await readBody(res, limit, what);
    } catch (err) {
      throw transportError("pulling", r, err);
    }
  }

  /** call makes one API request with the pull scope's credentials (see authorizedSend). */
  private call(
    r: RemoteRef,
    method: "GET" | "HEAD",
    path: string,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<IncomingMessage> {
    const caller = { trust: this.trust, auth: this.auth, action: "pulling" as const, nameDenials: true };
    return authorizedSend(caller, r, registryUrl(this.trust, r.endpoint, path), `repository:${r.repository}:pull`, { method, headers, signal });
  }

}

function remote(ref: string): RemoteRef {
  const r = toRemote(ref);
  if (r.digest !== undefined && !isSha256Digest(r.digest)) {
    throw new InvalidArgumentError(`unsupported digest algorithm in "${ref}": only sha256 is supported`);
  }
  return r;
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}


/** statusError reads a registry error response ({"errors":[{code,message}]}) into one line. */
async function statusError(r: RemoteRef, res: IncomingMessage, kind: "manifest" | "blob", digest?: string): Promise<Error> {
  const status = res.statusCode ?? 0;
  let detail: { code?: string; message?: string } | undefined;
  try {
    const body = await readBody(res, 64 << 10, "error response");
    const doc = JSON.parse(body.toString("utf8")) as { errors?: { code?: string; message?: string }[] };
    detail = doc.errors?.[0];
  } catch {
    // Not a registry error document (or none at all, as for HEAD): the status says enough.
  }
  switch (status) {
    case 401:
      return new PermissionDeniedError(`unauthorized: authentication required for ${r.display}`);
    case 403:
      return new PermissionDeniedError(`denied: ${detail?.message ?? "requested access to the resource is denied"} for ${r.display}`);
    case 404:
      return kind === "manifest"
        ? new NotFoundError(`manifest for ${r.display} not found`)
        : new NotFoundError(`blob ${digest ?? ""} of ${r.display} not found`);
    case 429:
      return new UnavailableError(`error pulling ${r.display}: toomanyrequests: ${detail?.message ?? "too many requests"}`);
  }
  const line = `error pulling ${r.display}: received unexpected HTTP status: ${status} ${res.statusMessage ?? ""}`.trimEnd();
  return status >= 500 ? new UnavailableError(line) : new FailedPreconditionError(line);
}
